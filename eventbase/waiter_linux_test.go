//go:build linux

package eventbase

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// efdWaiter is a Waiter over an eventfd of its own: Wait blocks in poll(2) on that
// eventfd and the base's epoll descriptor, as an io_uring ring waits for its completions
// and a poll of the epoll descriptor.
type efdWaiter struct {
	t        *testing.T
	base     *Base
	efd      int
	timeouts []time.Duration // the timeout of every Wait
}

func newEfdWaiter(t *testing.T, base *Base) *efdWaiter {
	t.Helper()
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(efd) })
	return &efdWaiter{t: t, base: base, efd: efd}
}

func (w *efdWaiter) Wait(timeout time.Duration) (own, poll bool) {
	w.timeouts = append(w.timeouts, timeout)
	fd, err := w.base.PollerFD()
	if err != nil {
		w.t.Errorf("PollerFD inside Wait: %v", err)
		return false, true
	}
	ms := -1
	if timeout >= 0 {
		ms = int((timeout + time.Millisecond - 1) / time.Millisecond)
	}
	pfd := []unix.PollFd{{Fd: int32(w.efd), Events: unix.POLLIN}, {Fd: int32(fd), Events: unix.POLLIN}}
	if _, err := unix.Poll(pfd, ms); err != nil && err != unix.EINTR {
		w.t.Errorf("poll: %v", err)
	}
	return pfd[0].Revents != 0, pfd[1].Revents != 0
}

// signal makes the waiter's own source ready.
func (w *efdWaiter) signal() { unix.Write(w.efd, []byte{1, 0, 0, 0, 0, 0, 0, 0}) }

// setWaiter installs a new efdWaiter on base whose event counts its runs (reading the
// eventfd) and breaks the loop.
func setWaiter(t *testing.T, base *Base) (*efdWaiter, *int) {
	t.Helper()
	w := newEfdWaiter(t, base)
	runs := new(int)
	ev, err := base.NewEvent(-1, 0, func(int, What) {
		var buf [8]byte
		unix.Read(w.efd, buf[:])
		*runs++
		base.LoopBreak()
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := base.SetWaiter(w, ev); err != nil {
		t.Fatal(err)
	}
	return w, runs
}

// loopFor runs base's loop until it returns, failing the test after 10 s.
func loopFor(t *testing.T, base *Base, flags LoopFlags) {
	t.Helper()
	stop := time.AfterFunc(10*time.Second, func() { base.LoopBreak(); t.Error("loop did not return within 10s") })
	defer stop.Stop()
	if err := base.Loop(flags); err != nil {
		t.Fatal(err)
	}
}

// TestWaiterServesTheLoop: a Waiter blocks for the loop; its own work runs its event,
// and everything the poller served still wakes the loop through the poller's
// descriptor: descriptor events, functions queued from other goroutines, LoopBreak,
// timers (through the timeout Wait gets).
func TestWaiterServesTheLoop(t *testing.T) {
	base := newBase(t, "epoll")
	w, runs := setWaiter(t, base)

	t.Run("own work", func(t *testing.T) {
		go func() { time.Sleep(10 * time.Millisecond); w.signal() }()
		loopFor(t, base, LoopNoExitOnEmpty)
		if *runs != 1 {
			t.Fatalf("waiter event ran %d times, want 1", *runs)
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
		ev, err := base.NewEvent(p[0], Read|Persist, func(fd int, _ What) {
			var buf [1]byte
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
		go func() { time.Sleep(10 * time.Millisecond); unix.Write(p[1], []byte("ab")) }()
		loopFor(t, base, 0)
		loopFor(t, base, 0) // "b" is still readable: level-triggered
		if got != 2 {
			t.Fatalf("read %d bytes through the poller, want 2", got)
		}
	})
	t.Run("RunInLoop", func(t *testing.T) {
		ran := false
		go func() {
			time.Sleep(10 * time.Millisecond)
			base.RunInLoop(func() { ran = true; base.LoopBreak() })
		}()
		loopFor(t, base, LoopNoExitOnEmpty)
		if !ran {
			t.Fatal("queued function did not run")
		}
	})
	t.Run("LoopBreak", func(t *testing.T) {
		go func() { time.Sleep(10 * time.Millisecond); base.LoopBreak() }()
		loopFor(t, base, LoopNoExitOnEmpty)
		if !base.GotBreak() {
			t.Fatal("no break")
		}
	})
	t.Run("timer", func(t *testing.T) {
		w.timeouts = w.timeouts[:0]
		fired := false
		tm, err := base.NewTimer(func() { fired = true })
		if err != nil {
			t.Fatal(err)
		}
		defer tm.Free()
		tm.AddTimeout(30 * time.Millisecond)
		loopFor(t, base, 0)
		if !fired {
			t.Fatal("timer did not fire")
		}
		// Every wait was bounded by the timer (0 once it was due, or if the loop was
		// held back that long).
		if len(w.timeouts) == 0 {
			t.Fatal("Wait not called")
		}
		for _, d := range w.timeouts {
			if d < 0 || d > 30*time.Millisecond {
				t.Fatalf("Wait's timeouts %v; want each in [0, 30ms]", w.timeouts)
			}
		}
	})
	t.Run("timeouts", func(t *testing.T) {
		w.timeouts = w.timeouts[:0]
		loopFor(t, base, LoopNonBlock|LoopNoExitOnEmpty)
		if len(w.timeouts) != 1 || w.timeouts[0] != 0 {
			t.Fatalf("non-blocking turn: Wait's timeouts %v, want [0]", w.timeouts)
		}
		w.timeouts = w.timeouts[:0]
		go func() { time.Sleep(10 * time.Millisecond); w.signal() }()
		loopFor(t, base, LoopNoExitOnEmpty)
		if len(w.timeouts) == 0 || w.timeouts[0] >= 0 {
			t.Fatalf("blocking turn without timers: Wait's timeouts %v, want negative", w.timeouts)
		}
	})
	t.Run("removed", func(t *testing.T) {
		if err := base.SetWaiter(nil, nil); err != nil {
			t.Fatal(err)
		}
		w.timeouts = w.timeouts[:0]
		go func() { time.Sleep(10 * time.Millisecond); base.LoopBreak() }()
		loopFor(t, base, LoopNoExitOnEmpty)
		if len(w.timeouts) != 0 {
			t.Fatalf("a removed waiter was called %d times", len(w.timeouts))
		}
	})
}

// TestWaiterEventPriorities: the waiter's event goes through the active queues like any
// other when it cannot run straight from the wait (here: two priorities), so it runs in
// its priority's order with the descriptor events ready in the same turn.
func TestWaiterEventPriorities(t *testing.T) {
	for _, waiterFirst := range []bool{true, false} {
		base := newBase(t, "epoll", Config{Priorities: 2})
		w := newEfdWaiter(t, base)
		var order []string
		ev, err := base.NewEvent(-1, 0, func(int, What) {
			var buf [8]byte
			unix.Read(w.efd, buf[:])
			order = append(order, "waiter")
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := base.SetWaiter(w, ev); err != nil {
			t.Fatal(err)
		}
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		defer unix.Close(p[0])
		defer unix.Close(p[1])
		user, err := base.NewEvent(p[0], Read, func(int, What) { order = append(order, "user") })
		if err != nil {
			t.Fatal(err)
		}
		if err := user.Add(); err != nil {
			t.Fatal(err)
		}
		if waiterFirst {
			ev.SetPriority(0)
			user.SetPriority(1)
		} else {
			ev.SetPriority(1)
			user.SetPriority(0)
		}
		w.signal()
		unix.Write(p[1], []byte("x"))
		loopFor(t, base, LoopOnce)
		want := []string{"user", "waiter"}
		if waiterFirst {
			want = []string{"waiter", "user"}
		}
		if len(order) != 2 || order[0] != want[0] || order[1] != want[1] {
			t.Fatalf("waiter at priority %d: order %v; want %v", ev.pri, order, want)
		}
	}
}

// TestSetWaiterErrors: SetWaiter and PollerFD refuse what they cannot serve.
func TestSetWaiterErrors(t *testing.T) {
	base := newBase(t, "epoll")
	other := newBase(t, "epoll")
	w := newEfdWaiter(t, base)
	ev, _ := base.NewEvent(-1, 0, func(int, What) {})
	otherEv, _ := other.NewEvent(-1, 0, func(int, What) {})
	freedEv, _ := base.NewEvent(-1, 0, func(int, What) {})
	freedEv.Free()
	finalEv, _ := base.NewEvent(-1, 0, func(int, What) {})
	if err := finalEv.Finalize(nil); err != nil {
		t.Fatal(err)
	}
	if fd, err := base.PollerFD(); err != nil || fd < 0 {
		t.Fatalf("PollerFD on epoll: %d, %v", fd, err)
	}
	for _, tc := range []struct {
		name string
		w    Waiter
		ev   *Event
		want error
	}{
		{"no event", w, nil, ErrNilCallback},
		{"no waiter", nil, ev, ErrNilCallback},
		{"event of another base", w, otherEv, ErrOtherBase},
		{"zero event", w, new(Event), ErrInvalidEvents},
		// The loop would never run such an event: a waiter reporting work
		// would wake it for good without anything taking the work.
		{"freed event", w, freedEv, ErrFreed},
		{"finalizing event", w, finalEv, ErrFinalizing},
	} {
		if err := base.SetWaiter(tc.w, tc.ev); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v; want %v", tc.name, err, tc.want)
		}
		if base.waiter != nil {
			t.Fatalf("%s: the waiter was set", tc.name)
		}
	}
	if err := base.SetWaiter(w, ev); err != nil {
		t.Fatal(err)
	}
	if err := base.SetWaiter(w, ev); err != nil {
		t.Fatalf("setting the same waiter again: %v", err)
	}
	if err := base.SetWaiter(newEfdWaiter(t, base), ev); !errors.Is(err, ErrWaiterSet) {
		t.Fatalf("second waiter: %v; want ErrWaiterSet", err)
	}
	// Close removes the waiter; a closed base refuses one.
	if err := base.Close(); err != nil {
		t.Fatal(err)
	}
	if base.waiter != nil || base.waitEv != nil {
		t.Fatal("Close left the waiter set")
	}
	if err := base.SetWaiter(w, ev); !errors.Is(err, ErrClosed) {
		t.Fatalf("SetWaiter on a closed base: %v; want ErrClosed", err)
	}
	if _, err := base.PollerFD(); !errors.Is(err, ErrClosed) {
		t.Fatalf("PollerFD on a closed base: %v; want ErrClosed", err)
	}

	// A poller without a descriptor (poll(2)) cannot be waited for.
	pb, err := New(Config{AvoidMethods: []string{"epoll"}})
	if err != nil {
		t.Fatal(err)
	}
	defer pb.Close()
	pev, _ := pb.NewEvent(-1, 0, func(int, What) {})
	if _, err := pb.PollerFD(); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("PollerFD on poll: %v; want ErrUnsupported", err)
	}
	if err := pb.SetWaiter(newEfdWaiter(t, pb), pev); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("SetWaiter on poll: %v; want ErrUnsupported", err)
	}
}
