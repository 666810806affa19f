package bevtest

import (
	"bytes"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/ratelimit"
)

// randomOp calls one method of bev chosen by r with random arguments, among
// those that change state without ending the stream (no Close, no Finished):
// writes and reads, enabling and disabling, watermarks, maximum sizes,
// timeouts of a few milliseconds, Normal and Flush flushes, triggers,
// buffer access under the lock, and rate limits set, removed and
// decremented (types that do not rate-limit accept and ignore them). Errors are expected (bad combinations,
// ErrClosed) and ignored: what counts is that nothing panics, deadlocks or
// races, and that the pair still works afterwards.
func randomOp(r *rand.Rand, bev *bufferevent.BufferEvent) {
	switch r.IntN(18) {
	case 0, 1, 2:
		_, _ = bev.Write(make([]byte, r.IntN(3000)))
	case 3, 4:
		_, _ = bev.Read(make([]byte, r.IntN(3000)))
	case 5:
		_ = bev.Enable(bufferevent.Direction(r.IntN(4)<<1) & bufferevent.ReadWrite)
	case 6:
		_ = bev.Disable(bufferevent.Direction(r.IntN(4)<<1) & bufferevent.ReadWrite)
	case 7:
		lo := r.IntN(100)
		_ = bev.SetWatermark(bufferevent.Read, lo, lo+r.IntN(5000))
	case 8:
		_ = bev.SetWatermark(bufferevent.Write, r.IntN(100), 0)
	case 9:
		_, _ = bev.Flush(bufferevent.Direction(1+r.IntN(3))<<1, bufferevent.FlushMode(r.IntN(2)))
	case 10:
		opts := bufferevent.TriggerOptions(0)
		if r.IntN(2) == 0 {
			opts |= bufferevent.TriggerDefer
		}
		_ = bev.Trigger(bufferevent.Direction(1+r.IntN(3))<<1, opts)
	case 11:
		_ = bev.SetTimeouts(time.Duration(r.IntN(3))*time.Millisecond, time.Duration(r.IntN(3))*time.Millisecond)
	case 12:
		_ = bev.WithLock(func(in, out *evbuffer.Buffer) { _, _ = in.Drain(r.IntN(in.Len()+1)), out.Len() })
	case 13:
		_ = bev.SetMaxSingleRead(r.IntN(5000))
	case 14:
		_ = bev.SetMaxSingleWrite(r.IntN(5000))
	case 15:
		rr, wr := int64(1+r.IntN(4000)), int64(1+r.IntN(4000))
		cfg, err := ratelimit.NewConfig(rr, rr+int64(r.IntN(8000)), wr, wr+int64(r.IntN(8000)), time.Duration(1+r.IntN(10))*time.Millisecond)
		if err == nil {
			_ = bev.SetRateLimit(cfg)
		}
	case 16:
		_ = bev.SetRateLimit(nil)
	case 17:
		_ = bev.DecrementReadLimit(int64(r.IntN(4000) - 1000))
		_ = bev.DecrementWriteLimit(int64(r.IntN(4000) - 1000))
	}
}

// testRandomOps (ThreadSafeRandomOps): four goroutines call random methods
// (randomOp) on both ThreadSafe ends while the loop runs and the callbacks
// call random methods too; then, with the state reset (no watermarks, limits
// or timeouts, both directions enabled), a marker written to one end must
// reach the other. A lost wake-up or a suspension left behind by a racing
// change would stall it; a deadlock stops the goroutines; -race sees the
// rest.
func testRandomOps(e *env) {
	t := e.t
	const goroutines, opsEach = 4, 1000
	marker := []byte("bevtest-random-ops-marker")
	var seen bytes.Buffer            // the receiver's input in the final phase
	var dst *bufferevent.BufferEvent // the final phase's receiver (nil before)
	for i, bev := range []*bufferevent.BufferEvent{e.a, e.b} {
		r := rand.New(rand.NewPCG(uint64(i), 99)) // used by callbacks, on the loop only
		must(t, bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
			if dst != nil {
				if bev == dst {
					tmp := make([]byte, 4096)
					for {
						n, _ := bev.Read(tmp)
						if n == 0 {
							break
						}
						seen.Write(tmp[:n])
						if bytes.Contains(seen.Bytes(), marker) {
							e.finish()
							return
						}
						if seen.Len() > len(marker) {
							seen.Next(seen.Len() - len(marker))
						}
					}
				} else {
					_ = bev.ReadBuffer(evbuffer.New())
				}
				return
			}
			if r.IntN(4) == 0 {
				randomOp(r, bev)
			} else {
				_ = bev.ReadBuffer(evbuffer.New())
			}
		}, func(bev *bufferevent.BufferEvent) {
			if dst == nil && r.IntN(3) == 0 {
				randomOp(r, bev)
			}
		}, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
			if what&(bufferevent.EOF|bufferevent.Error) != 0 {
				e.errorf("event %v: %v (nothing ends the stream here)", what, err)
				return
			}
			// A timeout disabled the direction: resume (until the final
			// phase, which sets the directions itself).
			if dst == nil {
				_ = bev.Enable(bufferevent.ReadWrite)
			}
		}))
		must(t, bev.Enable(bufferevent.ReadWrite))
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	for i := range goroutines {
		bev := e.a
		if i%2 == 1 {
			bev = e.b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), 7))
			for range opsEach {
				randomOp(r, bev)
				if r.IntN(8) == 0 {
					// Spread the calls over many loop turns.
					time.Sleep(time.Duration(r.IntN(200)) * time.Microsecond)
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	deadline := time.Now().Add(e.timeout())
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			if time.Now().After(deadline) {
				t.Fatalf("random operations not done after %v: a method blocked", e.timeout())
			}
			e.runFor(20 * time.Millisecond)
			if e.done {
				t.FailNow() // errorf ended the run
			}
		}
	}
	// Reset what the operations changed, then check that the pair still
	// carries data each way, including data written while the receiver was
	// not reading: enabling its reading must fetch it.
	for _, bev := range []*bufferevent.BufferEvent{e.a, e.b} {
		must(t, bev.SetWatermark(bufferevent.ReadWrite, 0, 0))
		must(t, bev.SetTimeouts(0, 0))
		must(t, bev.SetMaxSingleRead(0))
		must(t, bev.SetMaxSingleWrite(0))
		must(t, bev.SetRateLimit(nil))
	}
	for _, dir := range [][2]*bufferevent.BufferEvent{{e.a, e.b}, {e.b, e.a}} {
		src := dir[0]
		dst = dir[1]
		seen.Reset()
		must(t, dst.Disable(bufferevent.Read))
		must(t, dst.Enable(bufferevent.Write))
		must(t, src.Enable(bufferevent.ReadWrite))
		if _, err := src.Write(marker); err != nil {
			t.Fatal(err)
		}
		e.runFor(20 * time.Millisecond)
		if e.done {
			e.done = false // it got through already (a layer that reads ahead)
			continue
		}
		must(t, dst.Enable(bufferevent.Read))
		e.run("a marker written after the random operations")
	}
}
