package ratelimit

import (
	"math"
	"time"
)

// bucket is a read/write token-bucket pair: libevent's ev_token_bucket. Levels are signed so
// a transfer may overdraw them ("deficit spending"); a refill adds rate×ticks and caps at
// the burst.
//
// Time is counted in whole ticks since epoch, the time the bucket was initialised: the tick
// number of a time t is floor((t − epoch) / tick). A refill credits every tick boundary
// crossed since the last one, so the credit over any period is exact whatever the timing of
// the calls (no drift, no lost fractions). libevent numbers ticks from the Unix epoch with
// a wall clock; a per-bucket epoch does the same arithmetic but, when the times carry Go's
// monotonic reading (time.Now and times derived from it), is immune to wall-clock steps.
type bucket struct {
	read, write int64
	last        int64 // tick number of the last refill; never decreases
	epoch       time.Time
	// next is the start of tick last+1: update's fast path, a comparison instead of a
	// subtraction and a division on every transfer.
	next time.Time
}

// init fills the bucket to the rates (not the bursts) and starts counting ticks at now.
func (b *bucket) init(cfg *Config, now time.Time) {
	b.read, b.write = cfg.readRate, cfg.writeRate
	b.epoch, b.last = now, 0
	b.next = b.tickTime(cfg, 1)
}

// reconfigure switches from old to cfg at now. Like libevent it only clips the levels down
// to the new bursts (the current tick's budget may already be spent). With the same tick
// length the tick numbering is kept, so the next refill credits the pending ticks at the new
// rates, as in libevent. With a different tick length libevent keeps a tick number from the
// old numbering, which makes the next refill credit either a huge number of ticks or none
// for a very long time; we restart the numbering at now instead (the partial tick in
// progress is not credited).
func (b *bucket) reconfigure(old, cfg *Config, now time.Time) {
	b.read = min(b.read, cfg.readBurst)
	b.write = min(b.write, cfg.writeBurst)
	if old.tick != cfg.tick {
		b.epoch, b.last = now, 0
		b.next = b.tickTime(cfg, 1)
	}
}

// tickAt returns the tick number now falls in.
func (b *bucket) tickAt(cfg *Config, now time.Time) int64 {
	return floorDiv(int64(now.Sub(b.epoch)), int64(cfg.tick))
}

// update credits the ticks elapsed since the last refill, as libevent's
// ev_token_bucket_update_. It does nothing when no tick boundary was crossed or when now is
// earlier than the last refill (time went backwards). It reports whether it refilled.
func (b *bucket) update(cfg *Config, now time.Time) bool {
	if now.Before(b.next) {
		return false
	}
	t := b.tickAt(cfg, now)
	n := t - b.last
	if n <= 0 {
		return false
	}
	b.read = refill(b.read, cfg.readRate, cfg.readBurst, n)
	b.write = refill(b.write, cfg.writeRate, cfg.writeBurst, n)
	b.last = t
	b.next = b.tickTime(cfg, t+1)
	return true
}

// tickTime returns the start of tick number n, saturating far in the past or future.
func (b *bucket) tickTime(cfg *Config, n int64) time.Time {
	d := int64(cfg.tick)
	switch {
	case n > math.MaxInt64/d:
		return b.epoch.Add(math.MaxInt64)
	case n < math.MinInt64/d:
		return b.epoch.Add(math.MinInt64)
	}
	return b.epoch.Add(time.Duration(n * d))
}

// positiveAt returns the first tick number at which a level, refilled at rate per tick
// from tick last, becomes positive. The level must be ≤ 0.
func positiveAt(level, rate, last int64) int64 {
	need := uint64(1) - uint64(level) // 1 − level, exact for every level ≤ 0
	ticks := (need + uint64(rate) - 1) / uint64(rate)
	if ticks > uint64(math.MaxInt64-last) {
		return math.MaxInt64
	}
	return last + int64(ticks)
}

// refill adds n ticks of rate to level, capped at burst, without overflowing (libevent's
// overflow-safe form). A level already at or above the burst (possible after a manual
// negative decrement) is left alone: a refill never lowers a bucket. libevent's unsigned
// arithmetic would overflow in that case.
func refill(level, rate, burst, n int64) int64 {
	if level >= burst {
		return level
	}
	room := uint64(burst) - uint64(level) // exact: burst > level
	if room/uint64(n) < uint64(rate) {
		return burst
	}
	// level + n×rate ≤ burst fits in an int64 even when n×rate alone does not.
	return int64(uint64(level) + uint64(n)*uint64(rate))
}

// subSat returns a − b, saturating at the int64 bounds.
func subSat(a, b int64) int64 {
	c := a - b
	if (b > 0 && c > a) || (b < 0 && c < a) {
		if b > 0 {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	return c
}

// floorDiv is a / b rounded toward negative infinity, for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}
