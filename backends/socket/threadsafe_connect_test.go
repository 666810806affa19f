//go:build linux

package socket

import (
	"errors"
	"sync"
	"testing"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/backend/dialer/dialertest"
)

// Connect(bev, nil) on a ThreadSafe bufferevent without a socket is an argument error
// the caller gets back, as on a loop-confined one — not a connect queued for the loop
// that silently never starts.
func TestThreadSafeConnectNilNoSocket(t *testing.T) {
	base := newBase(t)
	for _, opts := range []bufferevent.Options{0, bufferevent.ThreadSafe} {
		bev, err := New(base, -1, opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := Connect(bev, nil); !errors.Is(err, ErrNoAddress) {
			t.Errorf("options %v: Connect(bev, nil) = %v; want ErrNoAddress", opts, err)
		}
		if err := bev.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// Connect and Close of one ThreadSafe bufferevent from two goroutines at once: each call
// either works or reports bufferevent.ErrClosed, and -race sees no unguarded access.
func TestThreadSafeConnectCloseConcurrent(t *testing.T) {
	base := newBase(t)
	addr := dialertest.ClosedPort(t)
	for range 20 {
		bev, err := New(base, -1, bufferevent.ThreadSafe)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := Connect(bev, addr); err != nil && !errors.Is(err, bufferevent.ErrClosed) {
				t.Errorf("Connect: %v", err)
			}
		}()
		go func() {
			defer wg.Done()
			if err := bev.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}()
		wg.Wait()
	}
	if err := base.LoopExit(0); err != nil {
		t.Fatal(err)
	}
	if err := base.Dispatch(); err != nil {
		t.Fatal(err)
	}
}
