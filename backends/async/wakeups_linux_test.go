//go:build linux

package async

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bufev/bufev/eventbase"
)

// TestRingWaitWakeUps: the loop blocked in the ring (a receive pending on each end of
// an idle pair) is woken by LoopBreak and by RunInLoop from another goroutine, each
// arriving at a random moment of the turn (before the wait, during it, as it ends),
// 300 times: a wake-up lost between the base's last check and the ring's wait
// would leave Loop blocked (the bound is 5 s per round).
func TestRingWaitWakeUps(t *testing.T) {
	setRingWait(t, true)
	base := newBase(t)
	a, b := newPair(t, base, true)
	msg := bytes.Repeat([]byte("ping "), 20)
	if got := echoExchange(t, base, a, b, msg); !bytes.Equal(got, msg) {
		t.Fatal("echo")
	}
	for i := 0; i < 300; i++ {
		d := time.Duration(rand.IntN(200)) * time.Microsecond
		wake := func() {
			time.Sleep(d)
			if i%2 == 0 {
				base.LoopBreak()
			} else {
				_ = base.RunInLoop(func() { base.LoopBreak() })
			}
		}
		// The waking goroutine starts from inside the loop: a LoopBreak before
		// Loop starts is forgotten (as in libevent), which a goroutine started
		// before it could do on a loaded machine.
		if err := base.Once(-1, eventbase.Timeout, 0, func(int, eventbase.What) { go wake() }); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := base.LoopExit(5 * time.Second); err != nil { // a bound, should the wake-up be lost
			t.Fatal(err)
		}
		if err := base.Loop(0); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el >= 5*time.Second {
			t.Fatalf("iteration %d: loop took %v: the wake-up was lost", i, el)
		}
	}
}
