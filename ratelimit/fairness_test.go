package ratelimit

import (
	"math/rand/v2"
	"slices"
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

// Each tick, busy members transfer in an order that changes every tick (as a poller's
// ready order may, or may not); each takes whatever MaxToRead offers until the group
// suspends. Shares are cut from the level at the refill, rounded up, so every member gets
// one share per tick whatever the order: with a level that does not divide evenly the last
// to go gets up to n−1 bytes less, and nobody gets a second share. (libevent's level/n
// taken from the current level gives the first member level/n and the last one about a
// third of that, then min shares to whoever comes first again.)
func TestGroupSharesIgnoreTransferOrder(t *testing.T) {
	const tick = 100 * time.Millisecond
	tests := []struct {
		name      string
		n         int
		rate      int64
		minShare  int64
		debt      int64 // charged before the first tick, carried into it
		wantShare int64 // what every member but the last of a tick gets
	}{
		{name: "even split", n: 30, rate: 3000, minShare: 64, wantShare: 100},
		{name: "uneven split", n: 30, rate: 3000, minShare: 64, debt: 3050, wantShare: 99},
		{name: "seven members", n: 7, rate: 1000, minShare: 0, wantShare: 143},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustConfig(t, tt.rate, tt.rate, tt.rate, tt.rate, tick)
			g, ms, _ := newGroupWith(t, cfg, tt.n)
			if err := g.SetMinShare(tt.minShare); err != nil {
				t.Fatal(err)
			}
			ms[0].ChargeRead(tt.debt)
			order := make([]int, tt.n)
			for i := range order {
				order[i] = i
			}
			rng := rand.New(rand.NewPCG(3, 4))
			for k := 1; k <= 20; k++ {
				now := t0.Add(time.Duration(k) * tick)
				g.Refill(now)
				if r, _ := g.Suspended(); r {
					t.Fatalf("tick %d: still suspended at level %d", k, g.ReadLimit())
				}
				level := g.ReadLimit()
				rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
				got := make([]int64, tt.n)
				for round := 0; ; round++ {
					moved := false
					for _, i := range order {
						if s := ms[i].MaxToRead(now, 16384); s > 0 {
							ms[i].ChargeRead(s)
							got[i] += s
							moved = true
						}
					}
					if !moved {
						break
					}
					if round > 0 {
						t.Fatalf("tick %d: members transferred a second time: %v", k, got)
					}
				}
				var sum int64
				for j, i := range order {
					want := tt.wantShare
					if k > 1 || tt.debt == 0 {
						want = (level-1)/int64(tt.n) + 1
					}
					if j == tt.n-1 {
						want = level - sum // the remainder, capped by the level
					}
					if got[i] != want {
						t.Fatalf("tick %d: member %d (position %d) got %d, want %d (level %d): %v", k, i, j, got[i], want, level, got)
					}
					sum += got[i]
				}
				if sum != level || g.ReadLimit() != 0 {
					t.Fatalf("tick %d: members took %d of %d, level now %d", k, sum, level, g.ReadLimit())
				}
			}
			for _, m := range ms {
				m.LeaveGroup()
			}
		})
	}
}

// Manual decrements move the base the shares are cut from; joining and leaving re-divide
// it; a refill that credits a tick or a resumption takes a new snapshot.
func TestGroupShareBase(t *testing.T) {
	const tick = 100 * time.Millisecond
	g, ms, _ := newGroupWith(t, mustConfig(t, 3000, 12000, 3000, 12000, tick), 30)
	if err := g.SetMinShare(0); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		do   func()
		want int64 // ms[0].MaxToRead(now, 1<<20)
	}{
		{"start: ⌈3000/30⌉", func() {}, 100},
		{"a charge leaves the base", func() { ms[1].ChargeRead(1000) }, 100},
		{"the share is capped by the level", func() { ms[1].ChargeRead(1950) }, 50},
		{"a manual refill moves the base too: ⌈4450/30⌉", func() { g.DecrementRead(-1450) }, 149}, // level 1500
		{"a manual drain lowers it", func() { g.DecrementRead(1450) }, 50},
		{"a member leaves: ⌈3000/29⌉ capped at 50", func() { ms[29].LeaveGroup() }, 50},
		{"the next tick: ⌈(50+3000)/29⌉", func() { g.Refill(t0.Add(tick)) }, 106},
		{"a member joins: ⌈3050/30⌉", func() { _ = ms[29].JoinGroup(g, ms[29].m) }, 102},
		{"suspended: nothing", func() { ms[2].ChargeRead(3050) }, 0},
		{"resumed by a manual refill: ⌈600/30⌉", func() { g.DecrementRead(-600) }, 20},
	}
	now := t0.Add(tick / 2)
	for _, s := range steps {
		s.do()
		if s.name == "the next tick: ⌈(50+3000)/29⌉" {
			now = t0.Add(tick)
		}
		if got := ms[0].MaxToRead(now, 1<<20); got != s.want {
			t.Fatalf("%s: share %d, want %d (level %d)", s.name, got, s.want, g.ReadLimit())
		}
	}
	for _, m := range ms {
		m.LeaveGroup()
	}
}

// While nothing is suspended the owner's timer may stop: members credit elapsed ticks
// when they ask for their shares, with the same arithmetic as Refill (whole ticks, capped
// at the burst). OnSuspend's function runs once per suspension, after the members are
// notified, and not when a suspended direction is charged again.
func TestGroupLazyRefillAndOnSuspend(t *testing.T) {
	const tick = 100 * time.Millisecond
	g, ms, log := newGroupWith(t, mustConfig(t, 300, 900, 300, 900, tick), 3)
	var woken []int // notifications seen when the hook ran
	g.OnSuspend(func() { woken = append(woken, len(log.take())) })

	ms[0].ChargeRead(250) // 50 left, not suspended
	if got := ms[1].MaxToRead(t0.Add(tick/2), 1<<20); got != 64 {
		t.Fatalf("share in the first tick %d, want the min share", got)
	}
	// Two and a half ticks later, without any Refill: 50 + 2×300 = 650.
	if got := ms[1].MaxToRead(t0.Add(5*tick/2), 1<<20); got != 217 || g.ReadLimit() != 650 {
		t.Fatalf("lazy refill: share %d level %d, want 217 and 650", got, g.ReadLimit())
	}
	// Much later: capped at the burst.
	if got := ms[2].MaxToWrite(t0.Add(100*tick), 1<<20); got != 300 || g.WriteLimit() != 900 {
		t.Fatalf("lazy refill: share %d level %d, want 300 and 900", got, g.WriteLimit())
	}
	if len(woken) != 0 {
		t.Fatalf("OnSuspend ran without a suspension: %v", woken)
	}
	ms[0].ChargeRead(900) // the write refill above credited reading too
	ms[1].ChargeRead(10)  // already suspended
	g.DecrementWrite(900)
	if want := []int{3, 3}; !slices.Equal(woken, want) {
		t.Fatalf("OnSuspend calls saw %v notifications, want %v", woken, want)
	}
	g.OnSuspend(nil)
	g.Refill(t0.Add(101 * tick))
	ms[0].ChargeRead(1000)
	if len(woken) != 2 {
		t.Fatal("OnSuspend(nil) did not remove the function")
	}
	for _, m := range ms {
		m.LeaveGroup()
	}
}
