package ratelimit

import (
	"math"
	"slices"
	"testing"
	"time"
)

// simBev is a model of the bufferevent core wired as the package overview describes:
// suspension reasons, a one-shot refill timer, notifications queued on its loop, and an
// endless supply of bytes to read. The whole simulation runs on one goroutine.
type simBev struct {
	Limiter
	id       int
	susp     uint8 // suspendBW | suspendGroup
	timerOn  bool
	timerAt  time.Time
	pending  bool
	received int64
	loop     *simLoop
}

const (
	suspendBW    = 1 << iota // libevent's BEV_SUSPEND_BW
	suspendGroup             // libevent's BEV_SUSPEND_BW_GROUP
)

type simLoop struct {
	queue []*simBev // notifications to handle (RunInLoop)
	ready []*simBev // read-readiness order: epoll's ready list, most recently enabled last
}

func (b *simBev) GroupChanged(Direction) {
	if !b.pending { // coalesce, as the overview allows
		b.pending = true
		b.loop.queue = append(b.loop.queue, b)
	}
}

func (b *simBev) setSusp(flag uint8, on bool) {
	was := b.susp
	if on {
		b.susp |= flag
	} else {
		b.susp &^= flag
	}
	if was != 0 && b.susp == 0 { // enabled again: goes to the end of the ready list
		i := slices.Index(b.loop.ready, b)
		b.loop.ready = append(slices.Delete(b.loop.ready, i, i+1), b)
	}
}

func (b *simBev) syncBW() {
	b.setSusp(suspendBW, b.ReadBlocked())
	b.timerAt, b.timerOn = b.RefillAt()
}

func (b *simBev) syncGroup() {
	r, _ := b.GroupSuspended()
	b.setSusp(suspendGroup, r)
}

func (lp *simLoop) runQueue() {
	for len(lp.queue) > 0 {
		b := lp.queue[0]
		lp.queue = lp.queue[1:]
		b.pending = false
		b.syncGroup()
	}
}

type simParams struct {
	n         int
	tick      time.Duration
	connRate  int64 // bytes per second per connection; 0: none
	groupRate int64 // bytes per second for the group; 0: none
	drain     int64 // bytes drained from the group every tick (-G)
	minShare  int64 // -1: default
	duration  time.Duration
}

type simResult struct {
	total, avg, stddev float64 // bytes per second
	perConn            []float64
}

// simulate runs the scenario of libevent's test/test-ratelim.c on simulated time: n
// connections read as fast as their limits allow, each with burst 4×rate like the test.
func simulate(t *testing.T, p simParams) simResult {
	t.Helper()
	ticksPerSec := int64(time.Second / p.tick)
	lp := &simLoop{}
	var g *Group
	var gNext time.Time
	if p.groupRate > 0 {
		r := p.groupRate / ticksPerSec
		var err error
		g, err = newGroup(mustConfig(t, r, 4*r, r, 4*r, p.tick), t0, 42, 7)
		if err != nil {
			t.Fatal(err)
		}
		if p.minShare >= 0 {
			if err := g.SetMinShare(p.minShare); err != nil {
				t.Fatal(err)
			}
		}
		gNext = g.NextRefill()
	}
	var connCfg *Config
	if p.connRate > 0 {
		r := p.connRate / ticksPerSec
		connCfg = mustConfig(t, r, 4*r, r, 4*r, p.tick)
	}
	bevs := make([]*simBev, p.n)
	for i := range bevs {
		b := &simBev{id: i, loop: lp}
		bevs[i] = b
		lp.ready = append(lp.ready, b)
		if connCfg != nil {
			b.SetConfig(connCfg, t0)
			b.syncBW()
		}
		if g != nil {
			if err := b.JoinGroup(g, b); err != nil {
				t.Fatal(err)
			}
			b.syncGroup()
		}
	}
	// The loop wakes at every millisecond (timers are due on tick boundaries, the drain
	// timer runs every tick like test-ratelim's group_drain_cb).
	end := t0.Add(p.duration)
	for now := t0; now.Before(end); now = now.Add(time.Millisecond) {
		if g != nil && !now.Before(gNext) {
			gNext = g.Refill(now)
		}
		if g != nil && p.drain > 0 && now.Sub(t0)%p.tick == 0 && now != t0 {
			g.DecrementRead(p.drain)
		}
		for _, b := range bevs {
			if b.timerOn && !now.Before(b.timerAt) {
				b.Refill(now)
				b.syncBW()
			}
		}
		lp.runQueue()
		for pass := 0; pass < 100; pass++ {
			progress := false
			for _, b := range slices.Clone(lp.ready) {
				if b.susp != 0 {
					continue
				}
				n := b.MaxToRead(now, 16384)
				if n == 0 {
					b.syncGroup()
					b.syncBW()
					continue
				}
				b.received += n
				b.ChargeRead(n)
				b.syncBW()
				progress = true
			}
			lp.runQueue()
			if !progress {
				break
			}
		}
	}
	secs := p.duration.Seconds()
	var res simResult
	var received int64
	for _, b := range bevs {
		received += b.received
		r := float64(b.received) / secs
		res.perConn = append(res.perConn, r)
		res.total += r
	}
	res.avg = res.total / float64(p.n)
	for _, r := range res.perConn {
		res.stddev += (r - res.avg) * (r - res.avg)
	}
	res.stddev = math.Sqrt(res.stddev / float64(p.n))
	if g != nil {
		if r, _ := g.Totals(); r != uint64(received) {
			t.Fatalf("group total %d, members received %d", r, received)
		}
		for _, b := range bevs {
			b.LeaveGroup()
		}
		if err := g.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return res
}

// Mirrors libevent test/test-ratelim.sh: the four cases (all -n 30 -t 100) with the
// tolerances of the script, on simulated time (the bytes read are only limited by the
// accounting under test). The check for the total and the average compares with the
// expected values exactly as test-ratelim.c does.
func TestRatelimSimulation(t *testing.T) {
	tests := []struct {
		name                        string
		p                           simParams
		wantTotal, wantAvg          float64
		tolTotal, tolAvg, tolStddev float64
	}{
		{
			name:      "case 1: group limit only (-g 30000)",
			p:         simParams{n: 30, tick: 100 * time.Millisecond, groupRate: 30000, minShare: -1},
			wantTotal: 30000, wantAvg: 1000, tolTotal: 1000, tolAvg: math.Inf(1), tolStddev: 100,
		},
		{
			name:      "case 2: connection limit only (-c 1000)",
			p:         simParams{n: 30, tick: 100 * time.Millisecond, connRate: 1000, minShare: -1},
			wantTotal: 30000, wantAvg: 1000, tolTotal: math.Inf(1), tolAvg: 50, tolStddev: 50,
		},
		{
			name:      "case 3: both (-c 1000 -g 30000)",
			p:         simParams{n: 30, tick: 100 * time.Millisecond, connRate: 1000, groupRate: 30000, minShare: -1},
			wantTotal: 30000, wantAvg: 1000, tolTotal: 1000, tolAvg: 50, tolStddev: 50,
		},
		{
			name:      "case 4: both with a group drain (-c 1000 -g 35000 -G 500)",
			p:         simParams{n: 30, tick: 100 * time.Millisecond, connRate: 1000, groupRate: 35000, drain: 500, minShare: -1},
			wantTotal: 30000, wantAvg: 1000, tolTotal: 1000, tolAvg: 50, tolStddev: 50,
		},
	}
	for _, tt := range tests {
		for _, d := range []time.Duration{5 * time.Second, 30 * time.Second} {
			t.Run(tt.name+"/"+d.String(), func(t *testing.T) {
				p := tt.p
				p.duration = d
				res := simulate(t, p)
				t.Logf("total %.0f B/s, average %.1f B/s, stddev %.1f", res.total, res.avg, res.stddev)
				if math.Abs(res.total-tt.wantTotal) > tt.tolTotal {
					t.Errorf("total %.0f B/s, want %.0f ± %.0f", res.total, tt.wantTotal, tt.tolTotal)
				}
				if math.Abs(res.avg-tt.wantAvg) > tt.tolAvg {
					t.Errorf("average %.1f B/s, want %.0f ± %.0f", res.avg, tt.wantAvg, tt.tolAvg)
				}
				if res.stddev > tt.tolStddev {
					t.Errorf("stddev %.1f B/s, want ≤ %.0f", res.stddev, tt.tolStddev)
				}
			})
		}
	}
}
