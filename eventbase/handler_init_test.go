//go:build unix

package eventbase

import (
	"errors"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// embeddedOwner embeds its event, as the socket backend does.
type embeddedOwner struct {
	seen []What
	rev  Event
}

func (o *embeddedOwner) HandleEvent(fd int, what What) {
	o.seen = append(o.seen, what)
	var buf [16]byte
	_, _ = unix.Read(fd, buf[:])
}

// TestInitHandlerEvent runs an event initialised in place through a whole
// life on every poller: dispatched (the loop's direct path, the fd having
// only this event), again after a second event joins the fd (the fdInfo
// path), and freed; and it checks the arguments a second initialisation,
// a nil event, a nil handler and a closed base get.
func TestInitHandlerEvent(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		b := newBase(t, m)
		r, w := socketpair(t)
		o := &embeddedOwner{}
		must(t, b.InitHandlerEvent(&o.rev, r, Read|Persist, o))
		if o.rev.FD() != r || o.rev.Events() != Read|Persist || o.rev.Base() != b || o.rev.Priority() != b.Priorities()/2 {
			t.Fatalf("initialised event: fd %d events %v priority %d", o.rev.FD(), o.rev.Events(), o.rev.Priority())
		}
		if err := b.InitHandlerEvent(&o.rev, r, Read|Persist, o); !errors.Is(err, ErrInvalidEvents) {
			t.Fatalf("second InitHandlerEvent: %v, want ErrInvalidEvents", err)
		}
		must(t, o.rev.Add())
		write(t, w, "x")
		must(t, b.Loop(LoopOnce))
		if len(o.seen) != 1 || o.seen[0]&Read == 0 {
			t.Fatalf("after one turn the handler saw %v, want one Read", o.seen)
		}
		other, err := b.NewEvent(r, Write, func(int, What) {})
		must(t, err)
		must(t, other.Add())
		write(t, w, "y")
		must(t, b.Loop(LoopOnce))
		if len(o.seen) != 2 || o.seen[1]&Read == 0 {
			t.Fatalf("with two events on the fd the handler saw %v, want two Reads", o.seen)
		}
		other.Free()
		if err := b.checkInvariants(); err != nil {
			t.Fatal(err)
		}
		o.rev.Free()
		if err := o.rev.Add(); !errors.Is(err, ErrFreed) {
			t.Fatalf("Add after Free: %v, want ErrFreed", err)
		}
		if err := b.InitHandlerEvent(&o.rev, r, Read, o); !errors.Is(err, ErrInvalidEvents) {
			t.Fatalf("InitHandlerEvent of a freed event: %v, want ErrInvalidEvents", err)
		}
		if err := b.InitHandlerEvent(nil, r, Read, o); !errors.Is(err, ErrInvalidEvents) {
			t.Fatalf("nil event: %v, want ErrInvalidEvents", err)
		}
		var fresh Event
		if err := b.InitHandlerEvent(&fresh, r, Read, nil); !errors.Is(err, ErrNilCallback) {
			t.Fatalf("nil handler: %v, want ErrNilCallback", err)
		}
		if err := b.InitHandlerEvent(&fresh, r, Read|Signal, o); !errors.Is(err, ErrInvalidEvents) {
			t.Fatalf("Signal with Read: %v, want ErrInvalidEvents", err)
		}
		if fresh.base != nil {
			t.Fatal("a refused InitHandlerEvent changed the event")
		}
		b.Close()
		if err := b.InitHandlerEvent(&fresh, r, Read, o); !errors.Is(err, ErrClosed) {
			t.Fatalf("closed base: %v, want ErrClosed", err)
		}
	})
}

// TestPrefetchFD runs the poller's prefetch on every kind of fd slot: out of
// range, negative, without an fdInfo, with a sole event, with two events,
// and with an event embedded in an owner at the start of its allocation
// (the two lines before it are not the owner's: a prefetch never faults).
func TestPrefetchFD(t *testing.T) {
	b := newBase(t, methods(t)[0])
	r, w := socketpair(t)
	ev := new(Event)
	must(t, b.InitHandlerEvent(ev, r, Read|Persist, &embeddedOwner{}))
	must(t, ev.Add())
	for _, fd := range []int{-1, len(b.fds) + 100, w, r} {
		b.prefetchFD(fd)
	}
	other, err := b.NewEvent(r, Write, func(int, What) {})
	must(t, err)
	must(t, other.Add())
	if b.fds[r].one != nil {
		t.Fatal("an fd with two events has a sole event")
	}
	b.prefetchFD(r)
	other.Free()
	if b.fds[r].one != ev {
		t.Fatal("the fd's remaining event is not its sole event")
	}
	b.prefetchFD(r)
}

// TestLoopOneP runs the loop with GOMAXPROCS 1, where the epoll poller
// yields to the scheduler before each blocking wait: a write from another
// goroutine (which needs the only P while the loop waits) and a timer are
// both delivered.
func TestLoopOneP(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	eachMethod(t, func(t *testing.T, m string) {
		b := newBase(t, m)
		r, w := socketpair(t)
		o := &embeddedOwner{}
		must(t, b.InitHandlerEvent(&o.rev, r, Read|Persist, o))
		must(t, o.rev.Add())
		fired := false
		tm, err := b.NewTimer(func() { fired = true })
		must(t, err)
		must(t, tm.AddTimeout(20*time.Millisecond))
		go func() {
			time.Sleep(5 * time.Millisecond)
			_, _ = unix.Write(w, []byte("x"))
		}()
		deadline := time.Now().Add(10 * time.Second)
		for (len(o.seen) == 0 || !fired) && time.Now().Before(deadline) {
			must(t, b.Loop(LoopOnce))
		}
		if len(o.seen) == 0 || !fired {
			t.Fatalf("after the loop: reads %v, timer fired %v", o.seen, fired)
		}
	})
}
