//go:build unix

package ssl_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bufev/bufev/backends/pair"
	"github.com/bufev/bufev/backends/socket"
	"github.com/bufev/bufev/backends/ssl"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/bevtest"
	"github.com/bufev/bufev/eventbase"
)

// tlsCaps: TLS decrypts whole records, so a read may overrun the high
// watermark by up to one record of plaintext.
var tlsCaps = bevtest.Caps{ReadOverrun: 16 << 10}

// TestConformanceSocket runs the bufferevent conformance suite on
// socket-mode ssl bufferevents over loopback TCP.
func TestConformanceSocket(t *testing.T) {
	p := testPKI(t)
	bevtest.Run(t, func(base *eventbase.Base, opts bufferevent.Options) (a, b *bufferevent.BufferEvent, caps bevtest.Caps, err error) {
		fa, fb := tcpFDs(t)
		a, err = ssl.NewSocket(base, fa, p.clientConfig(), ssl.Connecting, opts|bufferevent.CloseOnFree)
		if err != nil {
			return nil, nil, tlsCaps, err
		}
		b, err = ssl.NewSocket(base, fb, p.serverConfig(), ssl.Accepting, opts|bufferevent.CloseOnFree)
		if err != nil {
			return nil, nil, tlsCaps, err
		}
		return a, b, tlsCaps, handshake(t, base, a, b)
	})
}

// TestConformanceFilterSocket runs the suite on filter-mode ssl
// bufferevents over socket bufferevents.
func TestConformanceFilterSocket(t *testing.T) {
	p := testPKI(t)
	caps := tlsCaps
	caps.NoFD = false
	bevtest.Run(t, func(base *eventbase.Base, opts bufferevent.Options) (a, b *bufferevent.BufferEvent, _ bevtest.Caps, err error) {
		fa, fb := tcpFDs(t)
		ua, err := socket.New(base, fa, bufferevent.CloseOnFree)
		if err != nil {
			return nil, nil, caps, err
		}
		ub, err := socket.New(base, fb, bufferevent.CloseOnFree)
		if err != nil {
			return nil, nil, caps, err
		}
		a, err = ssl.NewFilter(base, ua, p.clientConfig(), ssl.Connecting, opts|bufferevent.CloseOnFree)
		if err != nil {
			return nil, nil, caps, err
		}
		b, err = ssl.NewFilter(base, ub, p.serverConfig(), ssl.Accepting, opts|bufferevent.CloseOnFree)
		if err != nil {
			return nil, nil, caps, err
		}
		return a, b, caps, handshake(t, base, a, b)
	})
}

// handshake runs the loop until both ends reported Connected (the suite
// treats any event as a failure, and the TLS Connected event is inherent),
// then clears the callbacks.
func handshake(t testing.TB, base *eventbase.Base, a, b *bufferevent.BufferEvent) error {
	t.Helper()
	n := 0
	var failure error
	cb := func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		if what == bufferevent.Connected {
			n++
			return
		}
		failure = fmt.Errorf("handshake: event %v: %w", what, err)
	}
	_ = a.SetCallbacks(nil, nil, cb)
	_ = b.SetCallbacks(nil, nil, cb)
	if !runUntil(t, base, 10*time.Second, func() bool { return n == 2 || failure != nil }) {
		return errors.New("handshake did not complete")
	}
	_ = a.SetCallbacks(nil, nil, nil)
	_ = b.SetCallbacks(nil, nil, nil)
	return failure
}

// TestConformanceFilterPair runs the suite on filter-mode ssl bufferevents
// over an in-memory pair.
func TestConformanceFilterPair(t *testing.T) {
	p := testPKI(t)
	caps := tlsCaps
	caps.NoFD = true
	bevtest.Run(t, func(base *eventbase.Base, opts bufferevent.Options) (a, b *bufferevent.BufferEvent, _ bevtest.Caps, err error) {
		ua, ub, err := pair.New(base, 0)
		if err != nil {
			return nil, nil, caps, err
		}
		a, err = ssl.NewFilter(base, ua, p.clientConfig(), ssl.Connecting, opts|bufferevent.CloseOnFree)
		if err != nil {
			return nil, nil, caps, err
		}
		b, err = ssl.NewFilter(base, ub, p.serverConfig(), ssl.Accepting, opts|bufferevent.CloseOnFree)
		if err != nil {
			return nil, nil, caps, err
		}
		return a, b, caps, handshake(t, base, a, b)
	})
}
