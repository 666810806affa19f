//go:build linux

package socket

import (
	"bytes"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
	"github.com/bufev/bufev/ratelimit"
)

// Goroutines change the rate limits of two ThreadSafe socket bufferevents at random while
// both write to each other and the loop runs on its own goroutine: own limits set and
// removed, joining and leaving two groups, decrements of both buckets, and the groups'
// configs replaced (RateLimitGroup.SetConfig, safe for concurrent use). Run with -race:
// nothing may race or panic (a group's SetConfig off the loop used to corrupt the base's
// timer heap here), and once the limits are gone a marker must still get through both
// ways (no suspension left behind).
func TestRateLimitRandomOpsConcurrentSafe(t *testing.T) {
	for _, opts := range []bufferevent.Options{bufferevent.ThreadSafe, bufferevent.ThreadSafe | bufferevent.DeferCallbacks} {
		t.Run(map[bool]string{false: "plain", true: "deferred"}[opts&bufferevent.DeferCallbacks != 0], func(t *testing.T) {
			for round := range 3 {
				rateLimitRandomRound(t, opts, uint64(round))
			}
		})
	}
}

func rateLimitRandomRound(t *testing.T, opts bufferevent.Options, seed uint64) {
	base := newBase(t)
	var groups [2]*bufferevent.RateLimitGroup
	for i := range groups {
		g, err := bufferevent.NewRateLimitGroup(base, rlCfg(t, 2000, 8000, 2000, 8000, 10*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		groups[i] = g
	}
	a, b := rlPair(t, base, opts)
	marker := []byte("rate-limit-random-ops-marker")
	var mu sync.Mutex
	var seen []byte
	var want *bufferevent.BufferEvent // the marker's receiver (nil: discard)
	got := make(chan struct{}, 1)
	for _, x := range []*bufferevent.BufferEvent{a, b} {
		if err := x.SetCallbacks(func(bev *bufferevent.BufferEvent) {
			buf := evbuffer.New()
			_ = bev.ReadBuffer(buf)
			p := make([]byte, buf.Len())
			_, _ = buf.Remove(p)
			mu.Lock()
			defer mu.Unlock()
			if bev != want {
				return
			}
			seen = append(seen, p...)
			if bytes.Contains(seen, marker) {
				seen = nil
				got <- struct{}{}
			} else if len(seen) > len(marker) {
				seen = append(seen[:0], seen[len(seen)-len(marker):]...)
			}
		}, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
			t.Errorf("event %v: %v (nothing ends the stream here)", what, err)
		}); err != nil {
			t.Fatal(err)
		}
		if err := x.Enable(bufferevent.ReadWrite); err != nil {
			t.Fatal(err)
		}
	}
	loopDone := make(chan error, 1)
	go func() { loopDone <- base.Loop(eventbase.LoopNoExitOnEmpty) }()
	var wg sync.WaitGroup
	for i, x := range []*bufferevent.BufferEvent{a, b, a, b} {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(i)))
			cfg := func() *ratelimit.Config {
				rr, wr := int64(1+r.IntN(4000)), int64(1+r.IntN(4000))
				return rlCfg(t, rr, rr+int64(r.IntN(8000)), wr, wr+int64(r.IntN(8000)), time.Duration(1+r.IntN(20))*time.Millisecond)
			}
			for range 400 {
				switch r.IntN(9) {
				case 0, 1, 2:
					_, _ = x.Write(make([]byte, r.IntN(4000)))
				case 3:
					_ = x.SetRateLimit(cfg())
				case 4:
					_ = x.SetRateLimit(nil)
				case 5:
					_ = x.JoinGroup(groups[r.IntN(2)])
				case 6:
					_ = x.LeaveGroup()
				case 7:
					_ = x.DecrementReadLimit(int64(r.IntN(5000) - 1000))
					_ = x.DecrementWriteLimit(int64(r.IntN(5000) - 1000))
				case 8:
					if err := groups[r.IntN(2)].SetConfig(cfg()); err != nil {
						t.Error(err)
					}
				}
				if r.IntN(8) == 0 {
					time.Sleep(time.Duration(r.IntN(300)) * time.Microsecond)
				}
			}
		})
	}
	wg.Wait()
	for _, x := range []*bufferevent.BufferEvent{a, b} {
		if err := x.SetRateLimit(nil); err != nil {
			t.Fatal(err)
		}
		if err := x.LeaveGroup(); err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range [][2]*bufferevent.BufferEvent{{a, b}, {b, a}} {
		mu.Lock()
		want, seen = dir[1], nil
		mu.Unlock()
		if _, err := dir[0].Write(marker); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			t.Fatal("the marker did not arrive once the limits were removed")
		}
	}
	// Stop the loop and retire everything on it.
	if err := base.RunInLoop(func() {
		_ = a.SetCallbacks(nil, nil, nil)
		_ = b.SetCallbacks(nil, nil, nil)
		closeQuiet(a)
		closeQuiet(b)
		base.LoopBreak()
	}); err != nil {
		t.Fatal(err)
	}
	if err := <-loopDone; err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		if err := g.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
