//go:build linux

package async

import (
	"bytes"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
	"golang.org/x/sys/unix"
)

// TestReadyRingOpsReaped: on a ring receiving by readiness (the loop blocking in
// epoll_wait, not in the ring) ring operations are still in flight — the listener's
// accepts, a connect, sends the socket did not take at once — and each completion must
// wake the loop by itself: the ring's descriptor is watched by the poller. A client
// connects to an async listener on the same base with Connect, sends 4 MiB (more than
// the socket takes, so sends go out as operations) that the server echoes, then 50
// small exchanges, then a second client does the same. Nothing else (no timer) would
// wake the loop: a completion that does not is a hang, caught by dispatch's bound.
// Variants: a foreign Waiter set on the base while the ring receives by readiness
// (the ring cannot take the wait back when it switches to ring receives, and must be
// watched instead), and connection counts pushing the ring through both modes.
func TestReadyRingOpsReaped(t *testing.T) {
	for _, tc := range []struct {
		name    string
		foreign bool // a blockingWaiter takes the base's wait once the ring released it
		extra   int  // idle connections opened after the first client (readyMax+1: ring receives)
		locked  bool // the loop goroutine is locked to its thread (the operations' task work is its own)
	}{
		{name: "ready"},
		{name: "ready-locked", locked: true},
		{name: "ready-foreign-waiter", foreign: true},
		{name: "switch-to-ring", extra: readyMax},
		{name: "switch-to-ring-foreign-waiter", foreign: true, extra: readyMax},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.locked {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
			}
			setReady(t, true)
			checkFDs(t)
			base := newBase(t)
			var served []*bufferevent.BufferEvent
			defer func() {
				for _, b := range served {
					b.Close()
				}
			}()
			var loopErr error
			ln, err := Listen(base, "tcp", "127.0.0.1:0", func(l *Listener, fd int, _ net.Addr) {
				bev, err := New(base, fd, bufferevent.CloseOnFree)
				if err != nil {
					unix.Close(fd)
					loopErr = err
					return
				}
				served = append(served, bev)
				bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
					bev.Output().AddBuffer(bev.Input())
				}, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
					if what&bufferevent.EOF == 0 && loopErr == nil {
						loopErr = fmt.Errorf("server event %v: %v", what, err)
					}
				})
				bev.Enable(bufferevent.ReadWrite)
			}, ListenerOptions{Flags: ListenReuseAddr})
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			lr := ringOf(base)
			if !lr.ready || lr.waiting {
				t.Fatalf("listener alone: ring ready %v waiting %v; want readiness, the poller waiting", lr.ready, lr.waiting)
			}
			if tc.foreign {
				ev, err := base.NewEvent(-1, 0, func(int, eventbase.What) {})
				if err != nil {
					t.Fatal(err)
				}
				defer ev.Free()
				if err := base.SetWaiter(&blockingWaiter{base: base}, ev); err != nil {
					t.Fatal(err)
				}
				defer base.SetWaiter(nil, nil)
			}
			var idle []*bufferevent.BufferEvent
			defer func() {
				for _, b := range idle {
					b.Close()
				}
			}()
			client := func(round int) {
				t.Helper()
				bev, err := New(base, -1, bufferevent.CloseOnFree)
				if err != nil {
					t.Fatal(err)
				}
				defer bev.Close()
				var got []byte
				want := 0
				bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
					p, _ := bev.Input().Pullup(-1)
					got = append(got, p...)
					bev.Input().Drain(len(p))
					if len(got) >= want {
						base.LoopBreak()
					}
				}, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
					if what&bufferevent.Connected != 0 {
						base.LoopBreak()
						return
					}
					loopErr = fmt.Errorf("client event %v: %v", what, err)
					base.LoopBreak()
				})
				bev.Enable(bufferevent.ReadWrite)
				if err := Connect(bev, ln.Addr()); err != nil {
					t.Fatal(err)
				}
				dispatch(t, base, 5*time.Second)
				if loopErr != nil {
					t.Fatal(loopErr)
				}
				if round == 0 && tc.extra > 0 {
					// More connections: the ring switches to ring receives.
					for range tc.extra {
						fds := socketPair(t)
						b, err := New(base, fds[0], bufferevent.CloseOnFree)
						if err != nil {
							t.Fatal(err)
						}
						unix.Close(fds[1])
						idle = append(idle, b)
					}
					if lr.ready {
						t.Fatalf("%d connections: ring still receives by readiness", lr.conns)
					}
					if tc.foreign && (lr.waiting || lr.canWait) {
						t.Fatalf("ring waits (%v) though another Waiter is set", lr.waiting)
					}
				}
				check := func(msg []byte) {
					t.Helper()
					got, want = got[:0], len(msg)
					bev.Write(msg)
					dispatch(t, base, 5*time.Second)
					if loopErr != nil {
						t.Fatal(loopErr)
					}
					if !bytes.Equal(got, msg) {
						t.Fatalf("round %d: echo of %d bytes: %d back", round, len(msg), len(got))
					}
				}
				big := make([]byte, 4<<20)
				for i := range big {
					big[i] = byte(i % 241)
				}
				check(big)
				for i := range 50 {
					check([]byte(fmt.Sprintf("round %d message %d", round, i)))
				}
			}
			client(0)
			client(1)
		})
	}
}
