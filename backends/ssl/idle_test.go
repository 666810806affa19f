//go:build unix

package ssl_test

import (
	"crypto/tls"
	"runtime"
	"testing"
	"time"

	"github.com/bufev/bufev/backends/ssl"
	"github.com/bufev/bufev/bufferevent"
)

// TestIdleConnectionsHaveNoGoroutines opens many TLS connections (both
// ends are ssl bufferevents on one base), waits until every handshake has
// completed, and checks that the goroutine count is back to where it
// started: an open, idle TLS connection costs no goroutine (crypto/tls
// over net.Conn needs one per connection to wait in Read). 1000
// connections, 100 with -short.
func TestIdleConnectionsHaveNoGoroutines(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 100
	}
	p := testPKI(t)
	base := newBase(t)
	defer base.Close()
	srvCfg, cliCfg := p.serverConfig(), p.clientConfig()
	// Session resumption keeps the test fast (no certificate chain to
	// verify 1000 times); every connection still runs a handshake on a
	// goroutine of its own.
	cliCfg.ClientSessionCache = tls.NewLRUClientSessionCache(16)
	// Plain X25519 (no hybrid post-quantum key share): cheaper under -race.
	cliCfg.CurvePreferences = []tls.CurveID{tls.X25519}
	srvCfg.CurvePreferences = []tls.CurveID{tls.X25519}
	settle(t, base)
	before := runtime.NumGoroutine()
	connected := 0
	var failure error
	cb := func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		if what == bufferevent.Connected {
			connected++
		} else if failure == nil {
			failure = err
		}
	}
	bevs := make([]*bufferevent.BufferEvent, 0, 2*n)
	peak := 0
	for i := 0; i < n; i++ {
		fc, fs := socketPair(t)
		c, err := ssl.NewSocket(base, fc, cliCfg, ssl.Connecting, bufferevent.CloseOnFree)
		must(t, err)
		s, err := ssl.NewSocket(base, fs, srvCfg, ssl.Accepting, bufferevent.CloseOnFree)
		must(t, err)
		must(t, c.SetCallbacks(nil, nil, cb))
		must(t, s.SetCallbacks(nil, nil, cb))
		must(t, c.Enable(bufferevent.ReadWrite))
		must(t, s.Enable(bufferevent.ReadWrite))
		bevs = append(bevs, c, s)
		if i%50 == 49 {
			// Let this batch finish its handshakes (bounds the number of
			// handshake goroutines alive at once).
			runUntil(t, base, 30*time.Second, func() bool { return connected == 2*(i+1) || failure != nil })
			peak = max(peak, runtime.NumGoroutine())
		}
	}
	if !runUntil(t, base, 60*time.Second, func() bool { return connected == 2*n || failure != nil }) {
		t.Fatalf("%d of %d ends connected", connected, 2*n)
	}
	if failure != nil {
		t.Fatal(failure)
	}
	settle(t, base)
	// Handshake goroutines exit right after their handshake; give the
	// scheduler a moment to retire them.
	deadline := time.Now().Add(5 * time.Second)
	after := runtime.NumGoroutine()
	for after > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		after = runtime.NumGoroutine()
	}
	t.Logf("%d idle TLS connections (%d ssl bufferevents): %d goroutines before, %d after (peak while handshaking %d)", n, 2*n, before, after, peak)
	if after > before {
		t.Errorf("%d goroutines with %d idle TLS connections; want %d (none per connection)", after, n, before)
	}
	for _, b := range bevs {
		must(t, b.Close())
	}
	settle(t, base)
}
