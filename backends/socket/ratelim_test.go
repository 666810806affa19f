//go:build linux

package socket

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/ratelimit"
)

// End-to-end tests of the rate-limit wiring on real socket bufferevents (libevent's
// bufferevent_ratelim.c as driven by bufferevent_sock.c). Most use a one-hour tick, so no
// refill happens during the test and every byte count is exact.

const hour = time.Hour

// Mirrors libevent's per-bufferevent bucket rules (bufferevent_set_rate_limit,
// bufferevent_get_write_limit, bufferevent_decrement_write_limit): a bucket starts at the
// rate, not the burst; the write side stops when it is empty and resumes when a manual
// decrement refills it; removing the limit lets everything through.
func TestRateLimitWriteBucket(t *testing.T) {
	base := newBase(t)
	w, r := rlPair(t, base, 0)
	got := sink(t, r)
	cfg := rlCfg(t, 1000, 4000, 1500, 6000, hour)
	if err := w.SetRateLimit(cfg); err != nil {
		t.Fatal(err)
	}
	if w.RateLimit() != cfg {
		t.Fatalf("RateLimit() = %v; want %v", w.RateLimit(), cfg)
	}
	if rl, wl := w.ReadLimit(), w.WriteLimit(); rl != 1000 || wl != 1500 {
		t.Fatalf("initial limits %d/%d; want the rates 1000/1500, not the bursts", rl, wl)
	}
	if n := w.MaxToWrite(); n != 1500 {
		t.Fatalf("MaxToWrite = %d; want 1500", n)
	}
	if n := w.MaxToRead(); n != 1000 {
		t.Fatalf("MaxToRead = %d; want 1000", n)
	}
	if n := r.MaxToRead(); n != bufferevent.DefaultMaxSingle {
		t.Fatalf("unlimited MaxToRead = %d; want %d", n, bufferevent.DefaultMaxSingle)
	}
	if l := r.ReadLimit(); l != math.MaxInt64 {
		t.Fatalf("unlimited ReadLimit = %d; want MaxInt64", l)
	}

	const total = 100 << 10
	fill(t, w, total)
	runSettled(t, base, 100*time.Millisecond, func() bool { return got.Load() >= 1500 })
	if g := got.Load(); g != 1500 {
		t.Fatalf("received %d bytes; want exactly the write rate, 1500", g)
	}
	if l := w.WriteLimit(); l != 0 {
		t.Fatalf("WriteLimit after draining = %d; want 0", l)
	}
	if n := w.MaxToWrite(); n != 0 {
		t.Fatalf("MaxToWrite while empty = %d; want 0", n)
	}
	if n := w.Output().Len(); n != total-1500 {
		t.Fatalf("output holds %d; want %d", n, total-1500)
	}

	// A negative decrement refills and resumes writing.
	if err := w.DecrementWriteLimit(-700); err != nil {
		t.Fatal(err)
	}
	runSettled(t, base, 100*time.Millisecond, func() bool { return got.Load() >= 2200 })
	if g := got.Load(); g != 2200 {
		t.Fatalf("after refilling 700: received %d; want 2200", g)
	}
	// A positive one pushes the bucket below zero: nothing moves.
	if err := w.DecrementWriteLimit(300); err != nil {
		t.Fatal(err)
	}
	if l := w.WriteLimit(); l != -300 {
		t.Fatalf("WriteLimit = %d; want -300", l)
	}
	runSettled(t, base, 50*time.Millisecond, func() bool { return got.Load() >= 2200 })
	if g := got.Load(); g != 2200 {
		t.Fatalf("with a deficit: received %d; want 2200", g)
	}
	// Refilling only up to zero keeps the direction suspended (libevent suspends at <= 0).
	if err := w.DecrementWriteLimit(-300); err != nil {
		t.Fatal(err)
	}
	runSettled(t, base, 50*time.Millisecond, func() bool { return got.Load() >= 2200 })
	if g := got.Load(); g != 2200 {
		t.Fatalf("at exactly 0: received %d; want 2200", g)
	}
	// Setting the same config again is a no-op (the bucket keeps its level).
	if err := w.SetRateLimit(cfg); err != nil {
		t.Fatal(err)
	}
	if l := w.WriteLimit(); l != 0 {
		t.Fatalf("same config again: WriteLimit = %d; want 0 (unchanged)", l)
	}

	// SetRateLimit(nil) removes the limit: everything flows.
	if err := w.SetRateLimit(nil); err != nil {
		t.Fatal(err)
	}
	if w.RateLimit() != nil || w.WriteLimit() != math.MaxInt64 {
		t.Fatalf("after SetRateLimit(nil): cfg %v, WriteLimit %d", w.RateLimit(), w.WriteLimit())
	}
	if !runUntil(t, base, 10*time.Second, func() bool { return got.Load() == total }) {
		t.Fatalf("after removing the limit: received %d of %d", got.Load(), total)
	}
	if err := w.DecrementWriteLimit(1); !errors.Is(err, ratelimit.ErrNoConfig) {
		t.Fatalf("DecrementWriteLimit without a limit: %v; want ErrNoConfig", err)
	}
	if err := w.DecrementReadLimit(1); !errors.Is(err, ratelimit.ErrNoConfig) {
		t.Fatalf("DecrementReadLimit without a limit: %v; want ErrNoConfig", err)
	}
}

// The read side: a limited reader takes exactly its bucket from a socket that holds more,
// then stops reading (the bytes stay in the kernel); decrements and reconfiguration behave
// as for writing (libevent's bufferevent_decrement_read_limit; reconfiguring only clips
// the level to the new burst).
func TestRateLimitReadBucket(t *testing.T) {
	base := newBase(t)
	w, r := rlPair(t, base, 0)
	got := sink(t, r)
	cfg := rlCfg(t, 1000, 4000, 1000, 4000, hour)
	if err := r.SetRateLimit(cfg); err != nil {
		t.Fatal(err)
	}
	fill(t, w, 64<<10)
	runSettled(t, base, 100*time.Millisecond, func() bool { return got.Load() >= 1000 })
	if g := got.Load(); g != 1000 {
		t.Fatalf("received %d; want exactly the read rate, 1000", g)
	}
	if n := r.MaxToRead(); n != 0 {
		t.Fatalf("MaxToRead while empty = %d; want 0", n)
	}
	if err := r.DecrementReadLimit(-5000); err != nil {
		t.Fatal(err)
	}
	// A manual refill may exceed the burst; a new config clips it down to the new burst.
	if l := r.ReadLimit(); l != 5000 {
		t.Fatalf("ReadLimit = %d; want 5000", l)
	}
	small := rlCfg(t, 500, 2000, 500, 2000, hour)
	if err := r.SetRateLimit(small); err != nil {
		t.Fatal(err)
	}
	if l := r.ReadLimit(); l != 2000 {
		t.Fatalf("after a config with burst 2000: ReadLimit = %d; want 2000", l)
	}
	runSettled(t, base, 100*time.Millisecond, func() bool { return got.Load() >= 3000 })
	if g := got.Load(); g != 3000 {
		t.Fatalf("received %d; want 3000", g)
	}
	// The write side of r is untouched by reading.
	if l := r.WriteLimit(); l != 1000 {
		t.Fatalf("WriteLimit = %d; want 1000 (its level, below the new burst)", l)
	}
}

// The refill timer: with a real tick, a bufferevent whose bucket ran dry resumes by itself
// at the next tick, and over any period it never gets more than the initial fill plus one
// rate per tick crossed. Both directions are limited here, on both ends.
func TestRateLimitRefillTimer(t *testing.T) {
	base := newBase(t)
	w, r := rlPair(t, base, 0)
	const rate, tick, total = 2000, 20 * time.Millisecond, 30000
	cfg := rlCfg(t, rate, rate, rate, rate, tick)
	start := time.Now()
	if err := w.SetRateLimit(cfg); err != nil {
		t.Fatal(err)
	}
	if err := r.SetRateLimit(cfg); err != nil {
		t.Fatal(err)
	}
	var got int64
	var maxExcess int64
	buf := make([]byte, 64<<10)
	if err := r.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		n, _ := bev.Read(buf)
		got += int64(n)
		// Credit available by now: the initial rate plus one rate per tick crossed, with
		// one tick of slack for the loop's cached time and the tick grid's origin.
		ticks := int64(time.Since(start)/tick) + 2
		if ex := got - rate*ticks; ex > maxExcess {
			maxExcess = ex
		}
	}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.Enable(bufferevent.Read); err != nil {
		t.Fatal(err)
	}
	fill(t, w, total)
	if !runUntil(t, base, 20*time.Second, func() bool { return got == total }) {
		t.Fatalf("received %d of %d: the refill timer did not resume the transfer", got, total)
	}
	elapsed := time.Since(start)
	t.Logf("%d bytes at %d bytes per %v took %v", total, rate, tick, elapsed)
	if maxExcess > 0 {
		t.Errorf("received up to %d bytes more than the buckets allowed", maxExcess)
	}
	// total bytes need total/rate - 1 refills.
	if min := time.Duration(total/rate-1) * tick; elapsed < min {
		t.Errorf("transfer took %v; the limit allows no less than %v", elapsed, min)
	}
}

// Mirrors libevent's group semantics (bufferevent_rate_limit_group_*): shares, suspension of
// every member when the group's bucket empties, totals, manual decrements that suspend and
// resume everyone, min share, membership rules, and Close refusing a group with members.
func TestRateLimitGroupMembership(t *testing.T) {
	base := newBase(t)
	const rate = 3000
	rg, err := bufferevent.NewRateLimitGroup(base, rlCfg(t, rate, rate, rate, rate, hour))
	if err != nil {
		t.Fatal(err)
	}
	g := rg.Group()
	if g.ReadLimit() != rate || g.WriteLimit() != rate {
		t.Fatalf("group starts at %d/%d; want the rate %d", g.ReadLimit(), g.WriteLimit(), rate)
	}
	if g.MinShare() != ratelimit.DefaultMinShare {
		t.Fatalf("MinShare = %d; want %d", g.MinShare(), ratelimit.DefaultMinShare)
	}
	const n = 3
	var ws [n]*bufferevent.BufferEvent
	var counts [n]interface{ Load() int64 }
	sum := func() (s int64) {
		for _, c := range counts {
			s += c.Load()
		}
		return s
	}
	for i := range ws {
		w, r := rlPair(t, base, 0)
		ws[i] = w
		counts[i] = sink(t, r)
		if err := w.JoinGroup(rg); err != nil {
			t.Fatal(err)
		}
		if mg, err := w.Group(); err != nil || mg != g {
			t.Fatalf("Group() = %v, %v", mg, err)
		}
	}
	for _, w := range ws {
		fill(t, w, 50<<10)
	}
	if g.Len() != n {
		t.Fatalf("Len = %d; want %d", g.Len(), n)
	}
	runSettled(t, base, 100*time.Millisecond, func() bool { return sum() >= rate })
	total := sum()
	// Each transfer takes at most max(level/n, min share) while the level is positive, so
	// only the last one can overshoot, by less than the min share.
	if total < rate || total >= rate+ratelimit.DefaultMinShare {
		t.Fatalf("group moved %d bytes; want [%d, %d)", total, rate, rate+ratelimit.DefaultMinShare)
	}
	for i, c := range counts {
		if c.Load() == 0 {
			t.Errorf("member %d got nothing of the group's bucket", i)
		}
	}
	if _, wr := g.Totals(); wr != uint64(total) {
		t.Fatalf("Totals written = %d; want %d", wr, total)
	}
	if _, ws := g.Suspended(); !ws || g.WriteLimit() > 0 {
		t.Fatalf("group not suspended: write suspended %v, level %d", ws, g.WriteLimit())
	}
	for i, w := range ws {
		if m := w.MaxToWrite(); m != 0 {
			t.Fatalf("member %d: MaxToWrite %d while the group is suspended", i, m)
		}
		// The member's own (absent) limit is not the group's.
		if l := w.WriteLimit(); l != math.MaxInt64 {
			t.Fatalf("member %d: WriteLimit %d; want MaxInt64 (no per-connection limit)", i, l)
		}
	}

	// A manual refill resumes everyone and does not count in the totals.
	level := g.WriteLimit()
	g.DecrementWrite(-6000)
	if _, wr := g.Totals(); wr != uint64(total) {
		t.Fatalf("manual decrement changed the totals to %d", wr)
	}
	runSettled(t, base, 100*time.Millisecond, func() bool { return sum()-total >= level+6000 })
	moved := sum() - total
	if want := level + 6000; moved < want || moved >= want+ratelimit.DefaultMinShare {
		t.Fatalf("after refilling 6000 at level %d: moved %d; want [%d, %d)", level, moved, want, want+ratelimit.DefaultMinShare)
	}
	total = sum()

	// A manual drain suspends everyone; a refill that leaves the level ≤ 0 does not resume.
	g.DecrementWrite(g.WriteLimit()) // up to exactly 0: still suspended
	if l := g.WriteLimit(); l != 0 {
		t.Fatalf("level %d; want 0", l)
	}
	runFor(t, base, 50*time.Millisecond)
	if s := sum(); s != total {
		t.Fatalf("group at level %d moved %d bytes", g.WriteLimit(), s-total)
	}

	// Min share: a larger one makes fewer, larger transfers; the overshoot is below it.
	if err := g.SetMinShare(-1); !errors.Is(err, ratelimit.ErrInvalidMinShare) {
		t.Fatalf("SetMinShare(-1): %v", err)
	}
	if err := g.SetMinShare(1000); err != nil {
		t.Fatal(err)
	}
	if g.MinShare() != 1000 {
		t.Fatalf("MinShare = %d; want 1000", g.MinShare())
	}
	if err := g.SetMinShare(1 << 20); err != nil {
		t.Fatal(err)
	}
	if g.MinShare() != rate {
		t.Fatalf("MinShare = %d; want it capped at the rate %d", g.MinShare(), rate)
	}
	if err := g.SetMinShare(1000); err != nil {
		t.Fatal(err)
	}
	level = g.WriteLimit()
	g.DecrementWrite(-2000 + level) // level 2000
	runSettled(t, base, 100*time.Millisecond, func() bool { return sum()-total >= 2000 })
	if moved := sum() - total; moved < 2000 || moved >= 3000 {
		t.Fatalf("with min share 1000 and level 2000: moved %d; want [2000, 3000)", moved)
	}
	total = sum()

	// SetConfig clips the level to the new burst.
	g.DecrementWrite(-1 << 20)
	if err := rg.SetConfig(rlCfg(t, 100, 500, 100, 500, hour)); err != nil {
		t.Fatal(err)
	}
	if l := g.WriteLimit(); l != 500 {
		t.Fatalf("after SetConfig with burst 500: WriteLimit = %d; want 500", l)
	}
	if g.MinShare() != 100 {
		t.Fatalf("MinShare = %d; want 100 (1000 capped by the new rates)", g.MinShare())
	}
	runSettled(t, base, 100*time.Millisecond, func() bool { return sum()-total >= 500 })
	if moved := sum() - total; moved < 500 || moved >= 600 {
		t.Fatalf("after SetConfig: moved %d; want [500, 600)", moved)
	}

	// Leaving the group lifts its suspension: member 0 sends everything it has.
	c1, c2 := counts[1].Load(), counts[2].Load()
	if err := ws[0].LeaveGroup(); err != nil {
		t.Fatal(err)
	}
	if g.Len() != n-1 {
		t.Fatalf("Len after leave = %d", g.Len())
	}
	if _, err := ws[0].Group(); err == nil {
		t.Fatal("Group() after LeaveGroup: no error")
	}
	if !runUntil(t, base, 10*time.Second, func() bool { return ws[0].Output().Len() == 0 }) {
		t.Fatalf("member that left still holds %d bytes", ws[0].Output().Len())
	}
	if counts[1].Load() != c1 || counts[2].Load() != c2 {
		t.Fatalf("members still in the suspended group moved bytes")
	}

	// At most one group: joining another leaves the first.
	rg2, err := bufferevent.NewRateLimitGroup(base, rlCfg(t, 1, 1, 1, 1, hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := ws[1].JoinGroup(rg2); err != nil {
		t.Fatal(err)
	}
	if g.Len() != 1 || rg2.Group().Len() != 1 {
		t.Fatalf("after switching groups: Len %d and %d; want 1 and 1", g.Len(), rg2.Group().Len())
	}
	if err := ws[1].JoinGroup(nil); !errors.Is(err, ratelimit.ErrNilGroup) {
		t.Fatalf("JoinGroup(nil): %v", err)
	}

	// Closing a group with members fails and changes nothing; closing the member leaves.
	if err := rg.Close(); !errors.Is(err, ratelimit.ErrGroupHasMembers) {
		t.Fatalf("Close with a member: %v; want ErrGroupHasMembers", err)
	}
	if err := ws[2].Close(); err != nil {
		t.Fatal(err)
	}
	if g.Len() != 0 {
		t.Fatalf("Len after closing the last member = %d", g.Len())
	}
	if err := rg.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ws[0].JoinGroup(rg); !errors.Is(err, ratelimit.ErrGroupClosed) {
		t.Fatalf("joining a closed group: %v; want ErrGroupClosed", err)
	}
	if err := ws[1].Close(); err != nil {
		t.Fatal(err)
	}
	if err := rg2.Close(); err != nil {
		t.Fatal(err)
	}
}

// A member inherits the group's suspension when it joins, and a per-connection limit and a
// group limit combine: the smaller allowance wins (libevent's bufferevent_get_write_max_).
func TestRateLimitGroupAndOwnLimit(t *testing.T) {
	base := newBase(t)
	rg, err := bufferevent.NewRateLimitGroup(base, rlCfg(t, 5000, 5000, 5000, 5000, hour))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := rg.Close(); err != nil {
			t.Error(err)
		}
	}()
	w, r := rlPair(t, base, 0)
	defer closeQuiet(w)
	got := sink(t, r)
	if err := w.SetRateLimit(rlCfg(t, 700, 700, 700, 700, hour)); err != nil {
		t.Fatal(err)
	}
	if err := w.JoinGroup(rg); err != nil {
		t.Fatal(err)
	}
	if m := w.MaxToWrite(); m != 700 {
		t.Fatalf("MaxToWrite = %d; want the per-connection 700", m)
	}
	fill(t, w, 20000)
	runSettled(t, base, 100*time.Millisecond, func() bool { return got.Load() >= 700 })
	if g := got.Load(); g != 700 {
		t.Fatalf("received %d; want 700 (own bucket smaller than the group's)", g)
	}
	if l := rg.Group().WriteLimit(); l != 4300 {
		t.Fatalf("group level %d; want 4300 (the group is charged too)", l)
	}
	// Now the group is the tighter one.
	if err := w.DecrementWriteLimit(-100000); err != nil {
		t.Fatal(err)
	}
	runSettled(t, base, 100*time.Millisecond, func() bool { return got.Load() >= 5000 })
	if g := got.Load(); g != 5000 {
		t.Fatalf("received %d; want 5000 (the group's bucket)", g)
	}
	if l := w.WriteLimit(); l != 100700-5000 {
		t.Fatalf("own level %d; want %d", l, 100700-5000)
	}
	// A bufferevent joining a suspended group is suspended at once.
	w2, r2 := rlPair(t, base, 0)
	defer closeQuiet(w2)
	got2 := sink(t, r2)
	if err := w2.JoinGroup(rg); err != nil {
		t.Fatal(err)
	}
	fill(t, w2, 1000)
	runFor(t, base, 50*time.Millisecond)
	if g := got2.Load(); g != 0 {
		t.Fatalf("a member that joined a suspended group sent %d bytes", g)
	}
	// Removing the per-connection limit keeps the membership.
	if err := w.SetRateLimit(nil); err != nil {
		t.Fatal(err)
	}
	if rg.Group().Len() != 2 {
		t.Fatalf("SetRateLimit(nil) changed membership: Len %d", rg.Group().Len())
	}
	if err := w.LeaveGroup(); err != nil {
		t.Fatal(err)
	}
	if err := w2.LeaveGroup(); err != nil {
		t.Fatal(err)
	}
	if !runUntil(t, base, 10*time.Second, func() bool { return got2.Load() == 1000 && got.Load() == 20000 }) {
		t.Fatalf("after leaving: received %d and %d", got.Load(), got2.Load())
	}
}

// The group's refill timer: a group that ran dry resumes its members at its next tick
// (libevent's bev_group_refill_callback_), and over a run the group never passes more
// than its initial fill plus one rate per tick.
func TestRateLimitGroupRefill(t *testing.T) {
	base := newBase(t)
	const rate, tick = 1000, 20 * time.Millisecond
	start := time.Now()
	rg, err := bufferevent.NewRateLimitGroup(base, rlCfg(t, rate, rate, rate, rate, tick))
	if err != nil {
		t.Fatal(err)
	}
	var ws [2]*bufferevent.BufferEvent
	var got [2]interface{ Load() int64 }
	for i := range ws {
		w, r := rlPair(t, base, 0)
		ws[i], got[i] = w, sink(t, r)
		if err := w.JoinGroup(rg); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range ws {
		fill(t, w, 5*rate)
	}
	if !runUntil(t, base, 20*time.Second, func() bool { return got[0].Load()+got[1].Load() == 10*rate }) {
		t.Fatalf("group refills: received %d of %d", got[0].Load()+got[1].Load(), 10*rate)
	}
	if el, min := time.Since(start), 8*tick; el < min {
		t.Errorf("10 × rate took %v; the group allows no less than %v", el, min)
	}
	if _, wr := rg.Group().Totals(); wr != 10*rate {
		t.Errorf("Totals written = %d; want %d", wr, 10*rate)
	}
	rg.Group().ResetTotals()
	if r, w := rg.Group().Totals(); r != 0 || w != 0 {
		t.Errorf("Totals after reset = %d, %d", r, w)
	}
	for _, w := range ws {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := rg.Close(); err != nil {
		t.Fatal(err)
	}
}
