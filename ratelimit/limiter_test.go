package ratelimit

import (
	"errors"
	"math"
	"testing"
	"time"
)

var t0 = time.Unix(1_700_000_000, 0)

// dirConfig returns a config whose direction d has the given rate and burst; the other
// direction gets different values (7/7), so a mix-up between the directions shows.
func dirConfig(tb testing.TB, d Direction, rate, burst int64, tick time.Duration) *Config {
	tb.Helper()
	if d == Read {
		return mustConfig(tb, rate, burst, 7, 7, tick)
	}
	return mustConfig(tb, 7, 7, rate, burst, tick)
}

// Operations of the bucket tables. Each step runs one operation and then checks the level
// of the direction under test without refilling.
type bucketOp int

const (
	opLimit  bucketOp = iota // ReadLimit/WriteLimit at t0+at (refills)
	opCharge                 // ChargeRead/ChargeWrite(n)
	opDecr                   // DecrementReadLimit/DecrementWriteLimit(n)
	opRefill                 // Refill(t0+at)
	opSetCfg                 // SetConfig(dirConfig(rate, burst, tick), t0+at)
	opMaxTo                  // MaxToRead/MaxToWrite(t0+at, n) must equal want
)

type bucketStep struct {
	op               bucketOp
	at               time.Duration
	n                int64
	rate, burst      int64
	tick             time.Duration
	want             int64 // level after the step (opMaxTo: the result)
	wantLast         int64 // tick number of the last refill, checked when ≥ 0
	wantRefilled     bool  // opRefill: its result
	checkRefillCount bool
}

func TestBucketTables(t *testing.T) {
	const ms = time.Millisecond
	tables := []struct {
		name        string
		rate, burst int64
		tick        time.Duration
		steps       []bucketStep
	}{
		{
			name: "starts at rate, refills per tick, caps at burst", rate: 100, burst: 250, tick: 100 * ms,
			steps: []bucketStep{
				{op: opLimit, at: 0, want: 100, wantLast: 0},
				{op: opLimit, at: 99 * ms, want: 100, wantLast: 0},
				{op: opLimit, at: 100 * ms, want: 200, wantLast: 1},
				{op: opLimit, at: 250 * ms, want: 250, wantLast: 2},
				{op: opLimit, at: 10 * time.Second, want: 250, wantLast: 100},
			},
		},
		{
			name: "negative debt is paid by later ticks", rate: 100, burst: 250, tick: 100 * ms,
			steps: []bucketStep{
				{op: opCharge, n: 1000, want: -900, wantLast: 0},
				{op: opLimit, at: 100 * ms, want: -800, wantLast: 1},
				{op: opLimit, at: 550 * ms, want: -400, wantLast: 5},
				{op: opLimit, at: time.Second, want: 100, wantLast: 10},
				{op: opLimit, at: 2 * time.Second, want: 250, wantLast: 20},
			},
		},
		{
			name: "time going backwards credits nothing", rate: 100, burst: 250, tick: 100 * ms,
			steps: []bucketStep{
				{op: opLimit, at: 500 * ms, want: 250, wantLast: 5},
				{op: opCharge, n: 250, want: 0, wantLast: 5},
				{op: opLimit, at: 300 * ms, want: 0, wantLast: 5},
				{op: opLimit, at: -time.Hour, want: 0, wantLast: 5},
				{op: opLimit, at: 599 * ms, want: 0, wantLast: 5},
				{op: opLimit, at: 600 * ms, want: 100, wantLast: 6},
			},
		},
		{
			name: "refill reports whether a tick passed", rate: 10, burst: 100, tick: 100 * ms,
			steps: []bucketStep{
				{op: opRefill, at: 50 * ms, want: 10, wantLast: 0, wantRefilled: false, checkRefillCount: true},
				{op: opRefill, at: 100 * ms, want: 20, wantLast: 1, wantRefilled: true, checkRefillCount: true},
				{op: opRefill, at: 100 * ms, want: 20, wantLast: 1, wantRefilled: false, checkRefillCount: true},
				{op: opRefill, at: 50 * ms, want: 20, wantLast: 1, wantRefilled: false, checkRefillCount: true},
			},
		},
		{
			name: "reconfiguration clips to the new burst and never raises", rate: 100, burst: 250, tick: 100 * ms,
			steps: []bucketStep{
				{op: opLimit, at: time.Second, want: 250, wantLast: 10},
				{op: opSetCfg, at: time.Second, rate: 50, burst: 120, tick: 100 * ms, want: 120, wantLast: 10},
				{op: opLimit, at: 1050 * ms, want: 120, wantLast: 10},
				{op: opLimit, at: 1100 * ms, want: 120, wantLast: 11},
				{op: opCharge, n: 200, want: -80, wantLast: 11},
				{op: opLimit, at: 1300 * ms, want: 20, wantLast: 13},
				{op: opSetCfg, at: 1300 * ms, rate: 100, burst: 250, tick: 100 * ms, want: 20, wantLast: 13},
				{op: opLimit, at: 1400 * ms, want: 120, wantLast: 14},
			},
		},
		{
			name: "same tick length: pending ticks are credited at the new rate", rate: 100, burst: 1000, tick: 100 * ms,
			steps: []bucketStep{
				{op: opLimit, at: 0, want: 100, wantLast: 0},
				{op: opSetCfg, at: 350 * ms, rate: 10, burst: 1000, tick: 100 * ms, want: 100, wantLast: 0},
				{op: opLimit, at: 350 * ms, want: 130, wantLast: 3},
			},
		},
		{
			name: "new tick length restarts tick counting", rate: 100, burst: 1000, tick: 100 * ms,
			steps: []bucketStep{
				{op: opLimit, at: 250 * ms, want: 300, wantLast: 2},
				{op: opSetCfg, at: 250 * ms, rate: 10, burst: 1000, tick: time.Second, want: 300, wantLast: 0},
				{op: opLimit, at: 1200 * ms, want: 300, wantLast: 0},
				{op: opLimit, at: 1250 * ms, want: 310, wantLast: 1},
				{op: opLimit, at: 3250 * ms, want: 330, wantLast: 3},
			},
		},
		{
			name: "manual decrement may push above burst; refill keeps it", rate: 100, burst: 250, tick: 100 * ms,
			steps: []bucketStep{
				{op: opDecr, n: -1000, want: 1100, wantLast: 0},
				{op: opLimit, at: time.Second, want: 1100, wantLast: 10},
				{op: opCharge, n: 1000, want: 100, wantLast: 10},
				{op: opLimit, at: 1100 * ms, want: 200, wantLast: 11},
				{op: opDecr, n: 300, want: -100, wantLast: 11},
				{op: opCharge, n: -5, want: -100, wantLast: 11}, // negative charges count as 0
			},
		},
		{
			name: "overflow saturates at max rate and burst", rate: math.MaxInt64, burst: math.MaxInt64, tick: ms,
			steps: []bucketStep{
				{op: opCharge, n: math.MaxInt64, want: 0, wantLast: 0},
				{op: opCharge, n: math.MaxInt64, want: -math.MaxInt64, wantLast: 0},
				{op: opCharge, n: math.MaxInt64, want: math.MinInt64, wantLast: 0},
				{op: opDecr, n: math.MaxInt64, want: math.MinInt64, wantLast: 0},
				{op: opLimit, at: ms, want: -1, wantLast: 1},
				{op: opLimit, at: 2 * ms, want: math.MaxInt64 - 1, wantLast: 2},
				{op: opLimit, at: 3 * ms, want: math.MaxInt64, wantLast: 3},
				{op: opDecr, n: math.MinInt64, want: math.MaxInt64, wantLast: 3},
				{op: opDecr, n: -1, want: math.MaxInt64, wantLast: 3},
			},
		},
		{
			name: "overflow: a deep debt and a huge number of ticks", rate: 3, burst: math.MaxInt64, tick: ms,
			steps: []bucketStep{
				{op: opDecr, n: math.MinInt64 + 3, want: math.MaxInt64, wantLast: 0},
				{op: opCharge, n: math.MaxInt64, want: 0, wantLast: 0},
				{op: opCharge, n: math.MaxInt64, want: -math.MaxInt64, wantLast: 0},
				{op: opCharge, n: 10, want: math.MinInt64, wantLast: 0},
				// 100 years of 1 ms ticks: 3,155,760,000,000 ticks × 3 bytes.
				{op: opLimit, at: 100 * 8766 * time.Hour, want: math.MinInt64 + 3*3_155_760_000_000, wantLast: 3_155_760_000_000},
				// A Duration saturates at about 292 years: still no overflow, capped at burst
				// only when enough ticks passed.
				{op: opLimit, at: math.MaxInt64, want: math.MinInt64 + 3*(math.MaxInt64/1_000_000), wantLast: math.MaxInt64 / 1_000_000},
			},
		},
		{
			name: "MaxTo caps by the caller's maximum and is never negative", rate: 100, burst: 250, tick: 100 * ms,
			steps: []bucketStep{
				{op: opMaxTo, at: 0, n: 16384, want: 100, wantLast: 0},
				{op: opMaxTo, at: 0, n: 50, want: 50, wantLast: 0},
				{op: opMaxTo, at: 0, n: 0, want: 0, wantLast: 0},
				{op: opMaxTo, at: 0, n: -10, want: 0, wantLast: 0},
				{op: opCharge, n: 1000, want: -900, wantLast: 0},
				{op: opMaxTo, at: 0, n: 16384, want: 0, wantLast: 0},
				{op: opMaxTo, at: 950 * ms, n: 16384, want: 0, wantLast: 9},
				{op: opMaxTo, at: time.Second, n: 16384, want: 100, wantLast: 10},
				{op: opMaxTo, at: time.Hour, n: 16384, want: 250, wantLast: 36000},
			},
		},
	}
	for _, tc := range tables {
		for _, d := range []Direction{Read, Write} {
			t.Run(tc.name+"/"+d.String(), func(t *testing.T) {
				var l Limiter
				l.SetConfig(dirConfig(t, d, tc.rate, tc.burst, tc.tick), t0)
				level := func() int64 {
					if d == Read {
						return l.b.read
					}
					return l.b.write
				}
				for i, s := range tc.steps {
					now := t0.Add(s.at)
					got := int64(0)
					switch s.op {
					case opLimit:
						if d == Read {
							got = l.ReadLimit(now)
						} else {
							got = l.WriteLimit(now)
						}
						if got != level() {
							t.Fatalf("step %d: limit returned %d but level is %d", i, got, level())
						}
					case opCharge:
						if d == Read {
							l.ChargeRead(s.n)
						} else {
							l.ChargeWrite(s.n)
						}
					case opDecr:
						var err error
						if d == Read {
							err = l.DecrementReadLimit(s.n)
						} else {
							err = l.DecrementWriteLimit(s.n)
						}
						if err != nil {
							t.Fatalf("step %d: decrement: %v", i, err)
						}
					case opRefill:
						if r := l.Refill(now); s.checkRefillCount && r != s.wantRefilled {
							t.Fatalf("step %d: Refill = %v, want %v", i, r, s.wantRefilled)
						}
					case opSetCfg:
						l.SetConfig(dirConfig(t, d, s.rate, s.burst, s.tick), now)
					case opMaxTo:
						if d == Read {
							got = l.MaxToRead(now, s.n)
						} else {
							got = l.MaxToWrite(now, s.n)
						}
						if got != s.want {
							t.Fatalf("step %d: MaxTo(%d) = %d, want %d", i, s.n, got, s.want)
						}
					}
					if s.op != opMaxTo && level() != s.want {
						t.Fatalf("step %d (op %d): level = %d, want %d", i, s.op, level(), s.want)
					}
					if s.wantLast >= 0 && l.b.last != s.wantLast {
						t.Fatalf("step %d: last tick = %d, want %d", i, l.b.last, s.wantLast)
					}
					if l.ReadBlocked() != (l.b.read <= 0) || l.WriteBlocked() != (l.b.write <= 0) {
						t.Fatalf("step %d: blocked = %v/%v with levels %d/%d",
							i, l.ReadBlocked(), l.WriteBlocked(), l.b.read, l.b.write)
					}
				}
			})
		}
	}
}

func TestRefillAt(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name          string
		cfg           *Config
		refill        time.Duration // Refill(t0+refill) before charging; 0 for none
		charge        [2]int64      // read, write
		want          time.Duration // RefillAt − t0
		wantOK        bool
		wantFarFuture bool
	}{
		{name: "nothing blocked", cfg: mustConfig(t, 100, 250, 10, 20, 100*ms), charge: [2]int64{99, 9}},
		{name: "read at zero: next tick", cfg: mustConfig(t, 100, 250, 10, 20, 100*ms), charge: [2]int64{100, 0}, want: 100 * ms, wantOK: true},
		{name: "read at -100: zero is not enough", cfg: mustConfig(t, 100, 250, 10, 20, 100*ms), charge: [2]int64{200, 0}, want: 200 * ms, wantOK: true},
		{name: "read deep debt: one timer for ten ticks", cfg: mustConfig(t, 100, 250, 10, 20, 100*ms), charge: [2]int64{1000, 0}, want: time.Second, wantOK: true},
		{name: "write only", cfg: mustConfig(t, 100, 250, 10, 20, 100*ms), charge: [2]int64{0, 35}, want: 300 * ms, wantOK: true},
		{name: "both: earliest wins", cfg: mustConfig(t, 100, 250, 10, 20, 100*ms), charge: [2]int64{200, 15}, want: 100 * ms, wantOK: true},
		{name: "after a refill the boundary stays absolute", cfg: mustConfig(t, 100, 250, 10, 20, 100*ms), refill: 350 * ms, charge: [2]int64{950, 0}, want: 1100 * ms, wantOK: true},
		{name: "no overflow", cfg: mustConfig(t, 1, math.MaxInt64, 1, math.MaxInt64, ms), charge: [2]int64{math.MaxInt64, 0}, wantOK: true, wantFarFuture: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l Limiter
			if _, ok := l.RefillAt(); ok {
				t.Fatal("RefillAt without config reports a timer")
			}
			l.SetConfig(tt.cfg, t0)
			if tt.refill != 0 {
				l.Refill(t0.Add(tt.refill))
			}
			l.ChargeRead(tt.charge[0])
			l.ChargeWrite(tt.charge[1])
			if tt.wantFarFuture {
				l.ChargeRead(math.MaxInt64) // level saturates at MinInt64
			}
			at, ok := l.RefillAt()
			if ok != tt.wantOK {
				t.Fatalf("RefillAt ok = %v, want %v", ok, tt.wantOK)
			}
			if !ok {
				return
			}
			if tt.wantFarFuture {
				if at.Before(t0.Add(200 * 365 * 24 * time.Hour)) {
					t.Fatalf("RefillAt = %v, want centuries ahead", at)
				}
				return
			}
			if got := at.Sub(t0); got != tt.want {
				t.Fatalf("RefillAt = t0+%v, want t0+%v", got, tt.want)
			}
			// Exactness: one tick earlier every blocked direction is still blocked; at the
			// returned time one of them is positive again.
			rb, wb := l.ReadBlocked(), l.WriteBlocked()
			before := l.b
			before.update(l.cfg, at.Add(-tt.cfg.Tick()))
			if rb && before.read > 0 || wb && before.write > 0 {
				t.Fatalf("a direction is positive one tick before RefillAt: %d/%d", before.read, before.write)
			}
			l.Refill(at)
			if rb == l.ReadBlocked() && wb == l.WriteBlocked() {
				t.Fatalf("both directions still blocked at RefillAt: %d/%d", l.b.read, l.b.write)
			}
		})
	}
}

func TestLimiterWithoutConfig(t *testing.T) {
	var l Limiter
	now := t0
	if got := l.ReadLimit(now); got != math.MaxInt64 {
		t.Fatalf("ReadLimit = %d, want MaxInt64", got)
	}
	if got := l.WriteLimit(now); got != math.MaxInt64 {
		t.Fatalf("WriteLimit = %d, want MaxInt64", got)
	}
	if got := l.MaxToRead(now, 16384); got != 16384 {
		t.Fatalf("MaxToRead = %d", got)
	}
	if got := l.MaxToWrite(now, 4096); got != 4096 {
		t.Fatalf("MaxToWrite = %d", got)
	}
	l.ChargeRead(1 << 40)
	l.ChargeWrite(1 << 40)
	if l.ReadBlocked() || l.WriteBlocked() || l.Refill(now) || l.Config() != nil {
		t.Fatal("a limiter without config limits something")
	}
	if err := l.DecrementReadLimit(1); !errors.Is(err, ErrNoConfig) {
		t.Fatalf("DecrementReadLimit = %v, want ErrNoConfig", err)
	}
	if err := l.DecrementWriteLimit(1); !errors.Is(err, ErrNoConfig) {
		t.Fatalf("DecrementWriteLimit = %v, want ErrNoConfig", err)
	}
	if r, w := l.GroupSuspended(); r || w || l.Group() != nil {
		t.Fatal("a limiter in no group reports group state")
	}
}

func TestLimiterSetConfig(t *testing.T) {
	cfg := mustConfig(t, 100, 250, 10, 20, 100*time.Millisecond)
	var l Limiter
	l.SetConfig(cfg, t0)
	l.ChargeRead(60)
	// The same config again is a no-op (libevent: "no-op"), even at a later time.
	l.SetConfig(cfg, t0.Add(time.Hour))
	if l.b.read != 40 || !l.b.epoch.Equal(t0) {
		t.Fatalf("same config changed the bucket: %+v", l.b)
	}
	// Removing the config lifts every per-connection limit.
	l.ChargeRead(100)
	if !l.ReadBlocked() {
		t.Fatal("not blocked at -60")
	}
	l.SetConfig(nil, t0)
	if l.ReadBlocked() || l.Config() != nil {
		t.Fatal("nil config did not remove the limit")
	}
	if _, ok := l.RefillAt(); ok {
		t.Fatal("RefillAt without config")
	}
	// Setting a config again starts afresh at the rate.
	l.SetConfig(cfg, t0.Add(time.Second))
	if l.b.read != 100 || l.b.write != 10 || l.b.last != 0 || !l.b.epoch.Equal(t0.Add(time.Second)) {
		t.Fatalf("fresh config: %+v", l.b)
	}
}

func TestDirectionString(t *testing.T) {
	for d, want := range map[Direction]string{0: "none", Read: "read", Write: "write", Read | Write: "read|write"} {
		if got := d.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", d, got, want)
		}
	}
}

func TestFloorDiv(t *testing.T) {
	for _, tt := range []struct{ a, b, want int64 }{
		{0, 3, 0}, {2, 3, 0}, {3, 3, 1}, {-1, 3, -1}, {-3, 3, -1}, {-4, 3, -2},
		{math.MinInt64, 1, math.MinInt64}, {math.MaxInt64, 1, math.MaxInt64}, {math.MinInt64, 1_000_000, math.MinInt64/1_000_000 - 1},
	} {
		if got := floorDiv(tt.a, tt.b); got != tt.want {
			t.Errorf("floorDiv(%d, %d) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
