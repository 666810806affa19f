package bufferevent_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/backend"
	"github.com/bufev/bufev/eventbase"
	"github.com/bufev/bufev/ratelimit"
)

// countEvents counts the base's events. On the loop.
func countEvents(t *testing.T, base *eventbase.Base) int {
	t.Helper()
	n := 0
	if err := base.ForEachEvent(func(*eventbase.Event) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// A decrement on another goroutine reads the group's OnSuspend function under
// the group's lock and calls it after releasing it, so the call may come
// after RateLimitGroup.Close freed the refill timer. That late call is
// harmless: it only activates the timer (Event.Active is safe for concurrent
// use, and the loop ignores activations of freed events), and after the
// base's Close it is dropped. Here the late call is made deterministically.
func TestRateLimitGroupWakeAfterClose(t *testing.T) {
	cfg, err := ratelimit.NewConfig(1000, 1000, 1000, 1000, time.Second)
	must(t, err)
	base := newBase(t)
	g, err := bufferevent.NewRateLimitGroup(base, cfg)
	must(t, err)
	wake := g.WakeForTest()
	must(t, g.Close())
	done := make(chan struct{})
	go func() { wake(); wake(); close(done) }() // a decrement that read the function before Close
	<-done
	must(t, base.Loop(eventbase.LoopNonBlock)) // applies the activations
	if n := countEvents(t, base); n != 0 {
		t.Fatalf("%d events after a late wake-up of a closed group, want 0", n)
	}
	must(t, base.Loop(eventbase.LoopNonBlock))
	if !base.ExitedEmpty() {
		t.Fatal("the loop still has work after a late wake-up of a closed group")
	}
	must(t, base.Close())
	wake() // after the base's Close: dropped
}

// Groups are created and closed on a running loop while other goroutines
// suspend and resume them with DecrementRead/DecrementWrite, so OnSuspend
// calls race with Close freeing the refill timer. Run under -race: no data
// race, no panic, no deadlock, and the loop has no leftover event at the end.
func TestRateLimitGroupCloseRacesDecrements(t *testing.T) {
	cfg, err := ratelimit.NewConfig(1<<20, 1<<20, 1<<20, 1<<20, time.Second)
	must(t, err)
	base := newBase(t)
	stop := runLoop(t, base)
	var cur atomic.Pointer[bufferevent.RateLimitGroup]
	var quit atomic.Bool
	var wg sync.WaitGroup
	var decrements atomic.Int64
	for range 4 {
		wg.Go(func() {
			for !quit.Load() {
				g := cur.Load()
				if g == nil {
					// A loop with no call in it can only be preempted
					// asynchronously, which Wine's thread suspension does
					// not always deliver: yield instead of spinning.
					runtime.Gosched()
					continue
				}
				// Empty then refill each direction: every round
				// suspends (OnSuspend) and resumes both.
				g.Group().DecrementRead(2 << 20)
				g.Group().DecrementWrite(2 << 20)
				g.Group().DecrementRead(-(2 << 20))
				g.Group().DecrementWrite(-(2 << 20))
				decrements.Add(4)
			}
		})
	}
	ctx := t.Context()
	for range 150 {
		var g *bufferevent.RateLimitGroup
		must(t, base.Do(ctx, func() {
			var err error
			g, err = bufferevent.NewRateLimitGroup(base, cfg)
			must(t, err)
		}))
		cur.Store(g)
		time.Sleep(50 * time.Microsecond)
		var cerr error
		must(t, base.Do(ctx, func() { cerr = g.Close() }))
		must(t, cerr)
	}
	quit.Store(true)
	wg.Wait()
	var left int
	must(t, base.Do(ctx, func() { left = countEvents(t, base) }))
	stop()
	if left != 1 { // runLoop's keep-alive timer
		t.Fatalf("%d events left on the base after closing every group, want 1", left)
	}
	if decrements.Load() == 0 {
		t.Fatal("no decrement ran")
	}
}

// RateLimitGroup.SetConfig is safe for concurrent use, as the type's doc
// says: goroutines change the config (and the tick) while others suspend and
// resume the group and its loop runs the refill timer. Before, SetConfig
// re-armed the timer on the calling goroutine: -race reported it and the
// base's timer heap could be corrupted (an index-out-of-range panic in
// heapRemove). Then a shorter tick set off the loop on a suspended group
// re-arms the refill timer, as on the loop (TestRateLimitGroupRetick).
func TestRateLimitGroupSetConfigConcurrentSafe(t *testing.T) {
	base := newBase(t)
	stop := runLoop(t, base)
	defer stop()
	cfg := func(rate int64, tick time.Duration) *ratelimit.Config {
		c, err := ratelimit.NewConfig(rate, rate, rate, rate, tick)
		must(t, err)
		return c
	}
	var g *bufferevent.RateLimitGroup
	must(t, base.Do(t.Context(), func() {
		var err error
		g, err = bufferevent.NewRateLimitGroup(base, cfg(1000, time.Millisecond))
		must(t, err)
	}))
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 300 {
				if i%2 == 0 {
					must(t, g.SetConfig(cfg(int64(100+j), time.Duration(1+j%5)*time.Millisecond)))
					continue
				}
				g.Group().DecrementRead(1 << 20)
				g.Group().DecrementWrite(1 << 20)
				g.Group().DecrementRead(-(1 << 20))
				g.Group().DecrementWrite(-(1 << 20))
			}
		})
	}
	wg.Wait()

	// Suspended under a one-hour tick, the refill timer waits an hour; a
	// shorter tick set off the loop must re-arm it.
	must(t, g.SetConfig(cfg(1<<20, time.Hour)))
	g.Group().DecrementRead(g.Group().ReadLimit() + 4<<20)
	must(t, base.Do(t.Context(), func() {})) // the loop armed the timer for the hour
	must(t, g.SetConfig(cfg(1<<20, 5*time.Millisecond)))
	deadline := time.Now().Add(5 * time.Second)
	for g.Group().ReadLimit() <= 0 {
		if time.Now().After(deadline) {
			t.Fatalf("group read level %d 5 s after SetConfig shortened the tick: the refill timer still waits for the old one", g.Group().ReadLimit())
		}
		time.Sleep(time.Millisecond)
	}
	var cerr error
	must(t, base.Do(t.Context(), func() { cerr = g.Close() }))
	must(t, cerr)
}

// An off-loop DecrementReadLimit or DecrementWriteLimit on a ThreadSafe
// bufferevent changes the suspension together with the level, before it
// returns: the loop never finds an empty bucket on a direction still active.
// A completion backend that found one took it for a suspended group (which
// only the group's word lifts) and stalled: bevtest's ThreadSafeRandomOps
// with rate limits stalled the async backend. Raising the level resumes at
// once too. The backend's own Disable and Enable still run on the loop.
func TestDecrementOffLoopSuspendsAtOnce(t *testing.T) {
	base := newBase(t)
	bev, r, err := newRecorder(base, bufferevent.ThreadSafe)
	must(t, err)
	must(t, bev.Enable(bufferevent.ReadWrite))
	cfg, err := ratelimit.NewConfig(1000, 1000, 1000, 1000, time.Hour)
	must(t, err)
	must(t, bev.SetRateLimit(cfg))
	_ = base.Loop(eventbase.LoopNonBlock) // the queued SetRateLimit
	state := func() (rs, ws backend.SuspendReason, active bool) {
		r.c.Lock()
		defer r.c.Unlock()
		return r.c.ReadSuspended(), r.c.WriteSuspended(), r.c.Active(bufferevent.ReadWrite)
	}
	if rs, ws, active := state(); rs|ws != 0 || !active {
		t.Fatalf("before: suspended %#x/%#x, active %v; want neither suspended, both active", rs, ws, active)
	}
	// The test goroutine is not loop code for a ThreadSafe bufferevent.
	must(t, bev.DecrementReadLimit(5000))
	must(t, bev.DecrementWriteLimit(5000))
	if rs, ws, active := state(); rs&backend.SuspendBandwidth == 0 || ws&backend.SuspendBandwidth == 0 || active {
		t.Fatalf("after emptying both buckets off the loop: suspended %#x/%#x, active %v; want both suspended for bandwidth at once", rs, ws, active)
	}
	must(t, bev.DecrementReadLimit(-10000))
	must(t, bev.DecrementWriteLimit(-10000))
	if rs, ws, active := state(); rs|ws != 0 || !active {
		t.Fatalf("after refilling both off the loop: suspended %#x/%#x, active %v; want both resumed at once", rs, ws, active)
	}
	_ = base.Loop(eventbase.LoopNonBlock) // the backend's part and the refill timer
	must(t, bev.Close())
}
