package ratelimit

import (
	"encoding/binary"
	"errors"
	"math"
	"math/big"
	"testing"
	"time"
)

// bigBucket is a reference model of one direction of a bucket in unbounded arithmetic.
type bigBucket struct {
	level, rate, burst *big.Int
}

var (
	bigMin = big.NewInt(math.MinInt64)
	bigMax = big.NewInt(math.MaxInt64)
)

func clampBig(x *big.Int) *big.Int {
	if x.Cmp(bigMin) < 0 {
		return new(big.Int).Set(bigMin)
	}
	if x.Cmp(bigMax) > 0 {
		return new(big.Int).Set(bigMax)
	}
	return x
}

func (m *bigBucket) sub(n int64) {
	m.level = clampBig(new(big.Int).Sub(m.level, big.NewInt(n)))
}

func (m *bigBucket) refill(n int64) {
	if n <= 0 || m.level.Cmp(m.burst) >= 0 {
		return
	}
	x := new(big.Int).Mul(big.NewInt(n), m.rate)
	x.Add(x, m.level)
	if x.Cmp(m.burst) > 0 {
		x.Set(m.burst)
	}
	m.level = x
}

func validConfig(rr, rb, wr, wb int64, tick time.Duration) bool {
	return rr >= 1 && wr >= 1 && rr <= rb && wr <= wb && tick >= 0 &&
		tick/time.Second <= math.MaxInt32/1000 && tick.Truncate(time.Millisecond) >= time.Millisecond
}

type fuzzMember struct{ n int }

func (m *fuzzMember) GroupChanged(Direction) { m.n++ }

// FuzzLimiter checks NewConfig's validation against an independent predicate, then runs
// a sequence of operations on a Limiter (own bucket + group) and compares the levels with
// a big-integer model: no panic, no overflow, refills exact, MaxTo within bounds, the
// group never unsuspended with an empty bucket.
func FuzzLimiter(f *testing.F) {
	f.Add(int64(100), int64(400), int64(50), int64(50), int64(100*time.Millisecond), []byte{0, 1, 2, 3, 4, 5, 6, 7})
	f.Add(int64(1), int64(1), int64(1), int64(1), int64(0), []byte{})
	f.Add(int64(math.MaxInt64), int64(math.MaxInt64), int64(1), int64(math.MaxInt64), int64(time.Millisecond),
		[]byte{1, 255, 255, 255, 255, 255, 255, 255, 127, 1, 255, 255, 255, 255, 255, 255, 255, 127, 0, 0, 0, 0, 0, 1, 0, 0, 0})
	f.Add(int64(3), int64(10), int64(3), int64(10), int64(1500*time.Microsecond), []byte{3, 0, 0, 0, 0, 0, 0, 0, 128, 7, 0, 9, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, rr, rb, wr, wb, tickNs int64, ops []byte) {
		tick := time.Duration(tickNs)
		cfg, err := NewConfig(rr, rb, wr, wb, tick)
		if valid := validConfig(rr, rb, wr, wb, tick); valid != (err == nil) {
			t.Fatalf("NewConfig(%d, %d, %d, %d, %v) = %v; valid %v", rr, rb, wr, wb, tick, err, valid)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidTick) && !errors.Is(err, ErrInvalidRate) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if cfg.Tick()%time.Millisecond != 0 || cfg.Tick() > MaxTick || cfg.Tick() < time.Millisecond {
			t.Fatalf("tick %v", cfg.Tick())
		}
		var l Limiter
		l.SetConfig(cfg, t0)
		mr := bigBucket{big.NewInt(rr), big.NewInt(rr), big.NewInt(rb)}
		mw := bigBucket{big.NewInt(wr), big.NewInt(wr), big.NewInt(wb)}
		last := int64(0)
		g, err := newGroup(cfg, t0, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		fm := &fuzzMember{}
		if err := l.JoinGroup(g, fm); err != nil {
			t.Fatal(err)
		}
		var offset time.Duration
		refillModel := func() {
			now := floorDiv(int64(offset), int64(cfg.tick))
			if now > last {
				mr.refill(now - last)
				mw.refill(now - last)
				last = now
			}
		}
		for len(ops) > 0 {
			op := ops[0]
			ops = ops[1:]
			var arg int64
			if len(ops) >= 8 {
				arg = int64(binary.LittleEndian.Uint64(ops))
				ops = ops[8:]
			} else if len(ops) > 0 {
				arg = int64(ops[0])
				ops = ops[1:]
			}
			now := t0.Add(offset)
			switch op % 9 {
			case 0: // time moves, mostly forwards, sometimes back
				offset += time.Duration(arg % (1 << 42))
				now = t0.Add(offset)
				got := l.ReadLimit(now)
				refillModel()
				if got != l.b.read {
					t.Fatalf("ReadLimit %d, level %d", got, l.b.read)
				}
			case 1:
				l.ChargeRead(arg)
				mr.sub(max(arg, 0))
			case 2:
				l.ChargeWrite(arg)
				mw.sub(max(arg, 0))
			case 3:
				if err := l.DecrementReadLimit(arg); err != nil {
					t.Fatal(err)
				}
				mr.sub(arg)
			case 4:
				if err := l.DecrementWriteLimit(arg); err != nil {
					t.Fatal(err)
				}
				mw.sub(arg)
			case 5:
				got := l.MaxToWrite(now, arg)
				refillModel()
				share := g.share(&l, Write, now)
				want := max(min(arg, l.b.write, share), 0)
				if got != want || got < 0 || got > max(arg, 0) {
					t.Fatalf("MaxToWrite(%d) = %d, want %d (level %d, share %d)", arg, got, want, l.b.write, share)
				}
			case 6:
				next := g.Refill(now)
				if !next.After(now) {
					t.Fatalf("next refill %v not after %v", next, now)
				}
			case 7:
				g.DecrementRead(arg)
			case 8:
				at, ok := l.RefillAt()
				if ok != (l.b.read <= 0 || l.b.write <= 0) {
					t.Fatalf("RefillAt ok %v with levels %d/%d", ok, l.b.read, l.b.write)
				}
				if ok && at.Before(t0.Add(time.Duration(l.b.last)*cfg.tick)) {
					t.Fatalf("RefillAt %v before the last refill", at)
				}
			}
			if mr.level.Int64() != l.b.read || mw.level.Int64() != l.b.write || last != l.b.last {
				t.Fatalf("op %d: levels %d/%d last %d, model %v/%v last %d",
					op%9, l.b.read, l.b.write, l.b.last, mr.level, mw.level, last)
			}
			if l.ReadBlocked() != (l.b.read <= 0) || l.WriteBlocked() != (l.b.write <= 0) {
				t.Fatal("blocked disagrees with the levels")
			}
			gr, gw := g.Suspended()
			if !gr && g.ReadLimit() <= 0 || !gw && g.WriteLimit() <= 0 {
				t.Fatalf("group not suspended with levels %d/%d", g.ReadLimit(), g.WriteLimit())
			}
		}
		l.LeaveGroup()
		if err := g.Close(); err != nil {
			t.Fatal(err)
		}
	})
}
