//go:build unix

package eventbase

import (
	"testing"
	"time"
)

// A LoopBreak from another goroutine that lands after the loop checked for
// a break at the top of its turn, but before it published that it is about
// to block, must still stop the loop. The hook runs exactly in that window;
// before the fix the loop blocked in the poller for good (no timer, no
// wake-up: LoopBreak saw polling false and did not wake it). Seen as
// intermittent hangs of TestCloseLeavesNoGoroutines and ExampleNetConn
// (Do or RunInLoop, then LoopBreak) on a loaded machine.
func TestLoopBreakBeforeBlockWakes(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		b := newBase(t, m)
		first := true
		b.beforeBlock = func() {
			if !first {
				return
			}
			first = false
			broke := make(chan struct{})
			go func() { b.LoopBreak(); close(broke) }()
			<-broke
		}
		done := make(chan error, 1)
		go func() { done <- b.Loop(LoopNoExitOnEmpty) }()
		select {
		case err := <-done:
			must(t, err)
		case <-time.After(10 * time.Second):
			// Wake the loop through the remote queue so that it returns
			// and the base can be closed.
			_ = b.RunInLoop(func() {})
			<-done
			t.Fatal("LoopBreak between the turn's check and the poll was lost: the loop blocked")
		}
		if !b.GotBreak() {
			t.Fatal("Loop returned without GotBreak")
		}
	})
}
