package ratelimit

// Reserve, then settle (libevent's bufferevent_async): a completion-based backend charges
// the size of an operation when it starts it, so that the operations in flight together
// never overspend the buckets, and gives back the part the operation did not transfer when
// it completes.

// ReserveRead charges n bytes for a read operation that starts now and will transfer at
// most n (libevent's up-front decrement in bufferevent_async): it is ChargeRead, and the
// limiter remembers the group's part until SettleRead, so that leaving the group (a
// closed bufferevent leaves it at once) gives the reservation back to the group instead of
// losing it. n ≤ 0 does nothing. Afterwards the caller re-reads ReadBlocked and RefillAt.
// Not safe for concurrent use.
func (l *Limiter) ReserveRead(n int64) {
	if n <= 0 {
		return
	}
	l.ChargeRead(n)
	if l.group != nil {
		l.resRead += n
	}
}

// ReserveWrite is ReserveRead for the write direction. Not safe for concurrent use.
func (l *Limiter) ReserveWrite(n int64) {
	if n <= 0 {
		return
	}
	l.ChargeWrite(n)
	if l.group != nil {
		l.resWrite += n
	}
}

// SettleRead ends a reservation of reserved bytes made with ReserveRead by an operation
// that read used bytes: the unused part is refunded (RefundRead) to the per-connection
// bucket and, unless the limiter left the group since (which refunded the whole
// reservation then), to the group. It is exact when at most one reservation per direction
// is outstanding, as with one operation in flight per direction. Afterwards the caller
// re-reads ReadBlocked and RefillAt. Not safe for concurrent use.
func (l *Limiter) SettleRead(reserved, used int64) {
	unused := max(reserved-max(used, 0), 0)
	if l.cfg != nil && unused > 0 {
		l.b.read = refunded(l.b.read, unused, l.cfg.readBurst)
	}
	if reserved <= 0 {
		return
	}
	if l.group != nil && l.resRead >= reserved {
		l.resRead -= reserved
		if unused > 0 {
			l.group.refund(Read, unused)
		}
		return
	}
	l.resRead -= min(l.resRead, reserved)
}

// SettleWrite is SettleRead for the write direction. Not safe for concurrent use.
func (l *Limiter) SettleWrite(reserved, used int64) {
	unused := max(reserved-max(used, 0), 0)
	if l.cfg != nil && unused > 0 {
		l.b.write = refunded(l.b.write, unused, l.cfg.writeBurst)
	}
	if reserved <= 0 {
		return
	}
	if l.group != nil && l.resWrite >= reserved {
		l.resWrite -= reserved
		if unused > 0 {
			l.group.refund(Write, unused)
		}
		return
	}
	l.resWrite -= min(l.resWrite, reserved)
}

// RefundRead gives back n bytes charged with ChargeRead but not read: the per-connection
// read level rises by n, and the group's read level rises by n and its read total drops by
// n, so that the totals count the bytes transferred. A level never rises above its burst
// through a refund (a refill may have topped it up since the charge). If the group's
// reading was suspended and the refund brings it back to its min share, it resumes and
// notifies the members, as ChargeRead does. n ≤ 0 does nothing. For operations in flight
// prefer ReserveRead and SettleRead, which survive leaving the group. Afterwards the
// caller re-reads ReadBlocked and RefillAt. Not safe for concurrent use.
func (l *Limiter) RefundRead(n int64) {
	if n <= 0 {
		return
	}
	if l.cfg != nil {
		l.b.read = refunded(l.b.read, n, l.cfg.readBurst)
	}
	if l.group != nil {
		l.group.refund(Read, n)
	}
}

// RefundWrite is RefundRead for the write direction. Not safe for concurrent use.
func (l *Limiter) RefundWrite(n int64) {
	if n <= 0 {
		return
	}
	if l.cfg != nil {
		l.b.write = refunded(l.b.write, n, l.cfg.writeBurst)
	}
	if l.group != nil {
		l.group.refund(Write, n)
	}
}

// releaseReservations gives the group back what operations in flight reserved from it;
// the limiter is leaving it.
func (l *Limiter) releaseReservations() {
	if l.resRead > 0 {
		l.group.refund(Read, l.resRead)
		l.resRead = 0
	}
	if l.resWrite > 0 {
		l.group.refund(Write, l.resWrite)
		l.resWrite = 0
	}
}

// refunded returns level + n > 0, capped at burst (but never below level).
func refunded(level, n, burst int64) int64 {
	r := subSat(level, -n)
	if r > burst {
		r = max(level, burst)
	}
	return r
}

// refund gives back n > 0 bytes charged in direction d but not transferred.
func (g *Group) refund(d Direction, n int64) {
	g.mu.Lock()
	level, suspended, total, burst := &g.b.read, &g.readSuspended, &g.totalRead, g.cfg.readBurst
	if d == Write {
		level, suspended, total, burst = &g.b.write, &g.writeSuspended, &g.totalWritten, g.cfg.writeBurst
	}
	*total -= min(*total, uint64(n))
	*level = refunded(*level, n, burst)
	if *suspended && g.canResume(*level) {
		*suspended = false
		g.setBase(d)
		g.notifyUnlock(d, true)
		return
	}
	g.mu.Unlock()
}
