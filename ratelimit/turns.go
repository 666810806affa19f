package ratelimit

import "sync"

// Turns: fairness when the min share binds.
//
// While ⌈base/n⌉ ≥ the min share, every busy member gets one share per tick whatever the
// order (see Group.share). When the min share is larger, only about level/minShare
// members can transfer per tick, and who they are would be decided by the order the
// poller reports the members in, which may be the same every tick. Then the group deals
// turns in rounds: a member that transferred in the current round (while the min share
// bound) waits, suspended for the group (Limiter.GroupSuspended reports it), until the
// next round releases it. A round ends when every member has had its turn; when a tick
// ends with credit left over (no member that had not had its turn wanted it); or when
// the member that took the latest turn asks again within the same tick, nobody having
// taken a turn since (the others that have not had theirs are not asking: idle), so that
// a few busy members among idle ones still use the whole group rate.

// dirIndex is 0 for Read, 1 for Write.
func dirIndex(d Direction) int {
	if d == Write {
		return 1
	}
	return 0
}

// scarce reports whether the min share binds in direction i. g.mu is held.
func (g *Group) scarce(i int) bool {
	s := g.readShare
	if i == 1 {
		s = g.writeShare
	}
	return s < g.minShare
}

// takeTurn reports whether member l may transfer in direction i now; if it already had
// its turn in the current round it starts waiting (the caller notifies it after
// unlocking: it must suspend). g.mu is held. It returns wait=true when l newly waits.
func (g *Group) takeTurn(l *Limiter, i int) (ok, wait bool) {
	if !g.scarce(i) || l.served[i] != g.round[i] {
		return true, false
	}
	if g.lastServed[i] == l && g.lastServedTick[i] == g.ticks {
		g.nextRound(i)
		return true, false
	}
	if l.waiting[i] {
		return false, false
	}
	l.waiting[i] = true
	g.nWaiting[i]++
	return false, true
}

// served records that l transferred n > 0 bytes in direction i; the round ends once every
// member had its turn. g.mu is held.
func (g *Group) served(l *Limiter, i int, n int64) {
	if n <= 0 || !g.scarce(i) || l.served[i] == g.round[i] {
		return
	}
	l.served[i] = g.round[i]
	g.lastServed[i], g.lastServedTick[i] = l, g.ticks
	g.nServed[i]++
	if g.nServed[i] >= len(g.members) {
		g.nextRound(i)
	}
}

// nextRound starts a new round in direction i, releasing the waiting members into
// g.released (notified by the caller after unlocking). g.mu is held.
func (g *Group) nextRound(i int) {
	g.round[i]++
	g.nServed[i] = 0
	if g.nWaiting[i] == 0 {
		return
	}
	d := Read
	if i == 1 {
		d = Write
	}
	for _, l := range g.members {
		if l.waiting[i] {
			l.waiting[i] = false
			g.released = append(g.released, released{l.member, d})
		}
	}
	g.nWaiting[i] = 0
}

// endTick runs when ticks are credited: a direction with members waiting starts a new
// round if the last tick left credit over (it is not suspended: every member that wanted
// a turn had one) or if the min share no longer binds. g.mu is held.
func (g *Group) endTick() {
	g.ticks++
	for i, suspended := range [2]bool{g.readSuspended, g.writeSuspended} {
		if g.nWaiting[i] > 0 && (!suspended || !g.scarce(i)) {
			g.nextRound(i)
		}
	}
}

// leaveTurns forgets l's turns as it leaves. g.mu is held.
func (g *Group) leaveTurns(l *Limiter) {
	for i := range 2 {
		if g.lastServed[i] == l {
			g.lastServed[i] = nil
		}
		if l.waiting[i] {
			l.waiting[i] = false
			g.nWaiting[i]--
		}
		if l.served[i] == g.round[i] {
			g.nServed[i]--
		}
		l.served[i] = 0
	}
}

// released is a member to notify that its wait is over.
type released struct {
	m Member
	d Direction
}

// releasedPool recycles the snapshots of released members, so that starting a round
// allocates nothing in steady state.
var releasedPool = sync.Pool{New: func() any { return new([]released) }}

// takeReleased moves the members released by nextRound out of the group, for delivery
// after g.mu is released; nil if there are none. g.mu is held.
func (g *Group) takeReleased() *[]released {
	if len(g.released) == 0 {
		return nil
	}
	sp := releasedPool.Get().(*[]released)
	*sp = append((*sp)[:0], g.released...)
	clear(g.released)
	g.released = g.released[:0]
	return sp
}

// deliver notifies the members in rs (from takeReleased) and recycles rs. g.mu is not
// held.
func deliver(rs *[]released) {
	if rs == nil {
		return
	}
	for _, r := range *rs {
		r.m.GroupChanged(r.d)
	}
	clear(*rs)
	*rs = (*rs)[:0]
	releasedPool.Put(rs)
}

// unlock releases g.mu and notifies the members released meanwhile. g.mu is held.
// Small enough to be inlined: the common case costs a length test.
func (g *Group) unlock() {
	if len(g.released) == 0 {
		g.mu.Unlock()
		return
	}
	g.unlockRelease()
}

// unlockRelease is unlock's slow path.
func (g *Group) unlockRelease() {
	rs := g.takeReleased()
	g.mu.Unlock()
	deliver(rs)
}
