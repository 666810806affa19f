package eventbase

import (
	"sync"
	"sync/atomic"
	"testing"
)

// A function RunInLoop accepted (returned nil) runs, even when another goroutine
// queues it while the base is closing: Close runs the queued work, and what is queued
// after Close's last round is refused (ErrClosed), never accepted and then dropped.
// bufferevent relies on it: a Close from another goroutine that RunInLoop accepted
// hands the finalisation (closing the descriptor) to the loop and does not do it
// itself.
func TestCloseRunInLoopAcceptedRuns(t *testing.T) {
	for i := 0; i < 2000; i++ {
		base, err := New(Config{})
		if err != nil {
			t.Fatal(err)
		}
		var accepted, ran atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				if base.RunInLoop(func() { ran.Add(1) }) != nil {
					return
				}
				accepted.Add(1)
			}
		}()
		close(start)
		if err := base.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if a, r := accepted.Load(), ran.Load(); a != r {
			t.Fatalf("round %d: RunInLoop accepted %d functions, %d ran", i, a, r)
		}
	}
}
