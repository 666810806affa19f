package bufferevent_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
)

// runLoop runs base's loop on its own goroutine until the returned stop
// function is called.
func runLoop(t *testing.T, base *eventbase.Base) (stop func()) {
	t.Helper()
	keep, err := base.NewTimer(func() {})
	if err != nil {
		t.Fatal(err)
	}
	if err := keep.AddTimeout(time.Hour); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- base.Loop(eventbase.LoopNoExitOnEmpty) }()
	return func() {
		_ = base.RunInLoop(func() { keep.Free(); base.LoopBreak() })
		if err := <-done; err != nil {
			t.Errorf("Loop: %v", err)
		}
	}
}

// TestOffLoopCallsDoNotRace: Flush, SetPriority, SetFD and the rate-limit
// setters called from a user goroutine on a ThreadSafe bufferevent hand their
// work to the loop; the loop must not write anything the call has already
// returned (run under -race), and the calls report only argument errors and
// ErrClosed, as the package documentation says.
func TestOffLoopCallsDoNotRace(t *testing.T) {
	base := newBase(t)
	bev, _, err := newRecorder(base, bufferevent.ThreadSafe)
	if err != nil {
		t.Fatal(err)
	}
	stop := runLoop(t, base)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				if did, err := bev.Flush(bufferevent.Write, bufferevent.Flush); did || err != nil {
					t.Errorf("goroutine %d: off-loop Flush = %v, %v; want false, nil", g, did, err)
					return
				}
				// recorder has no events of its own: unsupported is an
				// argument-level error known without the loop.
				if err := bev.SetPriority(i % 2); !errors.Is(err, errors.ErrUnsupported) {
					t.Errorf("SetPriority = %v; want ErrUnsupported", err)
					return
				}
				if err := bev.SetFD(3); !errors.Is(err, errors.ErrUnsupported) {
					t.Errorf("SetFD = %v; want ErrUnsupported", err)
					return
				}
				if err := bev.SetRateLimit(nil); err != nil {
					t.Errorf("SetRateLimit = %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	// Wait for the queued work to run before stopping the loop.
	done := make(chan struct{})
	if err := base.RunInLoop(func() { close(done) }); err != nil {
		t.Fatal(err)
	}
	<-done
	stop()
	if err := bev.Close(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_ = base.Loop(eventbase.LoopNonBlock)
	}
}
