package ratelimit

import (
	"testing"
	"time"
)

// Fairness: resumption starts at a random member every time (libevent's
// FOREACH_RANDOM_ORDER in bev_group_unsuspend_reading_), wraps around in membership order,
// and over many ticks every member is first about equally often.
func TestGroupResumeOrderIsFair(t *testing.T) {
	const (
		n     = 10
		ticks = 5000
		tick  = 100 * time.Millisecond
	)
	g, ms, log := newGroupWith(t, mustConfig(t, 1000, 1000, 1000, 1000, tick), n)
	first := make([]int, n)
	for k := 1; k <= ticks; k++ {
		ms[k%n].ChargeRead(g.ReadLimit()) // empty the bucket: suspend
		if o := log.take(); len(o) != n || o[0] != 0 {
			t.Fatalf("tick %d: suspension order %v, want members in order", k, o)
		}
		g.Refill(t0.Add(time.Duration(k) * tick))
		o := log.take()
		if len(o) != n {
			t.Fatalf("tick %d: %d members resumed, want %d", k, len(o), n)
		}
		for i := range o { // a rotation of the membership order
			if o[i] != (o[0]+i)%n {
				t.Fatalf("tick %d: resume order %v is not a rotation", k, o)
			}
		}
		first[o[0]]++
	}
	// Expect ticks/n = 500 each; with a fixed seed the outcome is deterministic, and the
	// bound is loose enough for any reasonable generator (≈ 7 standard deviations).
	for i, c := range first {
		if c < 350 || c > 650 {
			t.Errorf("member %d was first %d times out of %d, want about %d", i, c, ticks, ticks/n)
		}
	}
	t.Logf("first counts: %v", first)
	for _, m := range ms {
		m.LeaveGroup()
	}
}
