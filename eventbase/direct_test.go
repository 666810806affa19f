//go:build unix

package eventbase

import (
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// readyPair returns two persistent read events on two readable sockets; each
// drains its socket, records its name in *order and then calls then(name).
func readyPair(t *testing.T, b *Base, order *[]string, then func(name string)) (map[string]*Event, map[string]int) {
	t.Helper()
	evs := map[string]*Event{}
	fds := map[string]int{}
	for _, name := range []string{"a", "b"} {
		r, w := socketpair(t)
		write(t, w, "x")
		fds[name] = r
		ev, err := b.NewEvent(r, Read|Persist, func(fd int, _ What) {
			var buf [8]byte
			_, _ = unix.Read(fd, buf[:])
			*order = append(*order, name)
			then(name)
		})
		must(t, err)
		must(t, ev.Add())
		evs[name] = ev
	}
	return evs, fds
}

func other(name string) string {
	if name == "a" {
		return "b"
	}
	return "a"
}

// TestDispatchBatchBreak: a loop break in the first ready callback leaves the
// other ready event active for the next Loop (libevent's event_base_loopbreak
// inside event_process_active), with or without direct dispatch.
func TestDispatchBatchBreak(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		b := newBase(t, m)
		var order []string
		evs, _ := readyPair(t, b, &order, func(string) {
			if len(order) == 1 {
				b.LoopBreak()
			}
		})
		must(t, b.Loop(0))
		if len(order) != 1 || !b.GotBreak() {
			t.Fatalf("after the break: ran %v (break %v), want one callback", order, b.GotBreak())
		}
		second := other(order[0])
		if p, _ := evs[second].Pending(Read); p&Read == 0 {
			t.Fatalf("the other ready event is not pending after the break")
		}
		must(t, b.Loop(LoopOnce))
		if !slices.Equal(order, []string{order[0], second}) {
			t.Fatalf("next Loop ran %v, want %s then %s", order, order[0], second)
		}
		for _, ev := range evs {
			ev.Free()
		}
	})
}

// TestDispatchBatchAddedDuringBatch: an event added by a callback on an fd
// that the same poll reported ready does not run in that batch (libevent
// activates the whole batch before running any callback); it runs on the
// next poll. The event it replaced, deleted by the callback, never runs.
func TestDispatchBatchAddedDuringBatch(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		b := newBase(t, m)
		var order []string
		var evs map[string]*Event
		var fds map[string]int
		newRuns := 0
		var added *Event
		evs, fds = readyPair(t, b, &order, func(name string) {
			if len(order) != 1 {
				return
			}
			o := other(name)
			must(t, evs[o].Del())
			ev, err := b.NewEvent(fds[o], Read|Persist, func(fd int, _ What) {
				var buf [8]byte
				_, _ = unix.Read(fd, buf[:])
				newRuns++
			})
			must(t, err)
			must(t, ev.Add())
			added = ev
		})
		must(t, b.Loop(LoopOnce))
		if len(order) != 1 || newRuns != 0 {
			t.Fatalf("first batch ran %v and the added event %d times, want one callback and 0", order, newRuns)
		}
		must(t, b.Loop(LoopOnce))
		if len(order) != 1 || newRuns != 1 {
			t.Fatalf("second batch: ran %v and the added event %d times, want the added event once", order, newRuns)
		}
		for _, ev := range evs {
			ev.Free()
		}
		added.Free()
	})
}

// TestDispatchBatchOrder: an event activated by the first ready callback runs
// after every event of the batch, deleting a ready event of the batch keeps
// it from running, and a loop without priorities or limits keeps this order.
func TestDispatchBatchOrder(t *testing.T) {
	for _, del := range []bool{false, true} {
		eachMethod(t, func(t *testing.T, m string) {
			b := newBase(t, m)
			var order []string
			tm, err := b.NewTimer(func() { order = append(order, "timer") })
			must(t, err)
			var evs map[string]*Event
			evs, _ = readyPair(t, b, &order, func(name string) {
				if len(order) == 1 {
					tm.Active(Timeout, 1)
					if del {
						must(t, evs[other(name)].Del())
					}
				}
			})
			must(t, b.Loop(LoopOnce))
			want := []string{order[0], other(order[0]), "timer"}
			if del {
				want = []string{order[0], "timer"}
			}
			if !slices.Equal(order, want) {
				t.Fatalf("delete %v: ran %v, want %v", del, order, want)
			}
			for _, ev := range evs {
				ev.Free()
			}
			tm.Free()
		})
	}
}

// TestDispatchBatchContinue: a LoopContinue in the first ready callback stops
// the rest of the batch for this turn: the turn's deferred functions run, the
// loop polls again, and the other ready event (still active) runs in the next
// turn — identically with direct dispatch (epoll, one priority) and through
// the active queue (epoll with two priorities, poll).
// Mirrors libevent's event_base_loopcontinue inside
// event_process_active_single_queue.
func TestDispatchBatchContinue(t *testing.T) {
	cases := []struct {
		name string
		m    string
		cfg  Config
	}{
		{"epoll-direct", "epoll", Config{}},
		{"epoll-queued", "epoll", Config{Priorities: 2}},
		{"poll", "poll", Config{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !slices.Contains(methods(t), c.m) {
				t.Skipf("no %s poller here", c.m)
			}
			b := newBase(t, c.m, c.cfg)
			var order []string
			var evs map[string]*Event
			evs, _ = readyPair(t, b, &order, func(string) {
				if len(order) == 1 {
					b.Defer(func() { order = append(order, "deferred") })
					b.LoopContinue()
				}
			})
			must(t, b.Loop(LoopOnce))
			want := []string{order[0], "deferred", other(order[0])}
			if !slices.Equal(order, want) {
				t.Fatalf("ran %v, want %v (the continue must stop the batch)", order, want)
			}
			for _, ev := range evs {
				ev.Free()
			}
		})
	}
}
