package ratelimit

import (
	"math"
	"time"
)

// Direction is a set of transfer directions, used by Member notifications. It is a plain
// value: safe for concurrent use.
type Direction uint8

// Directions.
// Constants, safe for concurrent use.
const (
	// Read is the receiving direction (bytes read from the transport into the input buffer).
	Read Direction = 1 << iota
	// Write is the sending direction (bytes written from the output buffer to the transport).
	Write
)

// String returns "read", "write", "read|write" or "none". Safe for concurrent use.
func (d Direction) String() string {
	switch d & (Read | Write) {
	case Read:
		return "read"
	case Write:
		return "write"
	case Read | Write:
		return "read|write"
	}
	return "none"
}

// Limiter is the rate-limit state of one bufferevent: an optional per-connection bucket
// (SetConfig) and an optional Group membership (JoinGroup). It is libevent's
// bufferevent_rate_limit. The zero value is ready to use and limits nothing. A Limiter must
// not be copied after first use (a Group keeps a pointer to it; go vet reports copies).
//
// A Limiter is not safe for concurrent use: it belongs to its bufferevent and is called
// from that bufferevent's loop goroutine, or under the bufferevent's lock for thread-safe
// bufferevents. Its group operations lock the Group internally, so limiters on different
// loops may share one Group.
//
// Every method that reads the per-connection bucket takes now, the base's cached time; the
// package never reads a clock itself.
type Limiter struct {
	_     noCopy
	cfg   *Config // per-connection config; nil if none
	b     bucket  // valid when cfg != nil
	group *Group  // written only by the owner; read only by the owner

	// Guarded by group.mu: the group reads member while notifying and rewrites idx when
	// another member leaves.
	member  Member
	idx     int
	served  [2]uint64 // round of the member's last turn, by dirIndex
	waiting [2]bool   // waiting for the next round

	// Bytes reserved from the group by operations in flight (ReserveRead), given back
	// when the limiter leaves the group (refund.go).
	resRead, resWrite int64
}

// SetConfig sets the per-connection limit, libevent's bufferevent_set_rate_limit. A nil
// cfg removes it (group membership is kept). The same cfg again is a no-op. A first config
// fills the buckets to the rates (not the bursts) and starts counting ticks at now; a
// different config clips the current levels to the new bursts (see the package overview).
// Afterwards the caller re-reads ReadBlocked, WriteBlocked and RefillAt.
// Not safe for concurrent use.
func (l *Limiter) SetConfig(cfg *Config, now time.Time) {
	switch {
	case cfg == l.cfg:
	case cfg == nil:
		l.cfg = nil
	case l.cfg == nil:
		l.cfg = cfg
		l.b.init(cfg, now)
	default:
		l.b.reconfigure(l.cfg, cfg, now)
		l.cfg = cfg
	}
}

// Config returns the per-connection config, or nil. Not safe for concurrent use.
func (l *Limiter) Config() *Config { return l.cfg }

// ReadLimit refills the per-connection bucket up to now and returns its read level, which
// may be negative; math.MaxInt64 if there is no per-connection config. The group is not
// consulted (libevent's bufferevent_get_read_limit). Not safe for concurrent use.
func (l *Limiter) ReadLimit(now time.Time) int64 {
	if l.cfg == nil {
		return math.MaxInt64
	}
	l.b.update(l.cfg, now)
	return l.b.read
}

// WriteLimit is ReadLimit for the write direction. Not safe for concurrent use.
func (l *Limiter) WriteLimit(now time.Time) int64 {
	if l.cfg == nil {
		return math.MaxInt64
	}
	l.b.update(l.cfg, now)
	return l.b.write
}

// MaxToRead returns how many bytes the bufferevent may read now: the smallest of maxSingle
// (the caller's own maximum per read, e.g. its max single read), the per-connection read
// level after a refill up to now, and this member's group share (0 while the group's
// reading is suspended; the group's elapsed ticks up to now are credited first); never
// negative. It is libevent's bufferevent_get_read_max_, except
// that maxSingle always applies (libevent replaces it with the bucket level, then relies on
// the input buffer's own read cap). A result of 0 means "do not read now"; never treat it
// as end of stream. Not safe for concurrent use.
func (l *Limiter) MaxToRead(now time.Time, maxSingle int64) int64 {
	m := maxSingle
	if l.cfg != nil {
		l.b.update(l.cfg, now)
		m = min(m, l.b.read)
	}
	if l.group != nil {
		m = min(m, l.group.share(l, Read, now))
	}
	return max(m, 0)
}

// MaxToWrite is MaxToRead for the write direction. Not safe for concurrent use.
func (l *Limiter) MaxToWrite(now time.Time, maxSingle int64) int64 {
	m := maxSingle
	if l.cfg != nil {
		l.b.update(l.cfg, now)
		m = min(m, l.b.write)
	}
	if l.group != nil {
		m = min(m, l.group.share(l, Write, now))
	}
	return max(m, 0)
}

// ChargeRead accounts n bytes just read (libevent's bufferevent_decrement_read_buckets_):
// the per-connection read level drops by n, and the group's read level drops by n and its
// read total grows by n. If that empties the group's read bucket, the group suspends
// reading and notifies every member (this one included, synchronously, after releasing the
// group's lock); if the group was suspended and now holds at least its min share, it
// resumes and notifies them. A negative n counts as 0. Afterwards the caller re-reads
// ReadBlocked and RefillAt. Not safe for concurrent use.
func (l *Limiter) ChargeRead(n int64) {
	n = max(n, 0)
	if l.cfg != nil {
		l.b.read = subSat(l.b.read, n)
	}
	if l.group != nil {
		l.group.charge(l, Read, n)
	}
}

// ChargeWrite is ChargeRead for the write direction. Not safe for concurrent use.
func (l *Limiter) ChargeWrite(n int64) {
	n = max(n, 0)
	if l.cfg != nil {
		l.b.write = subSat(l.b.write, n)
	}
	if l.group != nil {
		l.group.charge(l, Write, n)
	}
}

// DecrementReadLimit lowers the per-connection read level by n (a negative n raises it, even
// above the burst), libevent's bufferevent_decrement_read_limit. The group is untouched.
// It returns ErrNoConfig if there is no per-connection config. Afterwards the caller
// re-reads ReadBlocked and RefillAt. Not safe for concurrent use.
func (l *Limiter) DecrementReadLimit(n int64) error {
	if l.cfg == nil {
		return ErrNoConfig
	}
	l.b.read = subSat(l.b.read, n)
	return nil
}

// DecrementWriteLimit is DecrementReadLimit for the write direction. Not safe for
// concurrent use.
func (l *Limiter) DecrementWriteLimit(n int64) error {
	if l.cfg == nil {
		return ErrNoConfig
	}
	l.b.write = subSat(l.b.write, n)
	return nil
}

// Refill credits the per-connection bucket with the ticks elapsed up to now; the caller's
// refill timer calls it, then re-reads ReadBlocked, WriteBlocked and RefillAt. It reports
// whether any tick was credited. Not safe for concurrent use.
func (l *Limiter) Refill(now time.Time) bool {
	if l.cfg == nil {
		return false
	}
	return l.b.update(l.cfg, now)
}

// ReadBlocked reports whether the per-connection read level is exhausted (≤ 0), i.e.
// whether the bufferevent must suspend reading for its own bandwidth limit (libevent's
// BEV_SUSPEND_BW). It does not refill and does not consult the group. Not safe for
// concurrent use.
func (l *Limiter) ReadBlocked() bool { return l.cfg != nil && l.b.read <= 0 }

// WriteBlocked is ReadBlocked for the write direction. Not safe for concurrent use.
func (l *Limiter) WriteBlocked() bool { return l.cfg != nil && l.b.write <= 0 }

// RefillAt returns when the per-connection refill timer should fire, and false if no timer
// is needed (no config, or neither direction blocked). The time is the first tick boundary
// at which a blocked direction becomes positive again, so one timer covers a deficit of
// many ticks (libevent instead re-arms one tick at a time). It may lie in the past; fire at
// once then. Not safe for concurrent use.
func (l *Limiter) RefillAt() (time.Time, bool) {
	if l.cfg == nil {
		return time.Time{}, false
	}
	t := int64(math.MaxInt64)
	if l.b.read <= 0 {
		t = positiveAt(l.b.read, l.cfg.readRate, l.b.last)
	}
	if l.b.write <= 0 {
		t = min(t, positiveAt(l.b.write, l.cfg.writeRate, l.b.last))
	}
	if l.b.read > 0 && l.b.write > 0 {
		return time.Time{}, false
	}
	return l.b.tickTime(l.cfg, t), true
}

// JoinGroup makes the limiter a member of g, notified through m; it first leaves any other
// group (libevent's bufferevent_add_to_rate_limit_group). Joining the group it is already
// in changes nothing. The new member inherits the group's suspension: the caller reads
// GroupSuspended afterwards and applies it. It fails with ErrNilGroup for a nil g or m and
// with ErrGroupClosed (leaving the limiter in no group) if g is closed. Not safe for
// concurrent use (of the Limiter; the Group may be used concurrently).
func (l *Limiter) JoinGroup(g *Group, m Member) error {
	if g == nil || m == nil {
		return ErrNilGroup
	}
	if l.group == g {
		return nil
	}
	l.LeaveGroup()
	if err := g.add(l, m); err != nil {
		return err
	}
	l.group = g
	return nil
}

// LeaveGroup removes the limiter from its group, if any (libevent's
// bufferevent_remove_from_rate_limit_group). The caller then lifts its group suspension
// (GroupSuspended now reports false, false). The bufferevent core calls it on close.
// Not safe for concurrent use.
func (l *Limiter) LeaveGroup() {
	if l.group == nil {
		return
	}
	l.releaseReservations()
	l.group.remove(l)
	l.group = nil
}

// Group returns the limiter's group, or nil. Not safe for concurrent use.
func (l *Limiter) Group() *Group { return l.group }

// GroupSuspended reports whether the limiter's group has suspended reading and writing
// for this member (libevent's BEV_SUSPEND_BW_GROUP): the group is suspended in that
// direction, or this member waits for its turn (see Fairness in the package overview);
// false, false if the limiter is in no group. Call it
// when a Member notification is handled, and after JoinGroup. Not safe for concurrent use.
func (l *Limiter) GroupSuspended() (read, write bool) {
	if l.group == nil {
		return false, false
	}
	return l.group.suspendedFor(l)
}

// noCopy makes go vet's copylocks check report copies of a Limiter.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}
