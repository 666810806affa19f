//go:build unix

package eventbase

import (
	"testing"
	"time"
)

// LoopNow returns exactly Now's time: inside callbacks (the turn's cached time, the
// same for every call of a turn, later in a later turn), outside a loop and with
// NoCacheTime (the clock), and after the loop ended (not a stale cached time).
func TestLoopNow(t *testing.T) {
	for _, cfg := range []Config{{}, {NoCacheTime: true}} {
		b, err := New(cfg)
		must(t, err)
		before := b.LoopNow()
		if d := time.Since(before); d < 0 || d > time.Second {
			t.Fatalf("LoopNow outside a loop is %v from the clock", d)
		}
		var turns []time.Time
		var tm *Event
		tm, err = b.NewTimer(func() {
			a, n := b.LoopNow(), b.Now()
			if !cfg.NoCacheTime && !a.Equal(n) {
				t.Errorf("LoopNow %v != Now %v in one turn", a, n)
			}
			if cfg.NoCacheTime && n.Before(a) {
				t.Errorf("NoCacheTime: Now %v before the earlier LoopNow %v", n, a)
			}
			if again := b.LoopNow(); !cfg.NoCacheTime && !again.Equal(a) {
				t.Errorf("LoopNow changed within a turn: %v then %v", a, again)
			}
			turns = append(turns, a)
			if len(turns) < 3 {
				must(t, tm.AddTimeout(2*time.Millisecond))
			}
		})
		must(t, err)
		must(t, tm.AddTimeout(0))
		must(t, b.Dispatch())
		if len(turns) != 3 {
			t.Fatalf("%d turns, want 3", len(turns))
		}
		for i := 1; i < 3; i++ {
			if d := turns[i].Sub(turns[i-1]); d < 2*time.Millisecond {
				t.Fatalf("turn %d's LoopNow is %v after the previous one, want at least the 2ms timeout", i, d)
			}
		}
		time.Sleep(2 * time.Millisecond)
		if after := b.LoopNow(); after.Sub(turns[2]) < 2*time.Millisecond {
			t.Fatalf("LoopNow after the loop ended returned a stale time (%v after the last turn)", after.Sub(turns[2]))
		}
		tm.Free()
		must(t, b.Close())
	}
}

// LoopNow on a turn's cached time allocates nothing and does not rebuild the time.
func TestLoopNowAllocs(t *testing.T) {
	b, err := New(Config{})
	must(t, err)
	defer b.Close()
	var allocs float64
	tm, err := b.NewTimer(func() {
		allocs = testing.AllocsPerRun(100, func() { _ = b.LoopNow() })
	})
	must(t, err)
	must(t, tm.AddTimeout(0))
	must(t, b.Dispatch())
	if allocs != 0 {
		t.Fatalf("LoopNow allocates %v times per call", allocs)
	}
}
