//go:build linux

package socket

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
)

// NetConns over socket bufferevents (plain, ThreadSafe, deferred callbacks)
// with writers and readers blocked on them, some closed by their users while
// the stopped base is closed: every blocked call returns (the base's Close
// closes the conns it still has), nothing races (-race), and no descriptor
// is left open, though most conns were never closed before the base.
func TestNetConnBaseCloseWithCallsBlocked(t *testing.T) {
	// The runtime opens its poller's descriptors on first use (a timer):
	// before the first count, not between two.
	time.Sleep(time.Millisecond)
	for _, opts := range []bufferevent.Options{bufferevent.CloseOnFree, bufferevent.CloseOnFree | bufferevent.ThreadSafe, bufferevent.CloseOnFree | bufferevent.DeferCallbacks} {
		for range 10 {
			fds := countFDs(t)
			base, err := eventbase.New(eventbase.Config{})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				if err := base.Loop(eventbase.LoopNoExitOnEmpty); err != nil {
					t.Errorf("Loop: %v", err)
				}
			}()
			var conns []net.Conn
			for range 4 {
				var c1, c2 net.Conn
				if err := base.Do(context.Background(), func() {
					a, b, e := socketPairBEVs(base, opts)
					if e != nil {
						err = e
						return
					}
					if c1, err = bufferevent.NetConn(a); err == nil {
						c2, err = bufferevent.NetConn(b)
					}
				}); err != nil {
					t.Fatal(err)
				}
				if err != nil {
					t.Fatal(err)
				}
				conns = append(conns, c1, c2)
			}
			var wg sync.WaitGroup
			for i, c := range conns {
				wg.Go(func() {
					if i%2 == 0 {
						p := make([]byte, 32<<10)
						for {
							if _, err := c.Write(p); err != nil {
								return
							}
						}
					}
					io.Copy(io.Discard, c)
				})
			}
			time.Sleep(20 * time.Millisecond) // the calls block (a slow machine only weakens the test)
			base.LoopBreak()
			<-done
			var cw sync.WaitGroup
			for i, c := range conns {
				if i%3 == 0 {
					cw.Go(func() { c.Close() })
				}
			}
			if err := base.Close(); err != nil {
				t.Fatal(err)
			}
			cw.Wait()
			ch := make(chan struct{})
			go func() { wg.Wait(); close(ch) }()
			select {
			case <-ch:
			case <-time.After(10 * time.Second):
				t.Fatal("conn goroutines still blocked 10 s after the base closed")
			}
			if n := countFDs(t); n != fds {
				t.Fatalf("%d descriptors open after the base closed, %d before", n, fds)
			}
			for _, c := range conns {
				c.Close()
			}
		}
	}
}
