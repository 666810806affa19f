//go:build linux

package socket

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
	"github.com/bufev/bufev/ratelimit"
)

// One group shared by ThreadSafe bufferevents on two bases, each base run by its own
// goroutine and the group's refill timer on a third, while another goroutine calls the
// limit getters and adjusters. Run with -race. The group's total must stay within its
// bucket (initial fill + one rate per tick + the bounded overshoot of concurrent shares)
// and the members must keep moving (suspend and resume work across loops).
func TestRateLimitGroupAcrossBases(t *testing.T) {
	const (
		rate     = 4000
		tick     = 20 * time.Millisecond
		perBase  = 3
		nBases   = 2
		runTime  = 800 * time.Millisecond
		minShare = 64
	)
	start := time.Now()
	gbase := newBase(t)
	rg, err := bufferevent.NewRateLimitGroup(gbase, rlCfg(t, rate, 10*rate, rate, 10*rate, tick))
	if err != nil {
		t.Fatal(err)
	}
	bases := []*eventbase.Base{gbase}
	var writers []*bufferevent.BufferEvent
	var readers []*bufferevent.BufferEvent
	var received atomic.Int64
	for range nBases {
		base := newBase(t)
		bases = append(bases, base)
		for range perBase {
			w, r := rlPair(t, base, bufferevent.ThreadSafe)
			writers = append(writers, w)
			readers = append(readers, r)
			buf := make([]byte, 32<<10)
			if err := r.SetCallbacks(func(bev *bufferevent.BufferEvent) {
				for {
					n, _ := bev.Read(buf)
					if n == 0 {
						return
					}
					received.Add(int64(n))
				}
			}, nil, nil); err != nil {
				t.Fatal(err)
			}
			if err := r.Enable(bufferevent.Read); err != nil {
				t.Fatal(err)
			}
			block := make([]byte, 16<<10)
			if err := w.SetWatermark(bufferevent.Write, 8<<10, 0); err != nil {
				t.Fatal(err)
			}
			if err := w.SetCallbacks(nil, func(bev *bufferevent.BufferEvent) {
				_, _ = bev.Write(block)
			}, nil); err != nil {
				t.Fatal(err)
			}
		}
	}

	// Run every base on its own goroutine.
	var loops sync.WaitGroup
	for _, b := range bases {
		loops.Add(1)
		go func() {
			defer loops.Done()
			if err := b.Loop(eventbase.LoopNoExitOnEmpty); err != nil {
				t.Error(err)
			}
		}()
	}
	stopLoops := func() {
		for _, b := range bases {
			_ = b.LoopExit(0)
		}
		loops.Wait()
	}
	var stopped bool
	defer func() {
		if !stopped {
			stopLoops()
		}
	}()

	// Join from this goroutine (ThreadSafe: applied on each member's loop), then start
	// writing.
	for _, w := range writers {
		if err := w.JoinGroup(rg); err != nil {
			t.Fatal(err)
		}
	}
	g := rg.Group()
	for deadline := time.Now().Add(5 * time.Second); g.Len() != len(writers); {
		if time.Now().After(deadline) {
			t.Fatalf("Len = %d; want %d", g.Len(), len(writers))
		}
		time.Sleep(time.Millisecond)
	}
	for _, w := range writers {
		if _, err := w.Write(make([]byte, 16<<10)); err != nil {
			t.Fatal(err)
		}
	}

	// Hammer the goroutine-safe API while the loops run.
	hammerDone := make(chan struct{})
	var hammer sync.WaitGroup
	hammer.Add(1)
	go func() {
		defer hammer.Done()
		huge := rlCfg(t, 1<<40, 1<<40, 1<<40, 1<<40, time.Second)
		for i := 0; ; i++ {
			select {
			case <-hammerDone:
				return
			default:
			}
			w := writers[i%len(writers)]
			_ = w.ReadLimit()
			_ = w.WriteLimit()
			_ = w.MaxToRead()
			_ = w.MaxToWrite()
			_, _ = g.Totals()
			_ = g.WriteLimit()
			_, _ = g.Suspended()
			if i%16 == 0 {
				// A per-connection limit too large to bind, set and removed from outside
				// the loop.
				if i%32 == 0 {
					_ = w.SetRateLimit(huge)
				} else {
					_ = w.SetRateLimit(nil)
				}
				_ = g.SetMinShare(int64(minShare * (1 + i%2)))
			}
			time.Sleep(200 * time.Microsecond)
		}
	}()
	time.Sleep(runTime)
	close(hammerDone)
	hammer.Wait()
	if err := g.SetMinShare(minShare); err != nil {
		t.Fatal(err)
	}

	// Close every member on its own loop; closing leaves the group. Then the group closes.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i, w := range writers {
		b := bases[1+i/perBase]
		if err := b.Do(ctx, func() {
			_ = w.Close()
			_ = readers[i].Close()
		}); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); g.Len() != 0; {
		if time.Now().After(deadline) {
			t.Fatalf("Len after closing every member = %d", g.Len())
		}
		time.Sleep(time.Millisecond)
	}
	var cerr error
	if err := gbase.Do(ctx, func() { cerr = rg.Close() }); err != nil {
		t.Fatal(err)
	}
	if cerr != nil {
		t.Fatalf("closing the emptied group: %v", cerr)
	}
	stopLoops()
	stopped = true
	_, written := g.Totals()
	elapsed := time.Since(start)

	ticks := int64(elapsed / tick)
	upper := rate*(ticks+2) + int64(len(writers))*2*minShare
	lower := rate * ticks * 3 / 10
	t.Logf("%d members on %d bases: %d bytes in %v (%d ticks); allowed at most %d", len(writers), nBases, written, elapsed, ticks, upper)
	if int64(written) > upper {
		t.Errorf("group passed %d bytes; its bucket allows at most %d", written, upper)
	}
	if int64(written) < lower {
		t.Errorf("group passed only %d bytes of %d possible: members are not resumed", written, rate*ticks)
	}
	if got := received.Load(); got > int64(written) {
		t.Errorf("readers got %d bytes, more than the %d the group counted", got, written)
	}
}

// The deterministic checks of TestRateLimitWriteBucket and TestRateLimitGroupMembership on
// a ThreadSafe bufferevent driven from another goroutine while its loop runs: every call is
// handed to the loop, and the byte counts stay exact. The group lives on a second base.
func TestRateLimitThreadSafeFromOutside(t *testing.T) {
	base := newBase(t)
	gbase := newBase(t)
	w, r := rlPair(t, base, bufferevent.ThreadSafe)
	got := sink(t, r)
	rg, err := bufferevent.NewRateLimitGroup(gbase, rlCfg(t, 5000, 5000, 5000, 5000, hour))
	if err != nil {
		t.Fatal(err)
	}
	var loops sync.WaitGroup
	for _, b := range []*eventbase.Base{base, gbase} {
		loops.Add(1)
		go func() {
			defer loops.Done()
			if err := b.Loop(eventbase.LoopNoExitOnEmpty); err != nil {
				t.Error(err)
			}
		}()
	}
	defer func() {
		_ = base.LoopExit(0)
		_ = gbase.LoopExit(0)
		loops.Wait()
	}()
	// waitFor polls cond from this goroutine; settle waits a little for bytes that must
	// not come.
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s (received %d)", what, got.Load())
			}
		}
	}
	settle := func() { time.Sleep(100 * time.Millisecond) }

	cfg := rlCfg(t, 1000, 4000, 1000, 4000, hour)
	if err := w.SetRateLimit(cfg); err != nil {
		t.Fatal(err)
	}
	waitFor("the limit to apply", func() bool { return w.RateLimit() == cfg })
	if _, err := w.Write(make([]byte, 50000)); err != nil {
		t.Fatal(err)
	}
	waitFor("the first 1000 bytes", func() bool { return got.Load() >= 1000 })
	settle()
	if g := got.Load(); g != 1000 {
		t.Fatalf("received %d; want exactly 1000", g)
	}
	if err := w.DecrementWriteLimit(-500); err != nil {
		t.Fatal(err)
	}
	waitFor("500 more bytes", func() bool { return got.Load() >= 1500 })
	settle()
	if g := got.Load(); g != 1500 {
		t.Fatalf("received %d; want exactly 1500", g)
	}

	// Join a group on another base: the smaller of the two buckets applies.
	if err := w.JoinGroup(rg); err != nil {
		t.Fatal(err)
	}
	waitFor("joining", func() bool { return rg.Group().Len() == 1 })
	if err := w.DecrementWriteLimit(-100000); err != nil {
		t.Fatal(err)
	}
	waitFor("the group's 5000 bytes", func() bool { return got.Load() >= 6500 })
	settle()
	if g := got.Load(); g < 6500 || g >= 6500+ratelimit.DefaultMinShare {
		t.Fatalf("received %d; want the group's bucket, 5000 more", g)
	}
	// A manual group refill from this goroutine resumes the member on its loop.
	before := got.Load()
	level := rg.Group().WriteLimit()
	rg.Group().DecrementWrite(-3000)
	waitFor("the group refill", func() bool { return got.Load()-before >= level+3000 })
	// Leaving lifts the group's limit; removing the own limit lets everything through.
	if err := w.LeaveGroup(); err != nil {
		t.Fatal(err)
	}
	if err := w.SetRateLimit(nil); err != nil {
		t.Fatal(err)
	}
	waitFor("everything", func() bool { return got.Load() == 50000 })
	if rg.Group().Len() != 0 {
		t.Fatalf("Len = %d after LeaveGroup", rg.Group().Len())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var cerr error
	if err := gbase.Do(ctx, func() { cerr = rg.Close() }); err != nil {
		t.Fatal(err)
	}
	if cerr != nil {
		t.Fatal(cerr)
	}
}
