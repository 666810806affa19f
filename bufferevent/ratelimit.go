package bufferevent

import (
	"errors"
	"math"
	"sync"
	"time"

	"github.com/bufev/bufev/bufferevent/backend"
	"github.com/bufev/bufev/eventbase"
	"github.com/bufev/bufev/ratelimit"
)

// Rate limiting (libevent's bufferevent_ratelim.c). The accounting lives in
// package ratelimit; the core owns the timers and turns empty buckets into
// suspensions (SuspendBandwidth, SuspendGroup). Backends that transfer
// bytes themselves (socket, async, TLS) consult Core.MaxToRead/MaxToWrite
// and call Core.ChargeRead/ChargeWrite; pairs and filters are not limited,
// as in libevent.

// SetRateLimit sets the bufferevent's own token-bucket limit (libevent's
// bufferevent_set_rate_limit); nil removes it (group membership is kept).
// Loop-confined unless ThreadSafe; on a ThreadSafe bufferevent it is applied
// on the loop and reports only ErrClosed.
func (b *BufferEvent) SetRateLimit(cfg *ratelimit.Config) error {
	_, err := b.onLoopRun(func() (bool, error) {
		b.rl.SetConfig(cfg, b.base.Now())
		b.rlSync()
		b.applyBandwidth()
		return false, nil
	})
	return err
}

// RateLimit returns the config set by SetRateLimit, or nil. Loop-confined
// unless ThreadSafe.
func (b *BufferEvent) RateLimit() *ratelimit.Config {
	if b.enter() != nil {
		return nil
	}
	defer b.leave()
	return b.rl.Config()
}

// ReadLimit returns the current level of the bufferevent's own read bucket
// (it may be negative), or math.MaxInt64 without a limit (libevent's
// bufferevent_get_read_limit). Loop-confined unless ThreadSafe.
func (b *BufferEvent) ReadLimit() int64 {
	if b.enter() != nil {
		return 0
	}
	defer b.leave()
	return b.rl.ReadLimit(b.now())
}

// WriteLimit is ReadLimit for writing. Loop-confined unless ThreadSafe.
func (b *BufferEvent) WriteLimit() int64 {
	if b.enter() != nil {
		return 0
	}
	defer b.leave()
	return b.rl.WriteLimit(b.now())
}

// MaxToRead returns how many bytes the backend may read now: the maximum
// single read capped by the rate limits and the input room (libevent's
// bufferevent_get_max_to_read). Loop-confined unless ThreadSafe.
func (b *BufferEvent) MaxToRead() int {
	if b.enter() != nil {
		return 0
	}
	defer b.leave()
	return (*core)(b).MaxToRead()
}

// MaxToWrite returns how many bytes the backend may write now. Loop-confined
// unless ThreadSafe.
func (b *BufferEvent) MaxToWrite() int {
	if b.enter() != nil {
		return 0
	}
	defer b.leave()
	return (*core)(b).MaxToWrite()
}

// DecrementReadLimit lowers the bufferevent's own read bucket by n (a
// negative n raises it), suspending or resuming reading when it crosses 0
// (libevent's bufferevent_decrement_read_limit). It fails with
// ratelimit.ErrNoConfig without SetRateLimit. Loop-confined unless
// ThreadSafe; off the loop the suspension changes with the level, before
// the call returns, and the backend and the refill timer follow at the
// loop's next turn.
func (b *BufferEvent) DecrementReadLimit(n int64) error {
	return b.decrementLimit(n, b.rl.DecrementReadLimit)
}

// DecrementWriteLimit is DecrementReadLimit for writing. Loop-confined
// unless ThreadSafe.
func (b *BufferEvent) DecrementWriteLimit(n int64) error {
	return b.decrementLimit(n, b.rl.DecrementWriteLimit)
}

func (b *BufferEvent) decrementLimit(n int64, dec func(int64) error) error {
	if err := b.enter(); err != nil {
		return err
	}
	err := dec(n)
	if err == nil {
		// The suspension changes with the level, under the same lock: the
		// loop must never find the bucket empty with the direction still
		// active (a completion backend takes an active direction with no
		// allowance for a suspended group, and waits for the group's word).
		// Off the loop, suspendRead and friends hand the backend's part to
		// the loop; the refill timer is armed there below.
		b.applyBandwidthSuspension()
	}
	b.leave()
	if err != nil {
		return err
	}
	_, err = b.onLoopRun(func() (bool, error) { b.applyBandwidth(); return false, nil })
	return err
}

// now is the base's cached time on the loop (LoopNow: no time.Time.Add per
// call), the clock elsewhere (the cache is loop-confined). Lock held.
func (b *BufferEvent) now() time.Time {
	if b.onLoop() {
		return b.base.LoopNow()
	}
	return time.Now()
}

// rateReadAllowance is the rate-limit part of MaxToRead. Lock held.
// The checks test rlOn, a copy of "the limiter has a config or a group" in
// the bufferevent's first cache line (the limiter's two pointers are 80
// bytes apart), and are small enough to be inlined.
func (b *BufferEvent) rateReadAllowance() int {
	if !b.rlOn {
		return maxInt
	}
	return b.rateReadLimited()
}

func (b *BufferEvent) rateReadLimited() int {
	return clampInt(b.rl.MaxToRead(b.now(), math.MaxInt64))
}

func (b *BufferEvent) rateWriteAllowance() int {
	if !b.rlOn {
		return maxInt
	}
	return b.rateWriteLimited()
}

func (b *BufferEvent) rateWriteLimited() int {
	return clampInt(b.rl.MaxToWrite(b.now(), math.MaxInt64))
}

// rlSync refreshes rlOn after the limiter's config or group changed.
func (b *BufferEvent) rlSync() { b.rlOn = b.rl.Config() != nil || b.rl.Group() != nil }

func clampInt(n int64) int {
	if n > int64(maxInt) {
		return maxInt
	}
	return int(n)
}

func (b *BufferEvent) chargeRead(n int) {
	if b.rlOn {
		b.chargeReadLimited(n)
	}
}

func (b *BufferEvent) chargeReadLimited(n int) {
	b.rl.ChargeRead(int64(n))
	// Only the read level changed, so the applied state still holds unless
	// reading is now blocked or was suspended for bandwidth (a refill in
	// MaxToRead may have raised the level since): the common case of a
	// limit that does not bind skips applyBandwidth.
	if b.rl.ReadBlocked() || b.readSusp&backend.SuspendBandwidth != 0 {
		b.applyBandwidth()
	}
}

func (b *BufferEvent) chargeWrite(n int) {
	if b.rlOn {
		b.chargeWriteLimited(n)
	}
}

func (b *BufferEvent) chargeWriteLimited(n int) {
	b.rl.ChargeWrite(int64(n))
	if b.rl.WriteBlocked() || b.writeSusp&backend.SuspendBandwidth != 0 {
		b.applyBandwidth()
	}
}

// applyBandwidth turns the own bucket's state into SuspendBandwidth and arms
// the refill timer. Lock held, on the loop.
func (b *BufferEvent) applyBandwidth() {
	if b.dead {
		return
	}
	b.applyBandwidthSuspension()
	at, ok := b.rl.RefillAt()
	if !ok {
		if b.rlTimer != nil {
			_ = b.rlTimer.Del()
		}
		return
	}
	if b.rlTimer == nil {
		t, err := b.base.NewTimer(b.refill)
		if err != nil {
			return
		}
		b.rlTimer = t
	}
	_ = b.rlTimer.AddTimeout(max(at.Sub(b.base.Now()), 0))
}

// applyBandwidthSuspension is applyBandwidth's first half: SuspendBandwidth
// set or cleared from the own bucket's levels. Lock held; off the loop (a
// ThreadSafe decrement) the backend's part is handed to the loop.
func (b *BufferEvent) applyBandwidthSuspension() {
	if b.dead {
		return
	}
	if b.rl.ReadBlocked() {
		b.suspendRead(backend.SuspendBandwidth)
	} else {
		b.unsuspendRead(backend.SuspendBandwidth)
	}
	if b.rl.WriteBlocked() {
		b.suspendWrite(backend.SuspendBandwidth)
	} else {
		b.unsuspendWrite(backend.SuspendBandwidth)
	}
}

// refill is the per-bufferevent refill timer.
func (b *BufferEvent) refill() {
	b.lockLoop()
	if !b.dead {
		b.rl.Refill(b.base.Now())
		b.applyBandwidth()
	}
	b.unlockLoop()
}

// leaveGroupOnClose removes a bufferevent being closed from its rate-limit
// group before Close returns, so that RateLimitGroup.Close may follow at
// once even when the loop finalises the bufferevent later (a ThreadSafe
// bufferevent closed on another goroutine, or one closed from its own
// callback). Whatever it still transfers until then is not charged to the
// group. Lock held.
func (b *BufferEvent) leaveGroupOnClose() { b.rl.LeaveGroup(); b.rlSync() }

// applyGroup turns the group's suspension into SuspendGroup. Lock held, on
// the loop.
func (b *BufferEvent) applyGroup() {
	if b.dead {
		return
	}
	r, w := b.rl.GroupSuspended()
	if r {
		b.suspendRead(backend.SuspendGroup)
	} else {
		b.unsuspendRead(backend.SuspendGroup)
	}
	if w {
		b.suspendWrite(backend.SuspendGroup)
	} else {
		b.unsuspendWrite(backend.SuspendGroup)
	}
}

// groupMember is the ratelimit.Member of a bufferevent: notifications may
// come from any goroutine, so they are handed to the loop.
type groupMember struct {
	b      *BufferEvent
	mu     sync.Mutex
	queued bool
	fn     func()
}

func (m *groupMember) GroupChanged(ratelimit.Direction) {
	m.mu.Lock()
	if m.queued {
		m.mu.Unlock()
		return
	}
	m.queued = true
	m.mu.Unlock()
	if m.b.base.RunInLoop(m.fn) != nil {
		m.mu.Lock()
		m.queued = false
		m.mu.Unlock()
	}
}

func (m *groupMember) run() {
	m.mu.Lock()
	m.queued = false
	m.mu.Unlock()
	b := m.b
	b.lockLoop()
	b.applyGroup()
	b.unlockLoop()
}

// RateLimitGroup is a rate limit shared by many bufferevents (libevent's
// bufferevent_rate_limit_group): a ratelimit.Group plus the refill timer
// that drives it on one base. Members may live on other bases. Its methods
// are safe for concurrent use except Close, which is loop-confined (to the
// group's base).
//
// Unlike libevent's persistent per-tick timer, the refill timer is armed
// only while the group has suspended a direction or members wait for their
// turn (ratelimit.Group.NeedsRefill): otherwise members credit
// the elapsed ticks themselves when they ask for their shares (the same
// arithmetic, from their base's cached time), so a group limit that never
// binds costs no timer and no extra loop wake-ups. A charge that suspends a
// direction activates the timer (ratelimit.Group.OnSuspend), from any
// goroutine; its callback refills, resumes if it can, and re-arms for the
// next tick while something stays suspended.
type RateLimitGroup struct {
	g     *ratelimit.Group
	base  *eventbase.Base
	timer *eventbase.Event
}

// NewRateLimitGroup creates a group limited by cfg whose refill timer runs
// on base (libevent's bufferevent_rate_limit_group_new). Loop-confined to
// base.
func NewRateLimitGroup(base *eventbase.Base, cfg *ratelimit.Config) (*RateLimitGroup, error) {
	if base == nil {
		return nil, ErrNilBase
	}
	g, err := ratelimit.NewGroup(cfg, base.Now())
	if err != nil {
		return nil, err
	}
	rg := &RateLimitGroup{g: g, base: base}
	t, err := base.NewTimer(rg.tick)
	if err != nil {
		return nil, err
	}
	rg.timer = t
	g.OnSuspend(rg.wake)
	return rg, nil
}

// wake runs the refill callback soon, on the group's base: a direction was
// just suspended. Any goroutine.
func (rg *RateLimitGroup) wake() { rg.timer.Active(eventbase.Timeout, 1) }

// arm arms the refill timer for next, or stops it if next is the zero time
// or the group needs no refills (nothing suspended, no member waiting for
// its turn). On the group's loop.
func (rg *RateLimitGroup) arm(next time.Time) {
	// A suspension or wait after this check calls wake, whose callback arms
	// again.
	if next.IsZero() || !rg.g.NeedsRefill() {
		_ = rg.timer.Del()
		return
	}
	_ = rg.timer.AddTimeout(max(next.Sub(rg.base.Now()), 0))
}

func (rg *RateLimitGroup) tick() { rg.arm(rg.g.Refill(rg.base.Now())) }

// Group returns the accounting object, for inspection (limits, totals,
// min share, DecrementRead/Write). Change its config with
// RateLimitGroup.SetConfig, which also re-arms the refill timer;
// Group().SetConfig alone leaves the timer armed for the old tick. Safe for
// concurrent use.
func (rg *RateLimitGroup) Group() *ratelimit.Group { return rg.g }

// SetConfig replaces the group's config (libevent's
// bufferevent_rate_limit_group_set_cfg): the levels are clipped to the new
// bursts, the min share is recomputed, and the refill timer is re-armed for
// the new tick. Safe for concurrent use, as the type's doc says: the
// accounting changes at once, and the timer, which belongs to the group's
// loop, is re-armed there (its callback is activated, as a suspension does,
// and refills and arms it).
func (rg *RateLimitGroup) SetConfig(cfg *ratelimit.Config) error {
	if err := rg.g.SetConfig(cfg, rg.base.Now()); err != nil {
		return err
	}
	rg.wake()
	return nil
}

// Close retires the group; it fails with ratelimit.ErrGroupHasMembers while
// bufferevents are still members. Loop-confined to the group's base.
//
// A DecrementRead or DecrementWrite on another goroutine that suspended a
// direction just before Close may call the group's wake-up (its OnSuspend
// function) after Close returned: that call only activates the freed
// refill timer through Event.Active, which is safe for concurrent use and
// ignored for a freed event (or a closed base), so nothing runs and nothing
// leaks (TestRateLimitGroupCloseRacesDecrements hammers this under -race).
func (rg *RateLimitGroup) Close() error {
	if err := rg.g.Close(); err != nil {
		return err
	}
	rg.g.OnSuspend(nil)
	rg.timer.Free()
	return nil
}

// JoinGroup makes the bufferevent a member of g, leaving any other group
// (libevent's bufferevent_add_to_rate_limit_group); it inherits the group's
// current suspension. Loop-confined unless ThreadSafe (then applied on the
// loop, reporting only ErrClosed).
func (b *BufferEvent) JoinGroup(g *RateLimitGroup) error {
	if g == nil {
		return ratelimit.ErrNilGroup
	}
	_, err := b.onLoopRun(func() (bool, error) {
		m := &groupMember{b: b}
		m.fn = m.run
		if err := b.rl.JoinGroup(g.g, m); err != nil {
			return false, err
		}
		b.rlSync()
		b.applyGroup()
		return false, nil
	})
	return err
}

// LeaveGroup removes the bufferevent from its group, lifting the group's
// suspension (libevent's bufferevent_remove_from_rate_limit_group).
// Loop-confined unless ThreadSafe (then applied on the loop).
func (b *BufferEvent) LeaveGroup() error {
	_, err := b.onLoopRun(func() (bool, error) {
		b.rl.LeaveGroup()
		b.rlSync()
		b.applyGroup()
		return false, nil
	})
	return err
}

var errNoGroup = errors.New("bufferevent: not in a rate-limit group")

// Group returns the ratelimit.Group the bufferevent belongs to, or an
// error if none. Loop-confined unless ThreadSafe.
func (b *BufferEvent) Group() (*ratelimit.Group, error) {
	if err := b.enter(); err != nil {
		return nil, err
	}
	defer b.leave()
	if g := b.rl.Group(); g != nil {
		return g, nil
	}
	return nil, errNoGroup
}
