package ratelimit

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeMember records the notifications it gets, in order, together with a global
// sequence shared by the members of one test.
type fakeMember struct {
	id  int
	log *notifyLog
	mu  sync.Mutex
	got []Direction
}

type notifyLog struct {
	mu    sync.Mutex
	order []int // member ids in notification order
}

func (m *fakeMember) GroupChanged(d Direction) {
	m.mu.Lock()
	m.got = append(m.got, d)
	m.mu.Unlock()
	if m.log != nil {
		m.log.mu.Lock()
		m.log.order = append(m.log.order, m.id)
		m.log.mu.Unlock()
	}
}

func (m *fakeMember) take() []Direction {
	m.mu.Lock()
	defer m.mu.Unlock()
	got := m.got
	m.got = nil
	return got
}

func (l *notifyLog) take() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	o := l.order
	l.order = nil
	return o
}

type testMember struct {
	Limiter
	m *fakeMember
}

// newGroupWith returns a group and n joined members.
func newGroupWith(t *testing.T, cfg *Config, n int) (*Group, []*testMember, *notifyLog) {
	t.Helper()
	g, err := newGroup(cfg, t0, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	log := &notifyLog{}
	ms := make([]*testMember, n)
	for i := range ms {
		ms[i] = &testMember{m: &fakeMember{id: i, log: log}}
		if err := ms[i].JoinGroup(g, ms[i].m); err != nil {
			t.Fatal(err)
		}
	}
	return g, ms, log
}

// expectNotified checks that exactly the members in want got exactly one notification
// with dirs, and the others none.
func expectNotified(t *testing.T, ms []*testMember, dirs Direction, want ...int) {
	t.Helper()
	for i, m := range ms {
		got := m.m.take()
		if slices.Contains(want, i) {
			if len(got) != 1 || got[0] != dirs {
				t.Fatalf("member %d got %v, want [%v]", i, got, dirs)
			}
		} else if len(got) != 0 {
			t.Fatalf("member %d got %v, want nothing", i, got)
		}
	}
}

func all(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func TestGroupShares(t *testing.T) {
	cfg := mustConfig(t, 3000, 12000, 6000, 24000, 100*time.Millisecond)
	tests := []struct {
		name         string
		members      int
		minShare     int64 // -1: default
		wantMin      int64
		wantR, wantW int64
	}{
		{name: "one member gets the whole bucket", members: 1, minShare: -1, wantMin: 64, wantR: 3000, wantW: 6000},
		{name: "thirty members split it", members: 30, minShare: -1, wantMin: 64, wantR: 100, wantW: 200},
		{name: "min share wins", members: 100, minShare: -1, wantMin: 64, wantR: 64, wantW: 64},
		{name: "min share 0: pure split", members: 100, minShare: 0, wantMin: 0, wantR: 30, wantW: 60},
		{name: "never below 1 byte", members: 6000, minShare: 0, wantMin: 0, wantR: 1, wantW: 1},
		{name: "rounded up: n shares cover the level", members: 7, minShare: 0, wantMin: 0, wantR: 429, wantW: 858},
		{name: "min share capped by the smaller rate", members: 30, minShare: 5000, wantMin: 3000, wantR: 3000, wantW: 3000},
		{name: "min share 2500", members: 2, minShare: 2500, wantMin: 2500, wantR: 2500, wantW: 3000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, ms, _ := newGroupWith(t, cfg, tt.members)
			if tt.minShare >= 0 {
				if err := g.SetMinShare(tt.minShare); err != nil {
					t.Fatal(err)
				}
			}
			if got := g.MinShare(); got != tt.wantMin {
				t.Fatalf("MinShare = %d, want %d", got, tt.wantMin)
			}
			for i, m := range ms {
				if r, w := m.MaxToRead(t0, 1<<20), m.MaxToWrite(t0, 1<<20); r != tt.wantR || w != tt.wantW {
					t.Fatalf("member %d: shares %d/%d, want %d/%d", i, r, w, tt.wantR, tt.wantW)
				}
			}
			// The caller's maximum still caps the share.
			if got := ms[0].MaxToRead(t0, 10); got != min(10, tt.wantR) {
				t.Fatalf("MaxToRead(10) = %d", got)
			}
		})
	}
}

func TestGroupAndPerConnectionLimit(t *testing.T) {
	g, ms, _ := newGroupWith(t, mustConfig(t, 3000, 12000, 3000, 12000, 100*time.Millisecond), 10)
	m := ms[0]
	m.SetConfig(mustConfig(t, 100, 400, 1000, 1000, 100*time.Millisecond), t0)
	if r, w := m.MaxToRead(t0, 16384), m.MaxToWrite(t0, 16384); r != 100 || w != 300 {
		t.Fatalf("MaxTo = %d/%d, want 100 (own) / 300 (group share)", r, w)
	}
	m.ChargeRead(100)
	if !m.ReadBlocked() || m.MaxToRead(t0, 16384) != 0 {
		t.Fatal("own bucket empty but not blocked")
	}
	if got := g.ReadLimit(); got != 2900 {
		t.Fatalf("group read level = %d, want 2900", got)
	}
	if r, _ := g.Totals(); r != 100 {
		t.Fatalf("total read = %d", r)
	}
	// The per-connection decrement leaves the group alone (libevent).
	if err := m.DecrementReadLimit(-50); err != nil {
		t.Fatal(err)
	}
	if got := g.ReadLimit(); got != 2900 || m.ReadBlocked() {
		t.Fatalf("group %d, blocked %v", got, m.ReadBlocked())
	}
}

func TestGroupSuspendResume(t *testing.T) {
	const tick = 100 * time.Millisecond
	g, ms, _ := newGroupWith(t, mustConfig(t, 100, 400, 1000, 4000, tick), 3)

	ms[0].ChargeRead(60)
	expectNone(t, ms)
	// Emptying the read bucket suspends reading for every member, writing goes on.
	ms[1].ChargeRead(40)
	expectNotified(t, ms, Read, all(3)...)
	for i, m := range ms {
		if r, w := m.GroupSuspended(); !r || w {
			t.Fatalf("member %d: suspended %v/%v, want read only", i, r, w)
		}
		if m.MaxToRead(t0, 16384) != 0 || m.MaxToWrite(t0, 16384) != 334 { // ⌈1000/3⌉
			t.Fatalf("member %d: MaxTo %d/%d", i, m.MaxToRead(t0, 16384), m.MaxToWrite(t0, 16384))
		}
	}
	// Further charges (a read that was already under way) do not notify again.
	ms[2].ChargeRead(50)
	expectNone(t, ms)
	if got := g.ReadLimit(); got != -50 {
		t.Fatalf("read level %d, want -50", got)
	}
	// No tick crossed: nothing happens.
	if next := g.Refill(t0.Add(50 * time.Millisecond)); !next.Equal(t0.Add(tick)) {
		t.Fatalf("next refill %v", next.Sub(t0))
	}
	expectNone(t, ms)
	// One tick: 50 < min share 64, still suspended.
	g.Refill(t0.Add(tick))
	expectNone(t, ms)
	if r, _ := g.Suspended(); !r || g.ReadLimit() != 50 {
		t.Fatalf("suspended %v at %d", r, g.ReadLimit())
	}
	// Second tick: 150 ≥ 64, resumed, everyone notified once.
	if next := g.Refill(t0.Add(2 * tick)); !next.Equal(t0.Add(3 * tick)) {
		t.Fatalf("next refill %v", next.Sub(t0))
	}
	expectNotified(t, ms, Read, all(3)...)
	if r, w := g.Suspended(); r || w {
		t.Fatal("still suspended")
	}
	if got := ms[0].MaxToRead(t0, 16384); got != 64 {
		t.Fatalf("share %d, want 64 (150/3 < min share)", got)
	}

	// Charges notify per direction; a refill that resumes both notifies once with both.
	ms[0].ChargeRead(150)
	expectNotified(t, ms, Read, all(3)...)
	ms[0].ChargeWrite(3000)
	expectNotified(t, ms, Write, all(3)...)
	g.Refill(t0.Add(3 * tick))
	expectNotified(t, ms, Read|Write, all(3)...)
	if g.ReadLimit() != 100 || g.WriteLimit() != 1000 {
		t.Fatalf("levels %d/%d", g.ReadLimit(), g.WriteLimit())
	}
	if r, w := g.Totals(); r != 300 || w != 3000 {
		t.Fatalf("totals %d/%d, want 300/3000", r, w)
	}
	g.ResetTotals()
	if r, w := g.Totals(); r != 0 || w != 0 {
		t.Fatalf("totals after reset %d/%d", r, w)
	}
}

func expectNone(t *testing.T, ms []*testMember) {
	t.Helper()
	expectNotified(t, ms, 0)
}

// A charge that finds the group suspended with at least the min share resumes it, as
// libevent's bufferevent_decrement_read_buckets_ does.
func TestGroupChargeResumes(t *testing.T) {
	g, ms, _ := newGroupWith(t, mustConfig(t, 100, 400, 100, 400, 100*time.Millisecond), 2)
	ms[0].ChargeRead(150) // -50, suspended
	expectNotified(t, ms, Read, 0, 1)
	g.Refill(t0.Add(100 * time.Millisecond)) // 50 < 64: still suspended
	expectNone(t, ms)
	g.DecrementRead(-100) // 150: no crossing of zero, still suspended
	expectNone(t, ms)
	if r, _ := g.Suspended(); !r {
		t.Fatal("not suspended")
	}
	ms[1].ChargeRead(0) // 150 ≥ 64: resume
	expectNotified(t, ms, Read, 0, 1)
	if r, _ := g.Suspended(); r {
		t.Fatal("still suspended")
	}
}

// Mirrors libevent's bufferevent_rate_limit_group_decrement_read/_write as used by
// test/test-ratelim.c's group drain (-G).
func TestGroupDecrement(t *testing.T) {
	g, ms, _ := newGroupWith(t, mustConfig(t, 100, 400, 100, 400, 100*time.Millisecond), 3)
	g.DecrementWrite(99)
	expectNone(t, ms)
	g.DecrementWrite(1) // 0: crosses zero downward
	expectNotified(t, ms, Write, all(3)...)
	g.DecrementWrite(10) // -10: no crossing
	expectNone(t, ms)
	g.DecrementWrite(-11) // 1: crosses upward, resumes regardless of the min share
	expectNotified(t, ms, Write, all(3)...)
	if _, w := g.Suspended(); w || g.WriteLimit() != 1 {
		t.Fatalf("suspended %v at %d", w, g.WriteLimit())
	}
	if got := ms[0].MaxToWrite(t0, 16384); got != 64 {
		t.Fatalf("share %d, want the min share", got)
	}
	g.DecrementRead(-1000) // above the burst, allowed
	if g.ReadLimit() != 1100 {
		t.Fatalf("read level %d", g.ReadLimit())
	}
	g.Refill(t0.Add(time.Second))
	if g.ReadLimit() != 1100 || g.WriteLimit() != 400 {
		t.Fatalf("levels after refill %d/%d, want 1100/400", g.ReadLimit(), g.WriteLimit())
	}
	if r, w := g.Totals(); r != 0 || w != 0 {
		t.Fatalf("manual decrements counted in totals: %d/%d", r, w)
	}
}

func TestGroupMembership(t *testing.T) {
	cfg := mustConfig(t, 100, 400, 100, 400, 100*time.Millisecond)
	g, ms, _ := newGroupWith(t, cfg, 6)
	if g.Len() != 6 {
		t.Fatalf("Len = %d", g.Len())
	}
	// Joining the same group again changes nothing.
	if err := ms[0].JoinGroup(g, ms[0].m); err != nil || g.Len() != 6 {
		t.Fatalf("rejoin: %v, Len %d", err, g.Len())
	}
	// Leave from the middle, the end and the start; the rest still get notified.
	for _, i := range []int{2, 5, 0} {
		ms[i].LeaveGroup()
		if ms[i].Group() != nil {
			t.Fatalf("member %d still has a group", i)
		}
	}
	ms[2].LeaveGroup() // leaving twice is a no-op
	if g.Len() != 3 {
		t.Fatalf("Len = %d, want 3", g.Len())
	}
	g.DecrementRead(100)
	expectNotified(t, ms, Read, 1, 3, 4)
	// A joiner inherits the suspension; a leaver is no longer suspended.
	if err := ms[0].JoinGroup(g, ms[0].m); err != nil {
		t.Fatal(err)
	}
	if r, w := ms[0].GroupSuspended(); !r || w {
		t.Fatalf("joiner suspended %v/%v, want read", r, w)
	}
	if got := ms[0].MaxToRead(t0, 100); got != 0 {
		t.Fatalf("joiner MaxToRead = %d", got)
	}
	ms[1].LeaveGroup()
	if r, w := ms[1].GroupSuspended(); r || w || ms[1].MaxToRead(t0, 100) != 100 {
		t.Fatal("leaver still limited by the group")
	}
	// Moving to another group leaves the first one.
	g2, err := NewGroup(cfg, t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := ms[3].JoinGroup(g2, ms[3].m); err != nil {
		t.Fatal(err)
	}
	if g.Len() != 2 || g2.Len() != 1 || ms[3].Group() != g2 {
		t.Fatalf("Len %d/%d", g.Len(), g2.Len())
	}
	g.DecrementRead(-200)
	expectNotified(t, ms, Read, 0, 4)
	// Bad arguments.
	if err := ms[1].JoinGroup(nil, ms[1].m); !errors.Is(err, ErrNilGroup) {
		t.Fatalf("JoinGroup(nil) = %v", err)
	}
	if err := ms[1].JoinGroup(g, nil); !errors.Is(err, ErrNilGroup) {
		t.Fatalf("JoinGroup(nil member) = %v", err)
	}
}

func TestGroupClose(t *testing.T) {
	cfg := mustConfig(t, 100, 400, 100, 400, 100*time.Millisecond)
	g, ms, _ := newGroupWith(t, cfg, 2)
	// Closing a group with members is an error, and the group keeps working.
	if err := g.Close(); !errors.Is(err, ErrGroupHasMembers) {
		t.Fatalf("Close = %v, want ErrGroupHasMembers", err)
	}
	if next := g.Refill(t0.Add(100 * time.Millisecond)); next.IsZero() {
		t.Fatal("Refill stopped after a failed Close")
	}
	if err := ms[0].JoinGroup(g, ms[0].m); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		m.LeaveGroup()
	}
	if err := g.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := g.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if next := g.Refill(t0.Add(time.Second)); !next.IsZero() {
		t.Fatalf("Refill after Close = %v, want zero", next)
	}
	if !g.NextRefill().IsZero() {
		t.Fatal("NextRefill after Close is not zero")
	}
	if err := ms[0].JoinGroup(g, ms[0].m); !errors.Is(err, ErrGroupClosed) || ms[0].Group() != nil {
		t.Fatalf("JoinGroup(closed) = %v, group %p", err, ms[0].Group())
	}
	if err := g.SetConfig(cfg, t0); !errors.Is(err, ErrGroupClosed) {
		t.Fatalf("SetConfig(closed) = %v", err)
	}
}

func TestGroupConfig(t *testing.T) {
	const tick = 100 * time.Millisecond
	if _, err := NewGroup(nil, t0); !errors.Is(err, ErrNilConfig) {
		t.Fatalf("NewGroup(nil) = %v", err)
	}
	cfg := mustConfig(t, 1000, 4000, 1000, 4000, tick)
	g, _, _ := newGroupWith(t, cfg, 1)
	if g.Config() != cfg || g.ReadLimit() != 1000 || g.WriteLimit() != 1000 || g.MinShare() != 64 {
		t.Fatalf("new group: cfg %v levels %d/%d min share %d", g.Config(), g.ReadLimit(), g.WriteLimit(), g.MinShare())
	}
	if err := g.SetMinShare(-1); !errors.Is(err, ErrInvalidMinShare) {
		t.Fatalf("SetMinShare(-1) = %v", err)
	}
	if err := g.SetConfig(nil, t0); !errors.Is(err, ErrNilConfig) {
		t.Fatalf("SetConfig(nil) = %v", err)
	}
	g.Refill(t0.Add(5 * tick)) // 4000 (capped)
	if err := g.SetMinShare(500); err != nil {
		t.Fatal(err)
	}
	// A smaller config clips the levels and the min share; same tick: numbering kept.
	small := mustConfig(t, 10, 300, 20, 200, tick)
	if err := g.SetConfig(small, t0.Add(5*tick)); err != nil {
		t.Fatal(err)
	}
	if g.ReadLimit() != 300 || g.WriteLimit() != 200 || g.MinShare() != 10 {
		t.Fatalf("after SetConfig: %d/%d min share %d", g.ReadLimit(), g.WriteLimit(), g.MinShare())
	}
	if got := g.NextRefill(); !got.Equal(t0.Add(6 * tick)) {
		t.Fatalf("NextRefill = t0+%v, want t0+600ms", got.Sub(t0))
	}
	// Back to the large config: the configured min share (500) applies again.
	if err := g.SetConfig(cfg, t0.Add(5*tick)); err != nil {
		t.Fatal(err)
	}
	if g.MinShare() != 500 || g.ReadLimit() != 300 {
		t.Fatalf("min share %d level %d", g.MinShare(), g.ReadLimit())
	}
	// A new tick length restarts the tick numbering at the given time.
	slow := mustConfig(t, 1000, 4000, 1000, 4000, time.Second)
	if err := g.SetConfig(slow, t0.Add(550*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if got := g.NextRefill(); !got.Equal(t0.Add(1550 * time.Millisecond)) {
		t.Fatalf("NextRefill = t0+%v, want t0+1.55s", got.Sub(t0))
	}
	if next := g.Refill(t0.Add(1549 * time.Millisecond)); g.ReadLimit() != 300 || !next.Equal(t0.Add(1550*time.Millisecond)) {
		t.Fatalf("early refill: level %d next t0+%v", g.ReadLimit(), next.Sub(t0))
	}
	if next := g.Refill(t0.Add(1550 * time.Millisecond)); g.ReadLimit() != 1300 || !next.Equal(t0.Add(2550*time.Millisecond)) {
		t.Fatalf("refill: level %d next t0+%v", g.ReadLimit(), next.Sub(t0))
	}
}

// reentrantMember calls back into the group and its own limiter from GroupChanged, which
// the Member contract allows because no lock is held during notifications.
type reentrantMember struct {
	g     *Group
	l     *Limiter
	calls int
	seen  []bool
}

func (m *reentrantMember) GroupChanged(d Direction) {
	m.calls++
	r, _ := m.l.GroupSuspended()
	m.seen = append(m.seen, r)
	_ = m.g.ReadLimit()
	_ = m.g.SetMinShare(64)
	if m.calls == 1 {
		m.g.DecrementWrite(m.g.WriteLimit()) // a nested notification
	}
}

func TestMemberMayReenter(t *testing.T) {
	g, err := NewGroup(mustConfig(t, 100, 400, 100, 400, 100*time.Millisecond), t0)
	if err != nil {
		t.Fatal(err)
	}
	var l Limiter
	m := &reentrantMember{g: g, l: &l}
	if err := l.JoinGroup(g, m); err != nil {
		t.Fatal(err)
	}
	l.ChargeRead(100) // suspends reading; the notification suspends writing
	if m.calls != 2 || !slices.Equal(m.seen, []bool{true, true}) {
		t.Fatalf("calls %d, seen %v", m.calls, m.seen)
	}
	if r, w := g.Suspended(); !r || !w {
		t.Fatalf("suspended %v/%v", r, w)
	}
	g.Refill(t0.Add(100 * time.Millisecond))
	if m.calls != 3 || m.seen[2] {
		t.Fatalf("calls %d, seen %v", m.calls, m.seen)
	}
	l.LeaveGroup()
}
