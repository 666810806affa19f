//go:build linux

package socket

import (
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
)

// Changing a group's config to a shorter tick takes effect at once: the group's refill
// timer is re-armed for the new tick instead of waiting for the old one (libevent's
// bufferevent_rate_limit_group_set_cfg re-adds the refill event when the tick changes).
func TestRateLimitGroupRetick(t *testing.T) {
	base := newBase(t)
	const rate, tick = 1000, 20 * time.Millisecond
	rg, err := bufferevent.NewRateLimitGroup(base, rlCfg(t, rate, rate, rate, rate, hour))
	if err != nil {
		t.Fatal(err)
	}
	w, r := rlPair(t, base, 0)
	got := sink(t, r)
	if err := w.JoinGroup(rg); err != nil {
		t.Fatal(err)
	}
	fill(t, w, 5*rate)
	runSettled(t, base, 50*time.Millisecond, func() bool { return got.Load() >= rate })
	if g := got.Load(); g < rate || g >= rate+64 {
		t.Fatalf("received %d; want the group's first fill", g)
	}
	if err := rg.SetConfig(rlCfg(t, rate, rate, rate, rate, tick)); err != nil {
		t.Fatal(err)
	}
	if !runUntil(t, base, 3*time.Second, func() bool { return got.Load() == 5*rate }) {
		t.Fatalf("after shortening the tick to %v: received %d of %d (the group's refill timer still waits for the old one-hour tick)",
			tick, got.Load(), 5*rate)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rg.Close(); err != nil {
		t.Fatal(err)
	}
}
