//go:build linux

package async

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
	"golang.org/x/sys/unix"
)

// echoExchange sends msg from a to b, echoes it back and returns what a got, running
// base's loop until then (10 s at most).
func echoExchange(t *testing.T, base *eventbase.Base, a, b *bufferevent.BufferEvent, msg []byte) []byte {
	t.Helper()
	var got []byte
	b.SetCallbacks(func(bev *bufferevent.BufferEvent) { bev.WriteBuffer(bev.Input()) }, nil, nil)
	a.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		p, _ := bev.Input().Pullup(-1)
		got = append(got, p...)
		bev.Input().Drain(len(p))
		if len(got) >= len(msg) {
			base.LoopBreak()
		}
	}, nil, nil)
	a.Enable(bufferevent.Read | bufferevent.Write)
	b.Enable(bufferevent.Read | bufferevent.Write)
	a.Write(msg)
	dispatch(t, base, 10*time.Second)
	return got
}

// setRingWait makes the rings created during the test wait for their loop or not,
// whatever ASYNC_NOWAIT says.
func setRingWait(t *testing.T, on bool) {
	old := ringWait
	ringWait = on
	t.Cleanup(func() { ringWait = old })
}

// TestRingWaits: on an epoll base the ring blocks for the loop (eventbase's Waiter), and
// everything else the loop serves still wakes it while a receive is pending and no data
// comes: a timer, a function queued from another goroutine, an ordinary descriptor
// event, and LoopBreak from another goroutine. The ring hands the wait back at teardown.
func TestRingWaits(t *testing.T) {
	setReady(t, false) // ring receives: this tests them
	checkFDs(t)
	setRingWait(t, true)
	base := newBase(t)
	a, b := newPair(t, base, true)
	lr := ringOf(base)
	if lr == nil || !lr.waiting {
		t.Fatal("the ring does not wait for the loop on an epoll base")
	}
	msg := bytes.Repeat([]byte("ping "), 2000)
	if got := echoExchange(t, base, a, b, msg); !bytes.Equal(got, msg) {
		t.Fatalf("echo: %d bytes back, want %d", len(got), len(msg))
	}
	// Both ends now have a receive pending and nothing to read: the loop blocks in the
	// ring. Each of these must wake it.
	t.Run("timer", func(t *testing.T) {
		fired := false
		tm, err := base.NewTimer(func() { fired = true; base.LoopBreak() })
		if err != nil {
			t.Fatal(err)
		}
		defer tm.Free()
		tm.AddTimeout(20 * time.Millisecond)
		start := time.Now()
		dispatch(t, base, 10*time.Second)
		if !fired {
			t.Fatal("timer did not fire")
		}
		if d := time.Since(start); d < 20*time.Millisecond {
			t.Fatalf("timer fired after %v, before its 20ms", d)
		}
	})
	t.Run("RunInLoop", func(t *testing.T) {
		ran := false
		go func() {
			time.Sleep(20 * time.Millisecond)
			_ = base.RunInLoop(func() { ran = true; base.LoopBreak() })
		}()
		dispatch(t, base, 10*time.Second)
		if !ran {
			t.Fatal("queued function did not run")
		}
	})
	t.Run("descriptor", func(t *testing.T) {
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		defer unix.Close(p[0])
		defer unix.Close(p[1])
		got := 0
		ev, err := base.NewEvent(p[0], eventbase.Read|eventbase.Persist, func(fd int, _ eventbase.What) {
			var buf [1]byte // one byte per call: the rest stays readable
			n, _ := unix.Read(fd, buf[:])
			got += n
			base.LoopBreak()
		})
		if err != nil {
			t.Fatal(err)
		}
		defer ev.Free()
		if err := ev.Add(); err != nil {
			t.Fatal(err)
		}
		go func() {
			time.Sleep(20 * time.Millisecond)
			unix.Write(p[1], []byte("x"))
		}()
		dispatch(t, base, 10*time.Second)
		if got != 1 {
			t.Fatalf("descriptor event read %d bytes, want 1", got)
		}
		// Level-triggered readiness left unconsumed is reported again at the next
		// turn, although the poll of the epoll descriptor fired for it already.
		unix.Write(p[1], []byte("yz"))
		got = 0
		dispatch(t, base, 10*time.Second) // reads "y"
		dispatch(t, base, 10*time.Second) // must be woken for "z"
		if got != 2 {
			t.Fatalf("descriptor event read %d bytes, want 2", got)
		}
	})
	t.Run("LoopBreak", func(t *testing.T) {
		go func() {
			time.Sleep(20 * time.Millisecond)
			base.LoopBreak()
		}()
		dispatch(t, base, 10*time.Second)
		if !base.GotBreak() {
			t.Fatal("loop did not break")
		}
	})
	// The ring still serves its connections after all that.
	if got := echoExchange(t, base, a, b, msg); !bytes.Equal(got, msg) {
		t.Fatalf("echo after the wake-ups: %d bytes back, want %d", len(got), len(msg))
	}
	a.Close()
	b.Close()
	loopOnce(t, base)
	if ringOf(base) != nil {
		t.Fatal("ring not torn down")
	}
	// The wait is back with the poller: another waiter may take it, and an idle
	// base's Dispatch returns.
	w := &nopWaiter{}
	ev, err := base.NewEvent(-1, 0, func(int, eventbase.What) {})
	if err != nil {
		t.Fatal(err)
	}
	if err := base.SetWaiter(w, ev); err != nil {
		t.Fatalf("SetWaiter after the ring's teardown: %v", err)
	}
	_ = base.SetWaiter(nil, nil)
	dispatch(t, base, 10*time.Second)
}

// nopWaiter never blocks and reports nothing.
type nopWaiter struct{}

func (*nopWaiter) Wait(time.Duration) (bool, bool) { return false, true }

// TestRingWatchedWhenNotWaiting: where the ring cannot wait for the loop — ringWait off
// (ASYNC_NOWAIT), a poll(2) base (no descriptor to poll through the ring), another
// Waiter already set — it is watched by the poller as before, and connections work.
func TestRingWatchedWhenNotWaiting(t *testing.T) {
	msg := bytes.Repeat([]byte("pong "), 3000)
	cases := []struct {
		name  string
		setup func(t *testing.T) *eventbase.Base
	}{
		{"ringWait off", func(t *testing.T) *eventbase.Base {
			setRingWait(t, false)
			return newBase(t)
		}},
		{"poll base", func(t *testing.T) *eventbase.Base {
			base, err := eventbase.New(eventbase.Config{AvoidMethods: []string{"epoll"}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { base.Close() })
			return base
		}},
		{"other waiter", func(t *testing.T) *eventbase.Base {
			base := newBase(t)
			ev, err := base.NewEvent(-1, 0, func(int, eventbase.What) {})
			if err != nil {
				t.Fatal(err)
			}
			if err := base.SetWaiter(&blockingWaiter{base: base}, ev); err != nil {
				t.Fatal(err)
			}
			return base
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkFDs(t)
			base := tc.setup(t)
			a, b := newPair(t, base, true)
			if lr := ringOf(base); lr == nil || lr.waiting || lr.ev == nil {
				t.Fatal("ring not watched by the poller")
			}
			if got := echoExchange(t, base, a, b, msg); !bytes.Equal(got, msg) {
				t.Fatalf("echo: %d bytes back, want %d", len(got), len(msg))
			}
		})
	}
}

// blockingWaiter blocks in poll(2) on its base's epoll descriptor, as a Waiter of
// another library might.
type blockingWaiter struct{ base *eventbase.Base }

func (w *blockingWaiter) Wait(timeout time.Duration) (bool, bool) {
	fd, err := w.base.PollerFD()
	if err != nil {
		return false, true
	}
	ms := -1
	if timeout >= 0 {
		ms = int((timeout + time.Millisecond - 1) / time.Millisecond)
	}
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(pfd, ms)
	return false, err != nil || n > 0
}

// TestWaitFailureFallsBack: an error while the ring waits (here, as if the kernel had
// refused the poll of the epoll descriptor) fails the connections, hands the wait back
// to the poller and leaves no ring behind once they are closed; the base keeps working.
func TestWaitFailureFallsBack(t *testing.T) {
	setReady(t, false) // ring receives: this tests them
	checkFDs(t)
	setRingWait(t, true)
	base := newBase(t)
	a, b := newPair(t, base, true)
	lr := ringOf(base)
	if lr == nil || !lr.waiting {
		t.Fatal("ring not waiting")
	}
	var gotErr error
	a.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		gotErr = err
		base.LoopBreak()
	})
	a.Enable(bufferevent.Read)
	b.Enable(bufferevent.Read)
	injected := errors.New("injected wait failure")
	lr.waitErr = injected
	dispatch(t, base, 10*time.Second)
	if !errors.Is(gotErr, injected) {
		t.Fatalf("event error %v; want the wait's error", gotErr)
	}
	if lr.waiting {
		t.Fatal("ring still waiting for the loop after its failure")
	}
	a.Close()
	b.Close()
	for range 3 {
		loopOnce(t, base)
	}
	if ringOf(base) != nil {
		t.Fatal("ring not torn down")
	}
	ran := false
	tm, err := base.NewTimer(func() { ran = true })
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Free()
	tm.AddTimeout(time.Millisecond)
	dispatch(t, base, 10*time.Second)
	if !ran {
		t.Fatal("base's timer did not run after the ring's failure")
	}
}
