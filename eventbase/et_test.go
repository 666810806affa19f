//go:build unix

package eventbase

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// Mirrors libevent test/regress_et.c "et/et": an edge-triggered read event
// that reads one byte per callback fires once on ET pollers, twice
// (without ET in the result) on level-triggered ones.
func TestET(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		b := newBase(t, m)
		p0, p1 := socketpair(t)
		write(t, p0, "test string\x00")
		unix.Shutdown(p0, unix.SHUT_WR)
		called, wasET := 0, false
		var ev *Event
		ev, err := b.NewEvent(p1, Read|ET|Persist, func(fd int, what What) {
			var c [1]byte
			n, _ := unix.Read(fd, c[:])
			called++
			if what&ET != 0 {
				wasET = true
			}
			if n == 0 {
				ev.Del()
			}
		})
		must(t, err)
		must(t, ev.Add())
		must(t, b.Loop(LoopNonBlock|LoopOnce))
		must(t, b.Loop(LoopNonBlock|LoopOnce))
		if b.Features()&FeatureET != 0 {
			if called != 1 || !wasET {
				t.Fatalf("ET poller: called %d, ET=%v; want 1, true", called, wasET)
			}
		} else if called != 2 || wasET {
			t.Fatalf("LT poller: called %d, ET=%v; want 2, false", called, wasET)
		}
	})
}

// Mirrors libevent test/regress_et.c "et/et_mix_error".
func TestETMixError(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		b := newBase(t, m)
		p0, _ := socketpair(t)
		nop := func(int, What) {}
		et, err := b.NewEvent(p0, Read|ET, nop)
		must(t, err)
		lt, err := b.NewEvent(p0, Read, nop)
		must(t, err)
		must(t, et.Add())
		if err := lt.Add(); !errors.Is(err, ErrETMismatch) {
			t.Fatalf("LT after ET: %v", err)
		}
		if p, _ := et.Pending(Read); p != Read {
			t.Fatal("ET event not pending")
		}
		if p, _ := lt.Pending(Read); p != 0 {
			t.Fatal("rejected LT event pending")
		}
		must(t, et.Del())
		must(t, lt.Add())
		if err := et.Add(); !errors.Is(err, ErrETMismatch) {
			t.Fatalf("ET after LT: %v", err)
		}
		if p, _ := lt.Pending(Read); p != Read {
			t.Fatal("LT event not pending")
		}
		if p, _ := et.Pending(Read); p != 0 {
			t.Fatal("rejected ET event pending")
		}
	})
}

// Mirrors libevent test/regress_et.c "et/et_multiple_events": deleting one
// of two ET events on an fd keeps the other edge-triggered.
func TestETMultipleEvents(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		b := newBase(t, m)
		if b.Features()&FeatureET == 0 {
			t.Skipf("%s is level-triggered", m)
		}
		p0, p1 := socketpair(t)
		write(t, p0, "A")
		var nr, nw int
		var lastR, lastW What
		rev, err := b.NewEvent(p1, Read|ET|Persist, func(_ int, w What) { nr++; lastR = w })
		must(t, err)
		wev, err := b.NewEvent(p1, Write|ET|Persist, func(_ int, w What) { nw++; lastW = w })
		must(t, err)
		must(t, rev.Add())
		must(t, wev.Add())
		must(t, b.Loop(LoopNonBlock|LoopOnce))
		must(t, b.Loop(LoopNonBlock|LoopOnce))
		if nr != 1 || lastR&ET == 0 || nw != 1 || lastW&ET == 0 {
			t.Fatalf("reads %d (%v), writes %d (%v)", nr, lastR, nw, lastW)
		}
		must(t, rev.Del())
		unix.Close(p0)
		must(t, b.Loop(LoopNonBlock|LoopOnce))
		must(t, b.Loop(LoopNonBlock|LoopOnce))
		if nw != 2 || lastW&ET == 0 {
			t.Fatalf("after close: writes %d (%v), want 2 with ET", nw, lastW)
		}
	})
}
