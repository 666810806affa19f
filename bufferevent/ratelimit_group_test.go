package bufferevent_test

import (
	"errors"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/backend"
	"github.com/bufev/bufev/eventbase"
	"github.com/bufev/bufev/ratelimit"
)

// pendingTimers counts the base's events with a pending timeout. On the loop.
func pendingTimers(t *testing.T, base *eventbase.Base) int {
	t.Helper()
	n := 0
	if err := base.ForEachEvent(func(ev *eventbase.Event) error {
		if w, _ := ev.Pending(eventbase.Timeout); w&eventbase.Timeout != 0 {
			n++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// A group's refill timer is armed only while the group has a direction
// suspended: a limit that does not bind costs no timer. A charge that
// suspends activates it; once the members are resumed and nothing is
// suspended it stops again, and members credit the elapsed ticks
// themselves.
func TestRateLimitGroupTimerOnlyWhileSuspended(t *testing.T) {
	const tick = 20 * time.Millisecond
	base := newBase(t)
	cfg, err := ratelimit.NewConfig(100, 100, 100, 100, tick)
	must(t, err)
	g, err := bufferevent.NewRateLimitGroup(base, cfg)
	must(t, err)
	bev, r, err := newRecorder(base, 0)
	must(t, err)
	must(t, bev.Enable(bufferevent.Read))
	must(t, bev.JoinGroup(g))
	if n := pendingTimers(t, base); n != 0 {
		t.Fatalf("a new group has %d pending timers; want none", n)
	}
	r.c.Enter()
	r.c.ChargeRead(40) // 60 left: not suspended
	r.c.Leave()
	_ = base.Loop(eventbase.LoopNonBlock)
	if n := pendingTimers(t, base); n != 0 {
		t.Fatalf("%d pending timers with nothing suspended; want none", n)
	}
	r.c.Enter()
	r.c.ChargeRead(100) // -40: suspended
	r.c.Leave()
	_ = base.Loop(eventbase.LoopNonBlock) // the activated refill callback and the member's notification
	if r.c.ReadSuspended()&backend.SuspendGroup == 0 {
		t.Fatal("an empty group bucket did not suspend the member")
	}
	if n := pendingTimers(t, base); n != 1 {
		t.Fatalf("%d pending timers while suspended; want the refill timer", n)
	}
	// The refill timer resumes the member once the level reaches the min
	// share (64): after the second tick (−40 + 2×100).
	for deadline := time.Now().Add(5 * time.Second); r.c.ReadSuspended() != 0; {
		if time.Now().After(deadline) {
			t.Fatal("the group did not resume its member")
		}
		_ = base.Loop(eventbase.LoopOnce)
	}
	_ = base.Loop(eventbase.LoopNonBlock)
	if n := pendingTimers(t, base); n != 0 {
		t.Fatalf("%d pending timers after the group resumed; want none", n)
	}
	// Credit now comes from the members' own refills: spend half the bucket
	// (not suspended), wait two ticks with the timer stopped, and the member's
	// next MaxToRead finds the bucket full again.
	r.c.Enter()
	r.c.ChargeRead(50)
	r.c.Leave()
	if r, _ := g.Group().Suspended(); r || g.Group().ReadLimit() != 50 {
		t.Fatalf("after a charge of 50: suspended %v, level %d; want false, 50", r, g.Group().ReadLimit())
	}
	time.Sleep(2 * tick)
	r.c.Enter()
	got := r.c.MaxToRead()
	r.c.Leave()
	if got != 100 || g.Group().ReadLimit() != 100 {
		t.Errorf("MaxToRead after two idle ticks = %d (group level %d); want the full bucket, 100", got, g.Group().ReadLimit())
	}
	must(t, bev.Close())
	must(t, g.Close())
}

// Closing a member removes it from its group before Close returns, so that
// the group may be closed right after, even when the loop finalises the
// bufferevent later: a ThreadSafe bufferevent closed from another goroutine
// while its loop is busy, and a bufferevent closed from inside its own
// callback.
func TestRateLimitGroupCloseMemberLeavesAtOnce(t *testing.T) {
	cfg, err := ratelimit.NewConfig(1000, 1000, 1000, 1000, time.Second)
	must(t, err)

	t.Run("ThreadSafe, closed off the loop", func(t *testing.T) {
		base := newBase(t)
		g, err := bufferevent.NewRateLimitGroup(base, cfg)
		must(t, err)
		bev, r, err := newRecorder(base, bufferevent.ThreadSafe)
		must(t, err)
		must(t, bev.JoinGroup(g))
		stop := runLoop(t, base)
		defer stop()
		inLoop, closed := make(chan struct{}), make(chan struct{})
		result := make(chan error, 1)
		// Hold the loop while another goroutine closes the member: the
		// finalisation queued by Close cannot run before the group's Close.
		must(t, base.RunInLoop(func() {
			close(inLoop)
			<-closed
			if n := g.Group().Len(); n != 0 {
				result <- errors.New("the closed member is still in the group")
				return
			}
			result <- g.Close()
		}))
		<-inLoop
		must(t, bev.Close())
		close(closed)
		if err := <-result; err != nil {
			t.Fatalf("RateLimitGroup.Close right after the member's Close: %v", err)
		}
		done := make(chan struct{})
		must(t, base.RunInLoop(func() { close(done) }))
		<-done
		if r.closes != 1 {
			t.Errorf("backend closed %d times; want 1", r.closes)
		}
	})

	t.Run("closed in its own callback", func(t *testing.T) {
		base := newBase(t)
		g, err := bufferevent.NewRateLimitGroup(base, cfg)
		must(t, err)
		bev, r, err := newRecorder(base, 0)
		must(t, err)
		must(t, bev.JoinGroup(g))
		must(t, bev.Enable(bufferevent.Read))
		var closeErr, groupErr error
		must(t, bev.SetCallbacks(func(b *bufferevent.BufferEvent) {
			closeErr = b.Close()
			groupErr = g.Close() // the bufferevent is not finalised yet
		}, nil, nil))
		r.deliver([]byte("x"))
		if closeErr != nil || groupErr != nil {
			t.Fatalf("Close in the callback = %v, then the group's Close = %v; want nil, nil", closeErr, groupErr)
		}
		if r.closes != 1 {
			t.Errorf("backend closed %d times; want 1", r.closes)
		}
	})
}
