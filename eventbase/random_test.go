//go:build unix

package eventbase

import (
	"math/rand/v2"
	"testing"
	"time"
)

// Mirrors libevent test/test-time.c: many timers with random timeouts, some
// deleted, re-armed or re-prioritised from callbacks. No timer fires
// before its deadline (by the base's clock), none fires twice or after
// being deleted, and the base's structures stay consistent throughout.
func TestRandomTimers(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 300
	}
	eachMethod(t, func(t *testing.T, m string) {
		b := newBase(t, m, Config{Priorities: 3})
		rng := rand.New(rand.NewPCG(1, 2))
		commons := []time.Duration{3 * time.Millisecond, 7 * time.Millisecond}
		for _, d := range commons {
			_, err := b.CommonTimeout(d)
			must(t, err)
		}
		type timer struct {
			ev       *Event
			deadline time.Time
			fired    int
		}
		timers := make([]*timer, n)
		fired, deleted, checks := 0, 0, 0
		pick := func() time.Duration {
			if rng.IntN(3) == 0 {
				return commons[rng.IntN(len(commons))]
			}
			return time.Duration(rng.IntN(10_000)) * time.Microsecond
		}
		arm := func(tm *timer) {
			d := pick()
			tm.deadline = b.Now().Add(d)
			must(t, tm.ev.AddTimeout(d))
		}
		for i := range timers {
			tm := &timer{}
			timers[i] = tm
			tm.ev, _ = b.NewTimer(func() {
				now := time.Now()
				if now.Before(tm.deadline) {
					t.Errorf("timer fired %v early", tm.deadline.Sub(now))
				}
				tm.fired++
				fired++
				switch rng.IntN(8) {
				case 0: // re-arm itself
					arm(tm)
					fired--
					tm.fired--
				case 1: // delete another
					o := timers[rng.IntN(n)]
					if o.ev.flags&flTimeout != 0 { // armed, not yet expired
						must(t, o.ev.Del())
						deleted++
					}
				case 2: // remove another's timer
					o := timers[rng.IntN(n)]
					if o.ev.flags&flTimeout != 0 {
						must(t, o.ev.RemoveTimer())
						deleted++
					}
				}
				if checks++; checks%25 == 0 {
					if err := b.checkInvariants(); err != nil {
						t.Fatal(err)
					}
				}
			})
			must(t, tm.ev.SetPriority(rng.IntN(3)))
			arm(tm)
		}
		if err := b.checkInvariants(); err != nil {
			t.Fatal(err)
		}
		must(t, b.Dispatch())
		if fired+deleted != n {
			t.Fatalf("%d fired + %d deleted != %d timers", fired, deleted, n)
		}
		for i, tm := range timers {
			if tm.fired > 1 {
				t.Fatalf("timer %d fired %d times", i, tm.fired)
			}
		}
		if err := b.checkInvariants(); err != nil {
			t.Fatal(err)
		}
	})
}
