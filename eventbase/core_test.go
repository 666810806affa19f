//go:build unix

package eventbase

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Mirrors libevent test/regress.c "main/simpleread".
func TestSimpleRead(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		b := newBase(t, m)
		r, w := socketpair(t)
		write(t, w, "Simple read test")
		unix.Shutdown(w, unix.SHUT_WR)
		var got []byte
		calls := 0
		var ev *Event
		ev, err := b.NewEvent(r, Read, func(fd int, what What) {
			calls++
			if what != Read {
				t.Errorf("what = %v, want Read", what)
			}
			buf := make([]byte, 256)
			n, _ := unix.Read(fd, buf)
			if n > 0 {
				got = append(got, buf[:n]...)
				must(t, ev.Add())
			}
		})
		must(t, err)
		must(t, ev.Add())
		must(t, b.Dispatch())
		if string(got) != "Simple read test" {
			t.Fatalf("read %q", got)
		}
		if calls != 2 {
			t.Fatalf("calls = %d, want 2 (data then EOF)", calls)
		}
		if !b.ExitedEmpty() {
			t.Fatal("ExitedEmpty() = false after running out of events")
		}
	})
}

// Mirrors libevent test/regress.c "main/simpletimeout".
func TestSimpleTimeout(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		b := newBase(t, m)
		start := time.Now()
		fired := 0
		ev, err := b.NewTimer(func() { fired++ })
		must(t, err)
		must(t, ev.AddTimeout(20*time.Millisecond))
		must(t, b.Dispatch())
		if fired != 1 {
			t.Fatalf("fired %d", fired)
		}
		if el := time.Since(start); el < 20*time.Millisecond {
			t.Fatalf("fired after %v, before the 20ms timeout", el)
		}
	})
}

func TestRunInLoopAndDefer(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		b := newBase(t, m)
		var order []int
		keep, _ := b.NewTimer(func() {})
		must(t, keep.AddTimeout(time.Hour))
		go func() {
			b.RunInLoop(func() {
				order = append(order, 1)
				b.Defer(func() { order = append(order, 3) })
				b.RunInLoop(func() {
					order = append(order, 4)
					b.LoopExit(0)
				})
				order = append(order, 2)
			})
		}()
		must(t, b.Dispatch())
		if len(order) != 4 || order[0] != 1 || order[1] != 2 || order[2] != 3 || order[3] != 4 {
			t.Fatalf("order = %v", order)
		}
		if !b.GotExit() {
			t.Fatal("GotExit false")
		}
	})
}
