//go:build linux

// Regression tests for direct dispatch from the poller (found in review):
// the time cache a direct callback sees, stale readiness reaching an event
// added in the same batch after remote work, and the poller's order when
// part of a batch is queued. Each runs on epoll (direct dispatch) and poll
// (the queue) where it applies.

package eventbase

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A Now() from another goroutine during a blocking poll fills the time cache
// with the time of that call; a direct callback then arms a timeout from it.
func TestDirectStaleTimeCache(t *testing.T) {
	for _, m := range []string{"epoll", "poll"} {
		t.Run(m, func(t *testing.T) {
			b := newBase(t, m)
			r, w := socketpair(t)
			var armed, fired time.Time
			tm, err := b.NewTimer(func() { fired = time.Now(); b.LoopBreak() })
			must(t, err)
			ev, err := b.NewEvent(r, Read|Persist, func(fd int, _ What) {
				var buf [8]byte
				_, _ = unix.Read(fd, buf[:])
				armed = time.Now()
				must(t, tm.AddTimeout(200*time.Millisecond))
			})
			must(t, err)
			must(t, ev.Add())
			go func() {
				time.Sleep(50 * time.Millisecond)
				_ = b.Now() // safe for concurrent use
				time.Sleep(300 * time.Millisecond)
				unix.Write(w, []byte("x"))
			}()
			must(t, b.Loop(0))
			if d := fired.Sub(armed); d < 150*time.Millisecond {
				t.Fatalf("200ms timeout armed in a read callback fired after %v", d)
			}
		})
	}
}

// The first direct callback closes the other ready socket, whose fd is
// reused at once by a fresh, silent socket with its own read event; remote
// work then arrives. The stale readiness of the closed socket must not reach
// the new event (libevent activates the batch before running any callback).
func TestDirectFDReuseAfterRemoteWork(t *testing.T) {
	for _, m := range []string{"epoll", "poll"} {
		t.Run(m, func(t *testing.T) {
			b := newBase(t, m)
			var evs [2]*Event
			var fds [2]int
			spurious := false
			done := false
			for i := range 2 {
				r, w := socketpair(t)
				write(t, w, "x")
				fds[i] = r
				i := i
				ev, err := b.NewEvent(r, Read|Persist, func(fd int, _ What) {
					var buf [8]byte
					_, _ = unix.Read(fd, buf[:])
					if done {
						return
					}
					done = true
					o := 1 - i
					must(t, evs[o].Del())
					evs[o].Free()
					unix.Close(fds[o])
					p, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
					must(t, err)
					unix.SetNonblock(p[0], true)
					if p[0] != fds[o] {
						t.Logf("fd not reused (%d vs %d)", p[0], fds[o])
					}
					z, err := b.NewEvent(p[0], Read|Persist, func(fd int, _ What) {
						var buf [8]byte
						if _, err := unix.Read(fd, buf[:]); err == unix.EAGAIN {
							spurious = true
						}
					})
					must(t, err)
					must(t, z.Add())
					ch := make(chan struct{})
					go func() { b.RunInLoop(func() {}); close(ch) }()
					<-ch
				})
				must(t, err)
				must(t, ev.Add())
				evs[i] = ev
			}
			must(t, b.Loop(LoopOnce))
			if spurious {
				t.Fatalf("new event on the reused fd ran for the closed socket's readiness")
			}
		})
	}
}

// fd1 becomes readable first and has two read events (queued); fd2 then becomes
// readable with one (eligible for direct dispatch). The queue (and libevent) runs
// them in the poller's order: fd1's two, then fd2's.
func TestDirectOrderAfterQueued(t *testing.T) {
	for _, m := range []string{"epoll", "poll"} {
		t.Run(m, func(t *testing.T) {
			b := newBase(t, m)
			var order []string
			r1, w1 := socketpair(t)
			r2, w2 := socketpair(t)
			mk := func(fd int, name string) {
				ev, err := b.NewEvent(fd, Read|Persist, func(fd int, _ What) {
					order = append(order, name)
				})
				must(t, err)
				must(t, ev.Add())
			}
			mk(r1, "1a")
			mk(r1, "1b")
			mk(r2, "2")
			write(t, w1, "x")
			time.Sleep(10 * time.Millisecond)
			write(t, w2, "x")
			time.Sleep(10 * time.Millisecond)
			must(t, b.Loop(LoopOnce))
			t.Logf("%s: %v", m, order)
			if len(order) != 3 || order[2] != "2" {
				t.Fatalf("order %v, want [1a 1b 2]", order)
			}
		})
	}
}

// Now from another goroutine during a blocking poll reads the clock; it does
// not fill the loop's cache (two calls 200ms apart must differ).
func TestNowDuringPoll(t *testing.T) {
	b := newBase(t, "epoll")
	tm, err := b.NewTimer(func() {})
	must(t, err)
	must(t, tm.AddTimeout(time.Hour))
	done := make(chan time.Duration)
	go func() {
		time.Sleep(50 * time.Millisecond)
		a := b.Now()
		time.Sleep(200 * time.Millisecond)
		c := b.Now()
		b.LoopBreak()
		done <- c.Sub(a)
	}()
	must(t, b.Loop(0))
	if d := <-done; d < 150*time.Millisecond {
		t.Fatalf("two Now() calls 200ms apart during one poll differ by %v", d)
	}
}
