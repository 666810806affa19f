package ratelimit

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// loopMember models a bufferevent whose loop runs on its own goroutine: GroupChanged
// re-enters the group (allowed: no lock is held), then queues a re-check on the member's
// loop, coalescing with an atomic flag.
type loopMember struct {
	Limiter
	loop               *fakeLoop
	pending            atomic.Bool
	appliedR, appliedW bool // loop-confined
	notified           atomic.Int64
}

type fakeLoop struct {
	g     *Group
	mu    sync.Mutex
	queue []*loopMember
}

func (m *loopMember) GroupChanged(Direction) {
	m.notified.Add(1)
	// Re-entering the group from a notification must not deadlock.
	_, _ = m.loop.g.Suspended()
	_ = m.loop.g.Len()
	if m.pending.CompareAndSwap(false, true) {
		m.loop.mu.Lock()
		m.loop.queue = append(m.loop.queue, m)
		m.loop.mu.Unlock()
	}
}

// drain handles the queued notifications; it runs on the loop's goroutine.
func (lp *fakeLoop) drain() {
	lp.mu.Lock()
	q := lp.queue
	lp.queue = nil
	lp.mu.Unlock()
	for _, m := range q {
		m.pending.Store(false)
		m.appliedR, m.appliedW = m.GroupSuspended()
	}
}

// A group shared by members on many loops, refilled, drained, reconfigured and inspected
// from other goroutines at the same time: no race (-race), no deadlock, exact totals, and
// every member ends up applying the group's final suspension state.
func TestGroupConcurrentUse(t *testing.T) {
	const (
		loops   = 8
		members = 16
	)
	iters := 3000
	if testing.Short() {
		iters = 500
	}
	tick := time.Millisecond
	cfg := mustConfig(t, 2000, 8000, 2000, 8000, tick)
	small := mustConfig(t, 500, 1000, 500, 1000, tick)
	g, err := NewGroup(cfg, t0)
	if err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64 // simulated nanoseconds since t0, advanced by the refiller
	now := func() time.Time { return t0.Add(time.Duration(clock.Load())) }

	all := make([][]*loopMember, loops)
	lps := make([]*fakeLoop, loops)
	var charged [loops][2]int64
	var work, side sync.WaitGroup
	stop := make(chan struct{})
	for i := range loops {
		lp := &fakeLoop{g: g}
		lps[i] = lp
		for range members {
			m := &loopMember{loop: lp}
			all[i] = append(all[i], m)
			// Join before any goroutine starts, so the group always has members and
			// Close must fail throughout.
			if err := m.JoinGroup(g, m); err != nil {
				t.Fatal(err)
			}
			m.appliedR, m.appliedW = m.GroupSuspended()
		}
		work.Add(1)
		go func() {
			defer work.Done()
			ms := all[i]
			for it := range iters {
				lp.drain()
				m := ms[it%members]
				switch it % 97 {
				case 13: // leave and rejoin
					m.LeaveGroup()
					m.appliedR, m.appliedW = m.GroupSuspended()
					if err := m.JoinGroup(g, m); err != nil {
						t.Error(err)
						return
					}
					m.appliedR, m.appliedW = m.GroupSuspended()
				case 29: // per-connection limit on and off
					if m.Config() == nil {
						m.SetConfig(small, now())
					} else {
						m.SetConfig(nil, now())
					}
				}
				if !m.appliedR {
					if n := m.MaxToRead(now(), 700); n > 0 {
						m.ChargeRead(n)
						charged[i][0] += n
					}
				}
				if !m.appliedW {
					if n := m.MaxToWrite(now(), 900); n > 0 {
						m.ChargeWrite(n)
						charged[i][1] += n
					}
				}
			}
		}()
	}
	side.Add(3)
	go func() { // the group's driver
		defer side.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			clock.Add(int64(tick / 4))
			g.Refill(now())
		}
	}()
	go func() { // manual drains and refills
		defer side.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			g.DecrementRead(int64(i%7-3) * 300)
			g.DecrementWrite(int64(i%5-2) * 200)
		}
	}()
	go func() { // reconfiguration and inspection
		defer side.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			c := cfg
			if i%2 == 1 {
				c = small
			}
			if err := g.SetConfig(c, now()); err != nil {
				t.Error(err)
			}
			if err := g.SetMinShare(int64(i % 200)); err != nil {
				t.Error(err)
			}
			_, _ = g.Totals()
			_, _ = g.Suspended()
			_ = g.Len()
			_ = g.NextRefill()
			_, _ = g.ReadLimit(), g.WriteLimit()
			if err := g.Close(); err == nil {
				t.Error("Close succeeded with members")
			}
		}
	}()
	work.Wait()
	close(stop)
	side.Wait()

	var wantR, wantW int64
	for i := range loops {
		wantR += charged[i][0]
		wantW += charged[i][1]
	}
	if r, w := g.Totals(); r != uint64(wantR) || w != uint64(wantW) {
		t.Fatalf("totals %d/%d, members charged %d/%d", r, w, wantR, wantW)
	}
	// Everything is quiet now: after handling the last notifications, every member
	// applies its current state (the group's, plus its own wait for a turn).
	for _, lp := range lps {
		lp.drain()
	}
	gr, gw := g.Suspended()
	var notified int64
	for i := range loops {
		for j, m := range all[i] {
			notified += m.notified.Load()
			// A member's own view adds its wait for a turn (turns.go) to the group's.
			mr, mw := m.GroupSuspended()
			if mr != (gr || m.waiting[0]) || mw != (gw || m.waiting[1]) {
				t.Fatalf("loop %d member %d: GroupSuspended %v/%v, group %v/%v, waiting %v", i, j, mr, mw, gr, gw, m.waiting)
			}
			if m.appliedR != mr || m.appliedW != mw {
				t.Fatalf("loop %d member %d applied %v/%v, group is %v/%v (notified %d, pending %v, in group %v, levels %d/%d)", i, j, m.appliedR, m.appliedW, gr, gw, m.notified.Load(), m.pending.Load(), m.Group() != nil, g.ReadLimit(), g.WriteLimit())
			}
			m.LeaveGroup()
		}
	}
	if notified == 0 {
		t.Fatal("no member was ever notified: the test exercised nothing")
	}
	if g.Len() != 0 {
		t.Fatalf("Len = %d after everyone left", g.Len())
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("read %d, wrote %d, %d notifications", wantR, wantW, notified)
}
