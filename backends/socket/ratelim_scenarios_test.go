//go:build linux

package socket

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
	"github.com/bufev/bufev/ratelimit"
)

// Ports of libevent's test/test-ratelim.c, as run by test/test-ratelim.sh: an echo server
// over loopback TCP whose accepted bufferevents are ThreadSafe and limited per connection
// and/or by a group, N clients that keep their output full and count what comes back.
// Per-connection rates, their average and standard deviation are checked against the
// script's tolerances. The server and the clients run on two bases, each on its own
// goroutine, and the group's refill timer on the server's.
//
// libevent measures 5 s from the start with a 100 ms tick. Here every scenario runs in two
// sizes: the short one (always) compresses time by 2.5 — a 40 ms tick and 2.5 times the
// rates, so the bytes per tick and per connection are libevent's, and the 2 s window spans
// libevent's 50 ticks — with the tolerances scaled by the same factor, i.e. the same
// proportions of the expected rates; the long one (not in -short mode) uses libevent's own
// numbers over a 5 s window. Rates are measured from byte counts over a window that starts
// once every client is connected and a few ticks have passed, as counted bytes, not timed
// events, are what a loaded machine cannot distort beyond the window's edges.

type ratelimScenario struct {
	name      string
	n         int           // connections (-n)
	tick      time.Duration // -t
	connRate  int64         // per-connection bytes/s (-c), 0: none
	groupRate int64         // group bytes/s (-g), 0: none
	drain     int64         // bytes drained from the group per tick and direction (-G)
	minShare  int64         // --min-share, 0: default
	// tolerances in bytes/s: --check-grouplimit, --check-connlimit, --check-stddev
	checkGroup, checkConn, checkStddev float64
	window                             time.Duration
}

// The four cases of test-ratelim.sh, in libevent's units, and one of ours.
var ratelimCases = []ratelimScenario{
	{name: "group-limit", n: 30, tick: 100 * time.Millisecond, groupRate: 30000,
		checkGroup: 1000, checkStddev: 100},
	{name: "conn-limit", n: 30, tick: 100 * time.Millisecond, connRate: 1000,
		checkConn: 50, checkStddev: 50},
	{name: "conn-and-group-limit", n: 30, tick: 100 * time.Millisecond, connRate: 1000, groupRate: 30000,
		checkGroup: 1000, checkConn: 50, checkStddev: 50},
	{name: "conn-and-group-limit-with-drain", n: 30, tick: 100 * time.Millisecond, connRate: 1000, groupRate: 35000, drain: 500,
		checkGroup: 1000, checkConn: 50, checkStddev: 50},
	// Not one of libevent's cases: the group limit with a min share of 512, above the
	// 100 bytes per connection and tick, so only about six connections can transfer per
	// tick and the group deals turns (package ratelimit, "Fairness"). Over 20 runs the
	// stddev measured 50–75 B/s at libevent's size and 64–214 compressed (a turn is 512
	// bytes, so a window edge moves a connection by 5% of its total); before turns the
	// compressed run measured 437–1034, one connection starved for the whole window. The
	// tolerance, 150 (375 compressed), keeps that margin on a loaded machine and still
	// fails without turns.
	{name: "group-limit-min-share-512", n: 30, tick: 100 * time.Millisecond, groupRate: 30000, minShare: 512,
		checkGroup: 1000, checkStddev: 150},
}

// compress divides time by f: a shorter tick, f times the rates (so the same bytes per tick),
// tolerances scaled by f (the same proportions), and a window of 50 ticks.
func (s ratelimScenario) compress(f float64) ratelimScenario {
	s.tick = time.Duration(float64(s.tick) / f)
	s.connRate = int64(float64(s.connRate) * f)
	s.groupRate = int64(float64(s.groupRate) * f)
	s.checkGroup *= f
	s.checkConn *= f
	s.checkStddev *= f
	s.window = 50 * s.tick
	return s
}

// The scenarios run concurrently (they need little CPU: a few tens of kB/s each), each on
// its own goroutine with its own two bases; -parallel would hold them to GOMAXPROCS at a
// time.
func TestRateLimitScenarios(t *testing.T) {
	var runs []ratelimScenario
	for _, c := range ratelimCases {
		short := c.compress(2.5)
		short.name += "/short"
		runs = append(runs, short)
		if !testing.Short() {
			// libevent's own numbers over 5 s.
			long := c
			long.name += "/libevent"
			long.window = 5 * time.Second
			runs = append(runs, long)
		}
	}
	var wg sync.WaitGroup
	for _, sc := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runRatelimScenario(scenarioT{t, sc.name}, sc)
		}()
	}
	wg.Wait()
}

// scenarioT reports for one scenario running on its own goroutine: messages carry the
// scenario's name, and Fatal ends that goroutine (running its defers), not the test's.
type scenarioT struct {
	t    *testing.T
	name string
}

func (s scenarioT) Logf(format string, args ...any) { s.t.Logf(s.name+": "+format, args...) }
func (s scenarioT) Errorf(format string, args ...any) {
	s.t.Errorf(s.name+": "+format, args...)
}
func (s scenarioT) Error(err error) { s.t.Errorf("%s: %v", s.name, err) }
func (s scenarioT) Fatal(err error) {
	s.t.Errorf("%s: %v", s.name, err)
	runtime.Goexit()
}
func (s scenarioT) Fatalf(format string, args ...any) {
	s.t.Errorf(s.name+": "+format, args...)
	runtime.Goexit()
}

func (s scenarioT) newBase() *eventbase.Base {
	b, err := eventbase.New(eventbase.Config{})
	if err != nil {
		s.Fatal(err)
	}
	s.t.Cleanup(func() { b.Close() })
	return b
}

func (s scenarioT) cfg(rate int64, tick time.Duration) *ratelimit.Config {
	cfg, err := ratelimit.NewConfig(rate, 4*rate, rate, 4*rate, tick)
	if err != nil {
		s.Fatal(err)
	}
	return cfg
}

func runRatelimScenario(t scenarioT, sc ratelimScenario) {
	tickSec := sc.tick.Seconds()
	perTick := func(bps int64) int64 { return int64(math.Round(float64(bps) * tickSec)) }

	sbase := t.newBase()
	cbase := t.newBase()

	var connCfg *ratelimit.Config
	if sc.connRate > 0 {
		r := perTick(sc.connRate)
		connCfg = t.cfg(r, sc.tick)
	}
	var rg *bufferevent.RateLimitGroup
	if sc.groupRate > 0 {
		r := perTick(sc.groupRate)
		var err error
		rg, err = bufferevent.NewRateLimitGroup(sbase, t.cfg(r, sc.tick))
		if err != nil {
			t.Fatal(err)
		}
		if sc.minShare > 0 {
			if err := rg.Group().SetMinShare(sc.minShare); err != nil {
				t.Fatal(err)
			}
		}
	}

	// Server: echo, pausing reads while more than 1,024,000 bytes wait to go out and
	// resuming below 512,000 (test-ratelim.c's echo_readcb / echo_writecb).
	var servers []*bufferevent.BufferEvent // server loop only
	var echoed []*atomic.Int64             // per server connection: bytes queued for echo
	var serverErr firstError
	accept := func(_ *Listener, fd int, _ net.Addr) {
		bev, err := New(sbase, fd, bufferevent.CloseOnFree|bufferevent.ThreadSafe)
		if err != nil {
			serverErr.set(err)
			return
		}
		servers = append(servers, bev)
		added := new(atomic.Int64)
		echoed = append(echoed, added)
		_ = bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
			queued := 0
			_ = bev.WithLock(func(in, out *evbuffer.Buffer) {
				added.Add(int64(in.Len()))
				_ = out.AddBuffer(in)
				queued = out.Len()
			})
			if queued > 1024000 {
				_ = bev.Disable(bufferevent.Read)
				_ = bev.SetWatermark(bufferevent.Write, 512000, 0)
			}
		}, func(bev *bufferevent.BufferEvent) {
			_ = bev.Enable(bufferevent.Read)
			_ = bev.SetWatermark(bufferevent.Write, 0, 0)
		}, nil)
		if connCfg != nil {
			if err := bev.SetRateLimit(connCfg); err != nil {
				serverErr.set(err)
			}
		}
		if rg != nil {
			if err := bev.JoinGroup(rg); err != nil {
				serverErr.set(err)
			}
		}
		_ = bev.Enable(bufferevent.ReadWrite)
	}
	ln, err := Listen(sbase, "tcp", "127.0.0.1:0", accept, ListenerOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// Drain (-G): a timer on the server base takes drain bytes from both of the group's
	// buckets every tick.
	var drainEv *eventbase.Event
	if sc.drain > 0 {
		drainEv, err = sbase.NewEvent(-1, eventbase.Persist, func(int, eventbase.What) {
			rg.Group().DecrementRead(sc.drain)
			rg.Group().DecrementWrite(sc.drain)
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := drainEv.AddTimeout(sc.tick); err != nil {
			t.Fatal(err)
		}
	}

	// Sampler (test-ratelim.c's timer_bias / check-on-timer): every 100 ms, bucket levels
	// and allowances must stay within the configs.
	var violations atomic.Int64
	var violation atomic.Value
	sample, err := sbase.NewEvent(-1, eventbase.Persist, func(int, eventbase.What) {
		for _, bev := range servers {
			// A ThreadSafe bufferevent configured from a callback gets its limit at the
			// loop's next drain of queued work, which may follow this timer in the same
			// turn; that the limits arrived is checked when the window opens.
			if connCfg != nil && bev.RateLimit() != nil {
				if l := bev.ReadLimit(); l > connCfg.ReadBurst() {
					violations.Add(1)
					violation.Store(sprintf("connection read level %d above its burst %d", l, connCfg.ReadBurst()))
				}
				if l := bev.WriteLimit(); l > connCfg.WriteBurst() {
					violations.Add(1)
					violation.Store(sprintf("connection write level %d above its burst %d", l, connCfg.WriteBurst()))
				}
			}
			if bev.MaxToRead() < 0 || bev.MaxToWrite() < 0 {
				violations.Add(1)
				violation.Store("negative allowance")
			}
		}
		if rg != nil {
			g := rg.Group()
			if g.ReadLimit() > g.Config().ReadBurst() || g.WriteLimit() > g.Config().WriteBurst() {
				violations.Add(1)
				violation.Store("group level above its burst")
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := sample.AddTimeout(100 * time.Millisecond); err != nil {
		t.Fatal(err)
	}

	// Clients: keep at least 8192 bytes of random 1 KiB blocks queued, discard and count
	// what comes back.
	rng := rand.New(rand.NewPCG(1, uint64(sc.n)))
	var blocks [8][1024]byte
	for i := range blocks {
		for j := range blocks[i] {
			blocks[i][j] = byte(rng.Uint32())
		}
	}
	counts := make([]atomic.Int64, sc.n)
	var connected atomic.Int64
	clients := make([]*bufferevent.BufferEvent, sc.n)
	for i := range clients {
		bev, err := New(cbase, -1, bufferevent.CloseOnFree)
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = bev
		buf := make([]byte, 16<<10)
		var sentBytes int64
		refill := func(bev *bufferevent.BufferEvent) {
			// libevent's client refills on every write callback; the kernel's loopback
			// buffers would then soak up megabytes per connection, which costs nothing in C
			// but starves a -race build. Capping what is in flight (sent, not yet echoed) at
			// 64 KiB still keeps every server connection saturated: it reads at most a few
			// hundred bytes per tick.
			for k := 0; bev.Output().Len() < 8192 && sentBytes-counts[i].Load() < 64<<10; k++ {
				_, _ = bev.Write(blocks[(i+k)%len(blocks)][:])
				sentBytes += 1024
			}
		}
		_ = bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
			for {
				n, _ := bev.Read(buf)
				if n == 0 {
					break
				}
				counts[i].Add(int64(n))
			}
			refill(bev)
		}, refill, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
			if what&bufferevent.Connected != 0 {
				connected.Add(1)
				refill(bev)
				return
			}
			serverErr.set(fmt.Errorf("client %d: %v: %w", i, what, err))
		})
		_ = bev.Enable(bufferevent.ReadWrite)
		if err := Connect(bev, ln.Addr()); err != nil {
			t.Fatal(err)
		}
	}

	var loops sync.WaitGroup
	for _, b := range []*eventbase.Base{sbase, cbase} {
		loops.Add(1)
		go func() {
			defer loops.Done()
			if err := b.Loop(eventbase.LoopNoExitOnEmpty); err != nil {
				t.Error(err)
			}
		}()
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = sbase.LoopExit(0)
		_ = cbase.LoopExit(0)
		loops.Wait()
	}
	defer stop()

	begin := time.Now()
	for deadline := time.Now().Add(10 * time.Second); connected.Load() != int64(sc.n); {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d clients connected", connected.Load(), sc.n)
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("%d clients connected after %v", sc.n, time.Since(begin).Round(time.Millisecond))
	// A client counts its connection when its connect completes, which can be well before
	// the server's loop accepts it; and the limits given to a ThreadSafe bufferevent from
	// the listener's callback take effect at the loop's next run of queued work. A loaded
	// machine can hold the server's loop back for longer than the warm-up, so that the
	// window would open with connections still outside the group (this failed under load
	// in a full make test). Wait, on the server's loop, until every connection is accepted
	// and configured; if that never happens, the checks at the window's start say which
	// connection is not.
	configured := func() bool {
		if len(servers) != sc.n {
			return false
		}
		for _, bev := range servers {
			if bev.RateLimit() != connCfg {
				return false
			}
			if g, _ := bev.Group(); rg != nil && g != rg.Group() {
				return false
			}
		}
		return true
	}
	setupCtx, setupCancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer setupCancel()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		ready := false
		if err := sbase.Do(setupCtx, func() { ready = configured() }); err != nil {
			t.Fatal(err)
		}
		if ready {
			break
		}
	}
	t.Logf("server connections configured after %v", time.Since(begin).Round(time.Millisecond))
	// Warm up for a few ticks so that every connection is saturated.
	time.Sleep(5 * sc.tick)

	// The window is measured on the server's loop, where the limits act: bytes that left
	// each server connection (queued for echo minus still queued), between two instants of
	// that loop. At the start, every write bucket that holds credit is emptied with the
	// public decrement API (after crediting the ticks crossed so far), so that the window starts from an empty bucket, as libevent's
	// run starts from a fresh one: a bucket filled to its burst while a loaded machine held
	// the loop back would otherwise inflate the window by up to four ticks' worth.
	sent := func() []int64 {
		s := make([]int64, len(servers))
		for i, bev := range servers {
			_ = bev.WithLock(func(_, out *evbuffer.Buffer) {
				s[i] = echoed[i].Load() - int64(out.Len())
			})
		}
		return s
	}
	// A generous bound on the loops' answers from here to the end (the window, then the
	// teardown), so that a wedged loop fails the scenario instead of hanging it, but a slow
	// one does not.
	ctx, cancel := context.WithTimeout(context.Background(), sc.window+30*time.Second)
	defer cancel()
	// Loop lag (test-ratelim.c measures a timer bias for the same reason): how late a
	// per-tick timer on the server's loop fires during the window.
	var lagDue time.Time
	var lagSum, lagMax time.Duration
	var lagN int
	var lagProbe *eventbase.Event
	lagProbe, err = sbase.NewTimer(func() {
		now := time.Now()
		late := max(now.Sub(lagDue), 0)
		lagSum += late
		lagMax = max(lagMax, late)
		lagN++
		lagDue = lagDue.Add(sc.tick)
		_ = lagProbe.AddTimeout(max(lagDue.Sub(now), 0))
	})
	if err != nil {
		t.Fatal(err)
	}
	var c1, c2 []int64
	var t1, t2 time.Time
	var total1, total2 uint64
	var level2 int64
	if err := sbase.Do(ctx, func() {
		if len(servers) != sc.n {
			t.Errorf("server has %d connections; want %d", len(servers), sc.n)
		}
		for i, bev := range servers {
			if bev.RateLimit() != connCfg {
				t.Errorf("server connection %d: RateLimit() = %v; want %v", i, bev.RateLimit(), connCfg)
			}
			if g, err := bev.Group(); rg != nil && (err != nil || g != rg.Group()) {
				t.Errorf("server connection %d: Group() = %v, %v; want the scenario's group", i, g, err)
			}
			if l := bev.WriteLimit(); connCfg != nil && l > 0 {
				_ = bev.DecrementWriteLimit(l)
			}
		}
		if rg != nil {
			// Credit the ticks already crossed (the refill timer may be running late), so
			// that their credit is not spent inside the window.
			rg.Group().Refill(time.Now())
			if l := rg.Group().WriteLimit(); l > 0 {
				rg.Group().DecrementWrite(l)
			}
			_, total1 = rg.Group().Totals()
		}
		c1, t1 = sent(), time.Now()
		lagDue = t1.Add(sc.tick)
		_ = lagProbe.AddTimeout(sc.tick)
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(sc.window)
	if err := sbase.Do(ctx, func() {
		// Probes that were due but have not fired count as late as they are now: this
		// function can run first in the turn that ends a stall of the loop, before its
		// timers, and the stall held the transfers back all the same (a stall in the
		// window's last ticks, invisible to the probe, failed the lower bound under load).
		for now := time.Now(); !lagDue.After(now); lagDue = lagDue.Add(sc.tick) {
			late := now.Sub(lagDue)
			lagSum += late
			lagMax = max(lagMax, late)
			lagN++
		}
		lagProbe.Free()
		c2, t2 = sent(), time.Now()
		if rg != nil {
			_, total2 = rg.Group().Totals()
			level2 = rg.Group().WriteLimit()
		}
	}); err != nil {
		t.Fatal(err)
	}
	secs := t2.Sub(t1).Seconds()
	var received int64
	for i := range counts {
		received += counts[i].Load()
	}

	// Tear down on the loops: clients, then server connections (closing leaves the group),
	// then the group, which must be empty by then.
	if err := cbase.Do(ctx, func() {
		for _, c := range clients {
			_ = c.Close()
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := sbase.Do(ctx, func() {
		_ = ln.Close()
		sample.Free()
		if drainEv != nil {
			drainEv.Free()
		}
		for _, s := range servers {
			_ = s.Close()
		}
	}); err != nil {
		t.Fatal(err)
	}
	if rg != nil {
		for deadline := time.Now().Add(5 * time.Second); rg.Group().Len() != 0; {
			if time.Now().After(deadline) {
				t.Fatalf("group still has %d members after every connection closed", rg.Group().Len())
			}
			time.Sleep(time.Millisecond)
		}
		var cerr error
		if err := sbase.Do(ctx, func() { cerr = rg.Close() }); err != nil {
			t.Fatal(err)
		}
		if cerr != nil {
			t.Fatal(cerr)
		}
	}
	stop()
	if err := serverErr.get(); err != nil {
		t.Fatalf("during the run: %v", err)
	}

	// Results, as test-ratelim.c prints and checks them.
	rates := make([]float64, sc.n)
	var total, sq float64
	if rg != nil {
		if sum := func() (s int64) {
			for i := range c2 {
				s += c2[i] - c1[i]
			}
			return s
		}(); uint64(sum) != total2-total1 {
			t.Errorf("group totals grew by %d in the window; the connections sent %d", total2-total1, sum)
		}
	}
	for i := range rates {
		rates[i] = float64(c2[i]-c1[i]) / secs
		total += rates[i]
	}
	avg := total / float64(sc.n)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range rates {
		sq += (r - avg) * (r - avg)
		lo, hi = math.Min(lo, r), math.Max(hi, r)
	}
	stddev := math.Sqrt(sq / float64(sc.n))

	expTotal := math.Inf(1)
	if sc.groupRate > 0 {
		expTotal = float64(sc.groupRate) - float64(sc.drain)/tickSec
	}
	expAvg := expTotal / float64(sc.n)
	if sc.connRate > 0 {
		expAvg = math.Min(expAvg, float64(sc.connRate))
	}
	t.Logf("group write level at the end %d", level2)
	t.Logf("clients received %d bytes in all; server loop lag per tick: mean %v, max %v over %d ticks",
		received, (lagSum / time.Duration(max(lagN, 1))).Round(time.Microsecond), lagMax.Round(time.Microsecond), lagN)
	t.Logf("%d conns, tick %v, conn %d B/s, group %d B/s, drain %d/tick, window %.2fs: total %.0f B/s (expected %.0f), per-connection avg %.1f B/s (expected %.1f), stddev %.1f, min %.0f, max %.0f",
		sc.n, sc.tick, sc.connRate, sc.groupRate, sc.drain, secs, total, expTotal, avg, expAvg, stddev, lo, hi)

	if v := violations.Load(); v > 0 {
		t.Errorf("%d sampler violations, last: %v", v, violation.Load())
	}
	// Tolerances. Above the expected rate they are libevent's (scaled): no load can make a
	// correct limiter pass more bytes than its buckets were credited. Below, a loaded
	// machine loses credit that a late loop could not spend before the window closed or that
	// overflowed a bucket, so, as test-ratelim.c scales its checks by a measured timer bias,
	// the lower tolerance grows by half the expected rate per tick of mean loop lag (a loop
	// on time gets libevent's tolerance), and the stddev tolerance by the bias itself.
	lagTicks := float64(lagSum) / float64(max(lagN, 1)) / float64(sc.tick)
	bias := 1 + lagTicks
	within := func(what string, got, want, tol float64) {
		low := tol + want*lagTicks/2
		switch {
		case got > want+tol:
			t.Errorf("%s %.1f B/s is above the expected %.1f by more than the tolerance %.1f", what, got, want, tol)
		case got < want-low:
			t.Errorf("%s %.1f B/s is below the expected %.1f by more than %.1f (tolerance %.1f, loop lag %.2f ticks)", what, got, want, low, tol, lagTicks)
		}
	}
	if sc.checkGroup > 0 {
		within("group total", total, expTotal, sc.checkGroup)
	}
	if sc.checkConn > 0 {
		within("per-connection average", avg, expAvg, sc.checkConn)
	}
	if sc.checkStddev > 0 && stddev > sc.checkStddev*bias {
		t.Errorf("per-connection stddev %.1f B/s above the tolerance %.1f × timer bias %.2f (unfair shares)", stddev, sc.checkStddev, bias)
	}
}

// firstError keeps the first non-nil error reported from any goroutine.
type firstError struct {
	mu  sync.Mutex
	err error
}

func (f *firstError) set(err error) {
	f.mu.Lock()
	if f.err == nil {
		f.err = err
	}
	f.mu.Unlock()
}

func (f *firstError) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}
