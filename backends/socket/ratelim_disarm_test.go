//go:build linux

package socket

import (
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
)

// A write that empties the bufferevent's own bucket suspends writing, and the write event
// stays disarmed until the bucket is refilled. Re-armed (as it was once, right after the
// charge that suspended it), the level-triggered event on a writable socket woke the loop
// on every turn until the refill only for the handler to ignore it, and the socket stayed
// on the poller's ready list: when its group resumed writing, it was reported one poll
// ahead of the members that had been suspended by the group alone and took a second share
// before they took their first. examples/ratelimit-server's TestServerLimits then saw two
// clients at their own 200 kB/s cap and the third at 60 kB/s, every tick alike. Both
// paths are covered: the immediate write of added output and the write event.
func TestRateLimitSuspendedWriteStaysDisarmed(t *testing.T) {
	for _, tc := range []struct {
		name     string
		viaEvent bool
	}{
		{"written at once", false},
		{"written from the write event", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := newBase(t)
			w, r := rlPair(t, base, 0)
			got := sink(t, r)
			if tc.viaEvent {
				if err := w.Disable(bufferevent.Write); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.SetRateLimit(rlCfg(t, 1000, 4000, 1500, 6000, hour)); err != nil {
				t.Fatal(err)
			}
			fill(t, w, 100<<10)
			if tc.viaEvent {
				if err := w.Enable(bufferevent.Write); err != nil {
					t.Fatal(err)
				}
			}
			runSettled(t, base, 20*time.Millisecond, func() bool { return got.Load() >= 1500 })
			if g := got.Load(); g != 1500 {
				t.Fatalf("received %d bytes; want the write rate, 1500", g)
			}
			if armed := writeArmed(t, w); armed {
				t.Fatal("the write event is armed while writing is suspended for bandwidth")
			}
			// Lifting the suspension arms it again and writing resumes.
			if err := w.DecrementWriteLimit(-700); err != nil {
				t.Fatal(err)
			}
			runSettled(t, base, 20*time.Millisecond, func() bool { return got.Load() >= 2200 })
			if g := got.Load(); g != 2200 {
				t.Fatalf("after refilling 700: received %d; want 2200", g)
			}
			if armed := writeArmed(t, w); armed {
				t.Fatal("the write event is armed after the refill was spent")
			}
		})
	}
}

// writeArmed reports whether bev's write event is armed.
func writeArmed(t *testing.T, bev *bufferevent.BufferEvent) bool {
	t.Helper()
	s, err := lookupSock(bev)
	if err != nil {
		t.Fatal(err)
	}
	s.c.Lock()
	defer s.c.Unlock()
	return s.wOn
}
