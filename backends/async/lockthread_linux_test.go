//go:build linux

package async

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
	"golang.org/x/sys/unix"
)

// The lock of the loop goroutine is observed through what Go does with a goroutine
// that ends while locked to its thread: it ends the thread too. A thread that still
// exists after its goroutine ended was not locked (Go keeps idle threads); one that is
// gone was.

// The main goroutine keeps the process's main thread: Go cannot end that thread, so a
// locked goroutine ending there would leave it (the runtime parks it instead), and the
// test could not tell. Locked during init, the main goroutine stays on it (the testing
// package runs every test on other goroutines).
func init() { runtime.LockOSThread() }

// threadAlive reports whether thread tid of this process exists.
func threadAlive(tid int) bool {
	_, err := os.Stat(fmt.Sprintf("/proc/self/task/%d", tid))
	return err == nil
}

// threadEnded waits up to 5 s for thread tid to end and reports whether it did; when
// want is false it waits 100 ms and reports whether the thread ended meanwhile.
func threadEnded(tid int, want bool) bool {
	limit := 100 * time.Millisecond
	if want {
		limit = 5 * time.Second
	}
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if !threadAlive(tid) {
			return true
		}
	}
	return !threadAlive(tid)
}

// readingConns opens n async connections on base over socket pairs, reading enabled
// (so that ring-receive mode prepares receives and the loop flushes them); it returns
// them and their peers, closed when the test ends.
func readingConns(t *testing.T, base *eventbase.Base, n int) []*bufferevent.BufferEvent {
	t.Helper()
	var bevs []*bufferevent.BufferEvent
	for range n {
		fds := socketPair(t)
		t.Cleanup(func() { unix.Close(fds[1]) })
		bev, err := New(base, fds[0], bufferevent.CloseOnFree)
		if err != nil {
			unix.Close(fds[0])
			t.Fatal(err)
		}
		t.Cleanup(func() { bev.Close() })
		if err := bev.Enable(bufferevent.Read); err != nil {
			t.Fatal(err)
		}
		bevs = append(bevs, bev)
	}
	return bevs
}

// TestAutoLockThread: the ring locks the loop goroutine to its thread in ring-receive
// mode and unlocks it when the ring goes back to readiness or is torn down on that
// goroutine, nested in the user's own lock (which survives the cycle: the count stays
// balanced). Each case runs the loop on a fresh goroutine that ends at once after it:
// its thread ends with it exactly when the goroutine was still locked.
func TestAutoLockThread(t *testing.T) {
	if !autoLock {
		t.Skip("ASYNC_NOLOCK is set: the ring does not lock its loop")
	}
	const (
		up       = "up"       // ring mode at the end, the base closed later elsewhere
		down     = "down"     // ring mode, then back to readiness
		teardown = "teardown" // ring mode, then the base closed on the loop goroutine
	)
	// The epoll base's ring waits for the loop (its wait locks); the poll base's ring is
	// watched by the poller (its flush and event callback lock).
	for _, poller := range []string{"epoll", "poll"} {
		for _, sc := range []string{up, down, teardown} {
			for _, user := range []string{"none", "locked", "locked-unlocked"} {
				t.Run(poller+"/"+sc+"/user="+user, func(t *testing.T) {
					setReady(t, true)
					var cfg eventbase.Config
					if poller == "poll" {
						cfg.AvoidMethods = []string{"epoll"}
					}
					base, err := eventbase.New(cfg)
					if err != nil {
						t.Fatal(err)
					}
					defer base.Close()
					var tid int
					var lr *loopRing
					errc := make(chan error, 1)
					go func() {
						errc <- func() error {
							if user != "none" {
								runtime.LockOSThread()
							}
							tid = unix.Gettid()
							bevs := readingConns(t, base, readyMax+1)
							lr = ringOf(base)
							if lr.canWait != (poller == "epoll") {
								return fmt.Errorf("%s base: ring waits for the loop: %v", poller, lr.canWait)
							}
							if err := base.Loop(eventbase.LoopNonBlock); err != nil {
								return err
							}
							if lr.ready || lr.lockTid != tid || lr.locks != 1 {
								return fmt.Errorf("ring mode: ready %v, locked thread %d (loop's %d), %d locks", lr.ready, lr.lockTid, tid, lr.locks)
							}
							switch sc {
							case down:
								for _, bev := range bevs[:readyMax+1-readyMin] {
									bev.Close()
								}
								if err := base.Loop(eventbase.LoopNonBlock); err != nil {
									return err
								}
								if !lr.ready || lr.lockTid != 0 || lr.unlocks != 1 {
									return fmt.Errorf("readiness: ready %v, locked thread %d, %d unlocks", lr.ready, lr.lockTid, lr.unlocks)
								}
							case teardown:
								if err := base.Close(); err != nil {
									return err
								}
								if lr.lockTid != 0 || lr.unlocks != 1 {
									return fmt.Errorf("teardown: locked thread %d, %d unlocks", lr.lockTid, lr.unlocks)
								}
							}
							if user == "locked-unlocked" {
								runtime.UnlockOSThread()
							}
							return nil
						}()
					}()
					if err := <-errc; err != nil {
						t.Fatal(err)
					}
					// Still locked at the goroutine's end: the backend's lock in ring mode,
					// or the user's own (which the backend must not have undone).
					want := sc == up || user == "locked"
					if got := threadEnded(tid, want); got != want {
						t.Fatalf("loop goroutine's thread ended with it: %v, want %v (the goroutine was %slocked)", got, want, map[bool]string{true: "not ", false: ""}[got])
					}
					if sc == up {
						// Teardown on another goroutine: nothing to unlock there.
						if err := base.Close(); err != nil {
							t.Fatal(err)
						}
						if lr.lockTid != 0 || lr.unlocks != 0 {
							t.Fatalf("teardown elsewhere: locked thread %d, %d unlocks", lr.lockTid, lr.unlocks)
						}
					}
				})
			}
		}
	}
}

// TestAutoLockOtherGoroutine: when a second goroutine runs the loop after the first
// (locked by the ring) returned, or closes the base, the ring never calls
// UnlockOSThread on it for the first one's lock: each goroutine's own LockOSThread
// survives. The second loop goroutine is locked by the ring in ring mode in its turn
// and unlocked when the ring goes back to readiness.
func TestAutoLockOtherGoroutine(t *testing.T) {
	if !autoLock {
		t.Skip("ASYNC_NOLOCK is set: the ring does not lock its loop")
	}
	setReady(t, true)
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	bevs := readingConns(t, base, readyMax+1)
	lr := ringOf(base)

	// run runs fn on a new goroutine that locks itself to its thread first when
	// userLock is set, and ends at fn's return unless hold is given (then it ends when
	// hold is closed). It returns the goroutine's thread and fn's error.
	run := func(userLock bool, hold chan struct{}, fn func() error) (int, error) {
		type res struct {
			tid int
			err error
		}
		rc := make(chan res, 1)
		go func() {
			if userLock {
				runtime.LockOSThread()
			}
			tid := unix.Gettid()
			rc <- res{tid, fn()}
			if hold != nil {
				<-hold
			}
		}()
		r := <-rc
		return r.tid, r.err
	}
	loop := func() error { return base.Loop(eventbase.LoopNonBlock) }

	// G1 runs the loop in ring mode (locked by the ring), returns and stays alive.
	hold1 := make(chan struct{})
	defer func() {
		select {
		case <-hold1:
		default:
			close(hold1)
		}
	}()
	tid1, err := run(false, hold1, loop)
	if err != nil {
		t.Fatal(err)
	}
	if lr.lockTid != tid1 || lr.locks != 1 {
		t.Fatalf("first loop goroutine: locked thread %d (its %d), %d locks", lr.lockTid, tid1, lr.locks)
	}

	// G2, locked by its user, runs the loop in ring mode, then the ring goes back to
	// readiness: the ring locks G2 too, then undoes that lock only; G2 ends still locked
	// by its user.
	tid2, err := run(true, nil, func() error {
		// Something to submit: without the ring's wait (ASYNC_NOWAIT) the flush is where
		// a new loop goroutine shows.
		if _, err := bevs[readyMax].Write([]byte("x")); err != nil {
			return err
		}
		// The ring's wait checks the loop's thread every 64th time.
		for i := 0; i < 200 && lr.locks < 2; i++ {
			if err := loop(); err != nil {
				return err
			}
		}
		if lr.lockTid != unix.Gettid() || lr.locks != 2 {
			return fmt.Errorf("second loop goroutine: locked thread %d, %d locks", lr.lockTid, lr.locks)
		}
		for _, bev := range bevs[:readyMax+1-readyMin] {
			bev.Close()
		}
		if err := loop(); err != nil {
			return err
		}
		if !lr.ready || lr.lockTid != 0 || lr.unlocks != 1 {
			return fmt.Errorf("readiness: ready %v, locked thread %d, %d unlocks", lr.ready, lr.lockTid, lr.unlocks)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !threadEnded(tid2, true) {
		t.Fatal("the second loop goroutine's own lock was undone: its thread outlived it")
	}

	// Back to ring mode on G3 (locked by the ring), then G4, locked by its user, closes
	// the base: the teardown must not unlock G4.
	readingConns(t, base, readyMax+1-readyMin)
	hold3 := make(chan struct{})
	defer close(hold3)
	tid3, err := run(false, hold3, loop)
	if err != nil {
		t.Fatal(err)
	}
	if lr.ready || lr.lockTid != tid3 {
		t.Fatalf("third loop goroutine: ready %v, locked thread %d (its %d)", lr.ready, lr.lockTid, tid3)
	}
	tid4, err := run(true, nil, base.Close)
	if err != nil {
		t.Fatal(err)
	}
	if !threadEnded(tid4, true) {
		t.Fatal("Base.Close on another goroutine undid that goroutine's own lock")
	}
	if lr.lockTid != 0 || lr.unlocks != 1 {
		t.Fatalf("after the teardown: locked thread %d, %d unlocks", lr.lockTid, lr.unlocks)
	}
	// G1 and G3 keep the ring's lock until they end (only they can undo it), and their
	// threads end with them: no thread is left behind.
	close(hold1)
	if !threadEnded(tid1, true) {
		t.Fatal("the first loop goroutine's thread outlived it")
	}
}
