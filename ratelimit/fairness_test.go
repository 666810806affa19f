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

// When the min share binds (here 512 > ⌈3000/30⌉), only about six members can transfer
// per tick. With a poller that reports members in the same order every tick, they would
// be the same six; turns make every busy member wait, suspended, after its transfer until
// the others had theirs, so over 50 ticks everyone gets the same to within one turn. Idle
// members do not hold the others back: a tick that ends with credit left starts a new
// round, and the busy members get the whole group rate.
func TestGroupTurnsWhenMinShareBinds(t *testing.T) {
	const tick = 100 * time.Millisecond
	tests := []struct {
		name string
		busy int // members 0..busy-1 always want to transfer; the others never do
	}{
		{name: "all busy", busy: 30},
		{name: "ten busy, twenty idle", busy: 10},
		{name: "three busy", busy: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, ms, _ := newGroupWith(t, mustConfig(t, 3000, 12000, 3000, 12000, tick), 30)
			if err := g.SetMinShare(512); err != nil {
				t.Fatal(err)
			}
			got := make([]int64, tt.busy)
			const ticks = 50
			for k := 1; k <= ticks; k++ {
				now := t0.Add(time.Duration(k) * tick)
				g.Refill(now)
				for moved := true; moved; { // the poller reports the same order every time
					moved = false
					for i := range tt.busy {
						if r, _ := ms[i].GroupSuspended(); r {
							continue
						}
						if s := ms[i].MaxToRead(now, 1<<20); s > 0 {
							ms[i].ChargeRead(s)
							got[i] += s
							moved = true
						}
					}
				}
			}
			lo, hi, sum := slices.Min(got), slices.Max(got), int64(0)
			for _, v := range got {
				sum += v
			}
			t.Logf("per member %v", got)
			if hi-lo > 512 {
				t.Errorf("members got between %d and %d bytes; want them within one turn (512)", lo, hi)
			}
			// The group credited 3000 per tick (the first tick's at the start); whatever
			// stays in the bucket at the end is at most the burst.
			if credited := int64(3000 * (ticks + 1)); sum < credited-12000 || sum > credited+512*int64(tt.busy) {
				t.Errorf("busy members moved %d bytes; the group credited %d", sum, credited)
			}
			for _, m := range ms {
				m.LeaveGroup()
			}
		})
	}
}

// A member that waits for its turn is suspended for the group (GroupSuspended), notified
// when it starts waiting and when the next round releases it; leaving while waiting
// forgets the wait; NeedsRefill reports waits so that the owner keeps its timer.
func TestGroupTurnNotifications(t *testing.T) {
	const tick = 100 * time.Millisecond
	g, ms, _ := newGroupWith(t, mustConfig(t, 1000, 1000, 1000, 1000, tick), 4) // ⌈1000/4⌉ < 512
	if err := g.SetMinShare(512); err != nil {
		t.Fatal(err)
	}
	var woken int
	g.OnSuspend(func() { woken++ })
	now := t0.Add(tick / 2)
	if s := ms[0].MaxToRead(now, 1<<20); s != 512 {
		t.Fatalf("first share %d, want the min share", s)
	}
	ms[0].ChargeRead(512) // 488 left
	// Asking again at once, nobody else having taken a turn: the others are idle, so a
	// new round starts and ms[0] goes on.
	if s := ms[0].MaxToRead(now, 1<<20); s != 512 {
		t.Fatalf("share of the only busy member %d, want the min share", s)
	}
	ms[0].ChargeRead(1) // its turn in the new round
	if s := ms[1].MaxToRead(now, 1<<20); s != 512 {
		t.Fatalf("ms[1] share %d, want the min share", s)
	}
	ms[1].ChargeRead(1) // 486 left
	expectNone(t, ms)
	if g.NeedsRefill() {
		t.Fatal("NeedsRefill with nothing suspended or waiting")
	}
	// ms[0] had its turn in this round and ms[1] took one since: ms[0] waits, is told
	// so, and the owner is woken once.
	if s := ms[0].MaxToRead(now, 1<<20); s != 0 {
		t.Fatalf("second share in the round %d, want 0", s)
	}
	expectNotified(t, ms, Read, 0)
	if r, w := ms[0].GroupSuspended(); !r || w {
		t.Fatalf("waiting member: GroupSuspended %v/%v, want true/false", r, w)
	}
	if r, _ := ms[1].GroupSuspended(); r {
		t.Fatal("a member that did not have its turn is suspended")
	}
	if !g.NeedsRefill() || woken != 1 {
		t.Fatalf("NeedsRefill %v, woken %d; want true, 1", g.NeedsRefill(), woken)
	}
	if s := ms[0].MaxToRead(now, 1<<20); s != 0 {
		t.Fatal("a waiting member got a share")
	}
	expectNone(t, ms) // no second notification for the same wait
	// The next tick ends with credit left (486 > 0, not suspended): a new round.
	g.Refill(t0.Add(tick))
	expectNotified(t, ms, Read, 0)
	if r, _ := ms[0].GroupSuspended(); r || g.NeedsRefill() {
		t.Fatal("the new round did not release the member")
	}
	// Every member having had its turn also starts a new round.
	now = t0.Add(tick)
	for i := range 4 {
		if s := ms[i].MaxToRead(now, 1<<20); s == 0 {
			t.Fatalf("member %d: no share in a fresh round", i)
		}
		ms[i].ChargeRead(1)
	}
	expectNone(t, ms)
	if s := ms[0].MaxToRead(now, 1<<20); s == 0 {
		t.Fatal("the round did not end when every member had its turn")
	}
	// Leaving while waiting.
	ms[0].ChargeRead(1)
	_ = ms[1].MaxToRead(now, 1<<20)
	ms[1].ChargeRead(1)
	_ = ms[0].MaxToRead(now, 1<<20)
	expectNotified(t, ms, Read, 0)
	ms[0].LeaveGroup()
	if g.NeedsRefill() {
		t.Fatal("a departed member still counts as waiting")
	}
	if r, _ := ms[0].GroupSuspended(); r {
		t.Fatal("a member outside the group reports a wait")
	}
	for _, m := range ms[1:] {
		m.LeaveGroup()
	}
}
