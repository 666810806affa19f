package ratelimit

import (
	"math/rand/v2"
	"sync"
	"time"
)

// Member receives a Group's suspension changes. The bufferevent core implements it, one
// value per bufferevent, and passes it to Limiter.JoinGroup. Implementations must be safe
// for concurrent use (see GroupChanged).
type Member interface {
	// GroupChanged reports that the group suspended or resumed the directions in dirs. It
	// carries no state on purpose: notifications from different goroutines may arrive in
	// any order, so the member re-reads the current state with Limiter.GroupSuspended when
	// it handles the notification (on its own loop), which makes late or duplicate
	// notifications harmless.
	//
	// Implementations must be safe for concurrent use: GroupChanged may be called from any
	// goroutine, several at once: the one refilling the group, or the loop of any member
	// whose transfer emptied the bucket or ended a round of turns (including this
	// member's own, from inside its ChargeRead, ChargeWrite, MaxToRead or MaxToWrite
	// call, the latter when the member starts waiting for its turn). It is never called with the group's lock held, so it
	// may call any Group method, but it must not block: it must not wait for another loop
	// or take a bufferevent lock that a thread running ChargeRead/ChargeWrite may hold.
	// The usual implementation queues the work on the member's loop (Base.RunInLoop). It may
	// also be called shortly after the member has left the group, or for a member that
	// has since been closed; re-reading GroupSuspended handles both.
	GroupChanged(dirs Direction)
}

// Group is a rate limit shared by many bufferevents, libevent's
// bufferevent_rate_limit_group: one bucket pair that every member's transfers are charged
// to, divided into per-operation shares, with suspension of every member when it runs
// dry. Members may live on different event loops.
//
// A Group does not run timers. Whoever owns it (the bufferevent core, on the base the
// group was created for) calls Refill at each tick boundary: the time Refill and
// NextRefill return.
//
// Safe for concurrent use. Member callbacks run after the group's lock is released.
type Group struct {
	mu                 sync.Mutex
	cfg                *Config
	b                  bucket
	configuredMinShare int64
	minShare           int64 // min(configuredMinShare, cfg.readRate, cfg.writeRate)
	readSuspended      bool  // invariant: !readSuspended ⇒ b.read > 0
	writeSuspended     bool  // invariant: !writeSuspended ⇒ b.write > 0
	// Shares are cut from these snapshots of the levels, not from the current levels,
	// so that every member is offered the same share until the next refill whatever
	// order the members transfer in. Set to the levels when ticks are credited or a
	// direction resumes; manual decrements move them with the levels.
	readBase, writeBase int64
	// ⌈base/members⌉ (at least 1), kept up to date by setBases and add/remove so that
	// a transfer costs no division.
	readShare, writeShare int64
	onSuspend             func()
	// Turns while the min share binds (turns.go), indexed by dirIndex.
	round    [2]uint64 // current round, from 1
	nServed  [2]int    // members that had their turn in the current round
	nWaiting [2]int    // members waiting for the next round
	released []released
	// The member that took the latest turn, and the value of ticks then.
	lastServed     [2]*Limiter
	lastServedTick [2]uint64
	ticks          uint64 // refills that credited ticks
	members        []*Limiter
	totalRead      uint64
	totalWritten   uint64
	rng            *rand.Rand
	closed         bool
}

// NewGroup returns a group limited by cfg whose buckets start at the rates and count ticks
// from now, with a min share of DefaultMinShare. It fails with ErrNilConfig for a nil cfg.
// Safe for concurrent use.
func NewGroup(cfg *Config, now time.Time) (*Group, error) {
	return newGroup(cfg, now, rand.Uint64(), rand.Uint64())
}

func newGroup(cfg *Config, now time.Time, seed1, seed2 uint64) (*Group, error) {
	if cfg == nil {
		return nil, ErrNilConfig
	}
	g := &Group{cfg: cfg, rng: rand.New(rand.NewPCG(seed1, seed2)), round: [2]uint64{1, 1}}
	g.b.init(cfg, now)
	g.setBases(g.b.read, g.b.write)
	g.setMinShare(DefaultMinShare)
	return g, nil
}

// Config returns the group's config. Safe for concurrent use.
func (g *Group) Config() *Config {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cfg
}

// SetConfig replaces the group's config (libevent's bufferevent_rate_limit_group_set_cfg):
// the current levels are clipped to the new bursts, the effective min share is recomputed
// from the configured one, and, if the tick length changed, ticks are counted afresh from
// now (the owner should re-arm its refill timer at NextRefill). It fails with ErrNilConfig or
// ErrGroupClosed. Safe for concurrent use.
func (g *Group) SetConfig(cfg *Config, now time.Time) error {
	if cfg == nil {
		return ErrNilConfig
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return ErrGroupClosed
	}
	g.b.reconfigure(g.cfg, cfg, now)
	g.setBases(min(g.readBase, g.b.read), min(g.writeBase, g.b.write))
	g.cfg = cfg
	g.setMinShare(g.configuredMinShare)
	return nil
}

// SetMinShare sets the smallest share a member is offered per operation while the group is
// not suspended, default DefaultMinShare (libevent's
// bufferevent_rate_limit_group_set_min_share). When the bucket divided by the number of
// members is smaller, members get n each, so fewer, larger transfers happen instead of many
// tiny ones. The effective value is capped by both rates (see MinShare); the group resumes
// after a suspension only once its bucket holds the effective min share. A negative n fails
// with ErrInvalidMinShare. Safe for concurrent use.
func (g *Group) SetMinShare(n int64) error {
	if n < 0 {
		return ErrInvalidMinShare
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.setMinShare(n)
	return nil
}

func (g *Group) setMinShare(n int64) {
	g.configuredMinShare = n
	g.minShare = min(n, g.cfg.readRate, g.cfg.writeRate)
}

// MinShare returns the effective min share: the configured one capped by the read and
// write rates, so that at steady state at least one member can transfer per tick. Safe for
// concurrent use.
func (g *Group) MinShare() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.minShare
}

// ReadLimit returns the group's read level as of the last credit of elapsed ticks (by
// Refill, or lazily by a member's MaxToRead or MaxToWrite); it may be negative (libevent's
// bufferevent_rate_limit_group_get_read_limit). Call Refill first for the level at a given
// time. Safe for concurrent use.
func (g *Group) ReadLimit() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.b.read
}

// WriteLimit returns the group's write level as of the last credit of elapsed ticks (see
// ReadLimit); it may be negative. Safe for concurrent use.
func (g *Group) WriteLimit() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.b.write
}

// Suspended reports whether the group has suspended its members' reading and writing.
// A member may also wait for its turn (Limiter.GroupSuspended reports both). Safe for
// concurrent use.
func (g *Group) Suspended() (read, write bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.readSuspended, g.writeSuspended
}

// NeedsRefill reports whether the owner's refill timer must run: a direction is
// suspended, or members wait for their turn (see Fairness in the package overview).
// Otherwise members credit elapsed ticks themselves and the timer may stop. Safe for
// concurrent use.
func (g *Group) NeedsRefill() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.readSuspended || g.writeSuspended || g.nWaiting[0]+g.nWaiting[1] > 0
}

// suspendedFor is Suspended for member l: also suspended while it waits for its turn.
func (g *Group) suspendedFor(l *Limiter) (read, write bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.readSuspended || l.waiting[0], g.writeSuspended || l.waiting[1]
}

// Len returns the number of members. Safe for concurrent use.
func (g *Group) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.members)
}

// Totals returns the bytes charged by members since creation or the last ResetTotals
// (libevent's bufferevent_rate_limit_group_get_totals). Manual decrements are not counted.
// Safe for concurrent use.
func (g *Group) Totals() (read, written uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.totalRead, g.totalWritten
}

// ResetTotals sets both totals to zero. Safe for concurrent use.
func (g *Group) ResetTotals() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.totalRead, g.totalWritten = 0, 0
}

// DecrementRead lowers the group's read level by n; a negative n raises it (libevent's
// bufferevent_rate_limit_group_decrement_read). Crossing zero downward suspends reading for
// every member; crossing upward resumes it (starting at a random member). Totals are not
// changed. Members are notified after the lock is released. Safe for concurrent use.
func (g *Group) DecrementRead(n int64) { g.decrement(Read, n) }

// DecrementWrite is DecrementRead for the write direction. Safe for concurrent use.
func (g *Group) DecrementWrite(n int64) { g.decrement(Write, n) }

// Refill credits the ticks elapsed up to now, resumes every suspended direction whose
// level reached the effective min share (notifying the members starting at a random one,
// so that no member is systematically first to transfer), and returns the start of the next
// tick: the owner arms a one-shot timer for that time and calls Refill again when it fires,
// or stops the timer if nothing is suspended (members then credit ticks themselves, and
// OnSuspend's function says when to start it again). It returns the zero time once the
// group is closed (stop the timer). Safe for concurrent use.
func (g *Group) Refill(now time.Time) (next time.Time) {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return time.Time{}
	}
	g.refillLocked(now)
	var dirs Direction
	if g.readSuspended && g.canResume(g.b.read) {
		g.readSuspended = false
		g.setBases(g.b.read, g.writeBase)
		dirs |= Read
	}
	if g.writeSuspended && g.canResume(g.b.write) {
		g.writeSuspended = false
		g.setBases(g.readBase, g.b.write)
		dirs |= Write
	}
	next = g.b.tickTime(g.cfg, g.b.tickAt(g.cfg, now)+1)
	g.notifyUnlock(dirs, true)
	return next
}

// NextRefill returns the start of the tick after the last refill, when Refill should run
// next (it may be in the past if Refill is late); the zero time once the group is closed.
// Safe for concurrent use.
func (g *Group) NextRefill() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return time.Time{}
	}
	return g.b.tickTime(g.cfg, g.b.last+1)
}

// Close retires the group (libevent's bufferevent_rate_limit_group_free). It fails with
// ErrGroupHasMembers, changing nothing, while members remain; the bufferevent core removes
// its members on close. After Close, Refill returns the zero time and JoinGroup fails with
// ErrGroupClosed. Closing twice is a no-op. Safe for concurrent use.
func (g *Group) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.members) > 0 {
		return ErrGroupHasMembers
	}
	g.closed = true
	return nil
}

// refillLocked credits the ticks elapsed up to now and, if any was, takes new snapshots of
// the levels for the shares. g.mu is held.
func (g *Group) refillLocked(now time.Time) {
	if g.b.update(g.cfg, now) {
		g.setBases(g.b.read, g.b.write)
		g.endTick()
	}
}

// setBases sets the level snapshots the shares are cut from, and the shares. g.mu is
// held.
func (g *Group) setBases(read, write int64) {
	g.readBase, g.writeBase = read, write
	n := int64(max(len(g.members), 1))
	g.readShare, g.writeShare = ceilShare(read, n), ceilShare(write, n)
}

// ceilShare returns ⌈base/n⌉, at least 1, without overflow.
func ceilShare(base, n int64) int64 {
	if base <= 0 {
		return 1
	}
	return (base-1)/n + 1
}

// OnSuspend sets fn, called whenever a charge or a manual decrement suspends a direction,
// or a member starts waiting for its turn while nothing was suspended or waiting (nil:
// none). It lets the owner stop its refill timer while NeedsRefill reports false (refills
// then happen when members ask for their shares, see Limiter.MaxToRead) and re-arm it for
// NextRefill when fn is called. fn runs on the goroutine that made the charge, decrement
// or share request (any member's loop, or a caller of DecrementRead/DecrementWrite),
// after the group's lock is released and the members are notified; it must not block.
// Because it runs outside the lock, a decrement or charge that read fn before a
// concurrent OnSuspend(nil) or Close may still call it once after they returned: fn must
// tolerate a call on a retired group (bufferevent's RateLimitGroup only activates its
// refill timer, which is ignored once freed). Holding the lock across fn instead would
// deadlock an fn that calls back into the group. Safe for concurrent use.
func (g *Group) OnSuspend(fn func()) {
	g.mu.Lock()
	g.onSuspend = fn
	g.mu.Unlock()
}

// canResume reports whether a suspended level may resume: it holds the min share and is
// positive (libevent resumes at ≥ min share; with a min share of 0 that would resume an
// empty bucket and hand out zero-byte shares).
func (g *Group) canResume(level int64) bool { return level > 0 && level >= g.minShare }

// share returns the calling member's allowance for one operation in direction d at now,
// crediting the ticks elapsed first (the owner's timer refills only while a direction is
// suspended).
//
// libevent divides the current level by the number of members (all of them, not only the
// active ones), so each member's share depends on how much the members that transferred
// before it in the same tick took: the first gets level/n, the next (level − level/n)/n,
// and so on, and whoever the poller reports first is favoured. Here the share is cut
// from the level as of the last refill or resumption, rounded up, and capped by the
// current level, so that when every member is busy each gets one equal share per tick
// (the last one up to n−1 bytes less), the n-th share empties the bucket, and the order
// they transfer in no longer matters. Like libevent's it is at least the min share (which
// may overdraw the bucket), and it is at least one byte, so tiny budgets cannot stall
// members.
//
// While the min share binds, a member that already had its turn in the current round gets
// 0 and waits (turns.go): it is notified at once so that it suspends, and again when the
// next round releases it.
func (g *Group) share(l *Limiter, d Direction, now time.Time) int64 {
	g.mu.Lock()
	g.refillLocked(now)
	level, s, suspended := g.b.read, g.readShare, g.readSuspended
	if d == Write {
		level, s, suspended = g.b.write, g.writeShare, g.writeSuspended
	}
	if suspended {
		g.unlock()
		return 0
	}
	i := dirIndex(d)
	ok, wait := true, false
	if s < g.minShare && l.served[i] == g.round[i] { // had its turn (turns.go)
		ok, wait = g.takeTurn(l, i)
	}
	if ok {
		// Not suspended implies level > 0.
		s = max(min(s, level), g.minShare)
		if len(g.released) == 0 { // g.unlock, inlined by hand: the common case
			g.mu.Unlock()
		} else {
			g.unlockRelease()
		}
		return s
	}
	var wake func()
	if wait && g.nWaiting[0]+g.nWaiting[1] == 1 && !g.readSuspended && !g.writeSuspended {
		wake = g.onSuspend // the owner's timer may be stopped: start it
	}
	m := l.member
	g.unlock()
	if wait {
		m.GroupChanged(d)
		if wake != nil {
			wake()
		}
	}
	return 0
}

// charge accounts n ≥ 0 bytes that member l transferred in direction d.
func (g *Group) charge(l *Limiter, d Direction, n int64) {
	g.mu.Lock()
	level, suspended, s := &g.b.read, &g.readSuspended, g.readShare
	if d == Write {
		level, suspended, s = &g.b.write, &g.writeSuspended, g.writeShare
	}
	if s < g.minShare && n > 0 { // the min share binds: a turn (turns.go)
		g.served(l, dirIndex(d), n)
	}
	if d == Write {
		g.totalWritten += uint64(n)
	} else {
		g.totalRead += uint64(n)
	}
	*level = subSat(*level, n)
	switch {
	case *level <= 0 && !*suspended:
		*suspended = true
		g.suspendedUnlock(d)
	case *level > 0 && *suspended && g.canResume(*level):
		*suspended = false
		g.setBase(d)
		g.notifyUnlock(d, true)
	case len(g.released) == 0: // g.unlock, inlined by hand: the common case
		g.mu.Unlock()
	default:
		g.unlockRelease()
	}
}

// setBase takes a new snapshot of the level of direction d for the shares. g.mu is held.
func (g *Group) setBase(d Direction) {
	if d == Write {
		g.setBases(g.readBase, g.b.write)
	} else {
		g.setBases(g.b.read, g.writeBase)
	}
}

// suspendedUnlock notifies every member that direction d is suspended, releases g.mu
// and calls the OnSuspend function. g.mu is held.
func (g *Group) suspendedUnlock(d Direction) {
	fn := g.onSuspend
	g.notifyUnlock(d, false)
	if fn != nil {
		fn()
	}
}

func (g *Group) decrement(d Direction, n int64) {
	g.mu.Lock()
	level, suspended, base := &g.b.read, &g.readSuspended, &g.readBase
	if d == Write {
		level, suspended, base = &g.b.write, &g.writeSuspended, &g.writeBase
	}
	old := *level
	*level = subSat(old, n)
	*base = subSat(*base, n)
	if *suspended && old <= 0 && *level > 0 {
		*base = *level
	}
	g.setBases(g.readBase, g.writeBase)
	switch {
	case old > 0 && *level <= 0 && !*suspended:
		*suspended = true
		g.suspendedUnlock(d)
	case old <= 0 && *level > 0 && *suspended:
		*suspended = false
		g.notifyUnlock(d, true)
	default:
		g.unlock()
	}
}

func (g *Group) add(l *Limiter, m Member) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return ErrGroupClosed
	}
	l.member, l.idx = m, len(g.members)
	g.members = append(g.members, l)
	g.setBases(g.readBase, g.writeBase)
	return nil
}

func (g *Group) remove(l *Limiter) {
	g.mu.Lock()
	defer g.unlock()
	g.leaveTurns(l)
	last := len(g.members) - 1
	moved := g.members[last]
	g.members[l.idx], moved.idx = moved, l.idx
	g.members[last] = nil
	g.members = g.members[:last]
	g.setBases(g.readBase, g.writeBase)
	l.member, l.idx = nil, 0
}

// scratchPool recycles the member snapshots taken for notifications, so notifying
// allocates nothing in steady state.
var scratchPool = sync.Pool{New: func() any { return new([]Member) }}

// notifyUnlock snapshots the members (from a random one if random), releases g.mu and
// calls GroupChanged(dirs) on each. It must be called with g.mu held; it always unlocks.
func (g *Group) notifyUnlock(dirs Direction, random bool) {
	if dirs == 0 || len(g.members) == 0 {
		g.unlock()
		return
	}
	rs := g.takeReleased()
	sp := scratchPool.Get().(*[]Member)
	s := (*sp)[:0]
	start := 0
	if random {
		start = g.rng.IntN(len(g.members))
	}
	for _, l := range g.members[start:] {
		s = append(s, l.member)
	}
	for _, l := range g.members[:start] {
		s = append(s, l.member)
	}
	g.mu.Unlock()
	deliver(rs)
	for _, m := range s {
		m.GroupChanged(dirs)
	}
	clear(s)
	*sp = s[:0]
	scratchPool.Put(sp)
}
