//go:build unix

package eventbase

import (
	"testing"
	"time"
)

// FuzzEventOps applies a random sequence of operations (adds with heap and
// common timeouts, I/O registrations on shared fds, deletes, timer
// removals, activations, priority changes, finalizers, frees and
// non-blocking loop turns) to a few events and checks the base's invariants
// after every step; nothing may panic and every error must be one of the
// documented ones.
func FuzzEventOps(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13})
	f.Add([]byte{1, 17, 33, 49, 2, 18, 9, 25, 41, 6, 22, 38, 13, 29, 45})
	f.Add([]byte{5, 5, 5, 11, 11, 3, 3, 13, 8, 8, 0, 0, 7, 7, 12})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 400 {
			ops = ops[:400]
		}
		b := newBase(t, "poll", Config{Priorities: 3})
		if _, err := b.CommonTimeout(time.Millisecond); err != nil {
			t.Fatal(err)
		}
		p0, p1 := socketpair(t)
		fds := []int{p0, p1, -1}
		whats := []What{Read, Write | Persist, Persist, Read | Write, Timeout, Read | ET}
		const nev = 6
		var evs [nev]*Event
		for i := range evs {
			var err error
			evs[i], err = b.NewEvent(fds[i%len(fds)], whats[i%len(whats)], func(int, What) {})
			if err != nil {
				t.Fatal(err)
			}
		}
		// turn runs one bounded loop turn. Loop alone could run forever
		// here, as libevent's would: a persistent, always-writable event
		// at an urgent priority stays active and starves the others, so
		// neither LoopNonBlock nor LoopOnce ever finds the queues empty.
		turn := func() {
			_ = b.RunInLoop(b.LoopBreak)
			_ = b.Loop(LoopNonBlock)
		}
		for i, op := range ops {
			ev := evs[int(op>>4)%nev]
			switch op & 15 {
			case 0:
				_ = ev.Add()
			case 1:
				_ = ev.AddTimeout(time.Duration(op>>4) * 100 * time.Microsecond)
			case 2:
				_ = ev.AddTimeout(time.Millisecond) // common
			case 3:
				_ = ev.Del()
			case 4:
				_ = ev.RemoveTimer()
			case 5:
				ev.Active(Read, 1)
			case 6:
				_ = ev.SetPriority(int(op>>4) % 3)
			case 7, 8:
				turn()
			case 9:
				ev.Pending(Read | Write | Timeout)
			case 10:
				b.ActiveByFD(fds[int(op>>4)%len(fds)], Read|Timeout)
			case 11:
				if i%7 == 0 {
					_ = ev.Finalize(nil)
				}
			case 12:
				if i%11 == 0 {
					ev.Free()
				}
			case 13:
				b.Defer(func() {})
			default:
				b.Now()
			}
			if err := b.checkInvariants(); err != nil {
				t.Fatalf("after op %d (%#x): %v", i, op, err)
			}
		}
		for i := 0; i < 3; i++ {
			turn()
		}
		if err := b.checkInvariants(); err != nil {
			t.Fatal(err)
		}
	})
}
