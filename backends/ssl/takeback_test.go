//go:build unix

package ssl_test

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/bufev/bufev/backends/pair"
	"github.com/bufev/bufev/backends/ssl"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
)

// tlsOverPair returns a connected client/server pair of filter-mode ssl
// bufferevents over the two ends of a pair; the client is created with
// cliOpts, the server with CloseOnFree.
func tlsOverPair(t *testing.T, base *eventbase.Base, cliOpts bufferevent.Options) (cli, srv, ua, ub *bufferevent.BufferEvent) {
	t.Helper()
	p := testPKI(t)
	ua, ub, err := pair.New(base, 0)
	must(t, err)
	cli, err = ssl.NewFilter(base, ua, p.clientConfig(), ssl.Connecting, cliOpts)
	must(t, err)
	srv, err = ssl.NewFilter(base, ub, p.serverConfig(), ssl.Accepting, bufferevent.CloseOnFree)
	must(t, err)
	must(t, handshake(t, base, cli, srv))
	return cli, srv, ua, ub
}

// Closing a filter-mode ssl bufferevent (without CloseOnFree) inside its own
// read callback and taking the underlying back at once: the ssl bufferevent
// is finalised only after the callback returns, and must then leave the
// callbacks the user just set on the underlying alone (libevent's
// be_ssl_unlink clears them only "if still ours"; filter's
// TestFilterCloseKeepsNewUnderlyingCallbacks is the same case). Closing it
// while its callbacks are still in place clears them.
func TestCloseKeepsNewUnderlyingCallbacks(t *testing.T) {
	base := newBase(t)
	defer base.Close()
	cli, srv, ua, ub := tlsOverPair(t, base, 0)
	defer srv.Close()
	defer ua.Close()
	var plain, direct []byte
	must(t, cli.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		buf := make([]byte, 64)
		n, _ := bev.Read(buf)
		plain = append(plain, buf[:n]...)
		must(t, bev.Close())
		must(t, ua.SetCallbacks(func(u *bufferevent.BufferEvent) {
			n, _ := u.Read(buf)
			direct = append(direct, buf[:n]...)
		}, nil, nil))
		// Bytes below the server's TLS layer, straight to the client's
		// underlying, which now belongs to the user again.
		_, _ = ub.Write([]byte("after"))
	}, nil, nil))
	must(t, cli.Enable(bufferevent.Read))
	_, err := srv.Write([]byte("before"))
	must(t, err)
	runUntil(t, base, 2*time.Second, func() bool { return len(direct) >= len("after") })
	if string(plain) != "before" {
		t.Errorf("ssl read callback got %q; want \"before\"", plain)
	}
	if string(direct) != "after" {
		t.Errorf("underlying's own read callback got %q; want \"after\" (the ssl bufferevent's finalisation cleared it?)", direct)
	}
	if r, _, _ := ua.Callbacks(); r == nil {
		t.Error("the user's read callback on the underlying was cleared by the ssl bufferevent's finalisation")
	}

	// Plain close: the ssl bufferevent's callbacks are removed.
	va, vb, err := pair.New(base, 0)
	must(t, err)
	defer va.Close()
	defer vb.Close()
	c2, err := ssl.NewFilter(base, va, testPKI(t).clientConfig(), ssl.Connecting, 0)
	must(t, err)
	if r, w, e := va.Callbacks(); r == nil || w == nil || e == nil {
		t.Fatal("NewFilter did not take over the underlying's callbacks")
	}
	must(t, c2.Close())
	must(t, base.Loop(eventbase.LoopNonBlock))
	if r, w, e := va.Callbacks(); r != nil || w != nil || e != nil {
		t.Error("closing the ssl bufferevent left its callbacks on the underlying")
	}
}

// The peer's close_notify ends the read direction before the event callback
// runs, as libevent's backends do on EOF (Core.DisableUser): Enabled reports
// Write only (the peer half-closed; writing goes on, as on a socket), and a
// read timeout set on the connection does not fire a Timeout after the EOF.
func TestEndDisablesDirections(t *testing.T) {
	base := newBase(t)
	defer base.Close()
	cli, srv, _, _ := tlsOverPair(t, base, bufferevent.CloseOnFree)
	defer cli.Close()
	defer srv.Close()
	type ev struct {
		what    bufferevent.Events
		err     error
		enabled bufferevent.Direction
	}
	var evs []ev
	must(t, cli.SetCallbacks(nil, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		evs = append(evs, ev{what, err, bev.Enabled()})
	}))
	must(t, cli.SetTimeouts(200*time.Millisecond, 200*time.Millisecond))
	must(t, cli.Enable(bufferevent.ReadWrite))
	_, err := srv.Write([]byte("bye"))
	must(t, err)
	_, err = srv.Flush(bufferevent.Write, bufferevent.Finished) // close_notify
	must(t, err)
	runUntil(t, base, 5*time.Second, func() bool { return len(evs) > 0 })
	// Past the timeouts: nothing more may come.
	runUntil(t, base, 400*time.Millisecond, func() bool { return false })
	if len(evs) != 1 {
		t.Fatalf("events %+v; want exactly one (EOF), no Timeout after it", evs)
	}
	if evs[0].what != bufferevent.Reading|bufferevent.EOF || !errors.Is(evs[0].err, io.EOF) {
		t.Errorf("event %v (%v); want Reading|EOF with io.EOF", evs[0].what, evs[0].err)
	}
	if evs[0].enabled != bufferevent.Write {
		t.Errorf("Enabled() in the EOF callback = %v; want Write (reading ended, writing goes on)", evs[0].enabled)
	}
	if n := cli.Input().Len(); n != len("bye") {
		t.Errorf("input holds %d bytes; want the 3 sent before close_notify", n)
	}
}
