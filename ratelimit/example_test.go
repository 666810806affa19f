package ratelimit_test

import (
	"fmt"
	"slices"
	"time"

	"github.com/bufev/bufev/ratelimit"
)

// A per-connection limit of 10 kB/s each way in 100 ms ticks, driven the way the
// bufferevent core drives it: ask before a read, charge after it, arm the refill timer when
// the bucket is exhausted.
func ExampleLimiter() {
	cfg, err := ratelimit.NewConfig(1000, 4000, 1000, 4000, 100*time.Millisecond)
	if err != nil {
		panic(err)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) // the loop's cached time

	var l ratelimit.Limiter
	l.SetConfig(cfg, start)
	fmt.Println("may read:", l.MaxToRead(start, 16384)) // starts at the rate, not the burst

	l.ChargeRead(1500) // the transport delivered more than asked (a whole TLS record)
	fmt.Println("level:", l.ReadLimit(start), "blocked:", l.ReadBlocked())
	at, ok := l.RefillAt()
	fmt.Println("refill timer:", ok, at.Sub(start))

	l.Refill(at) // the timer fired
	fmt.Println("may read:", l.MaxToRead(at, 16384), "blocked:", l.ReadBlocked())

	later := start.Add(time.Second) // idle for a while: capped at the burst
	fmt.Println("may read:", l.MaxToRead(later, 16384), "of at most", l.MaxToRead(later, 2048))
	// Output:
	// may read: 1000
	// level: -500 blocked: true
	// refill timer: true 100ms
	// may read: 500 blocked: false
	// may read: 4000 of at most 2048
}

// memberLog is a Member that records notifications; a real one queues a re-check of
// Limiter.GroupSuspended on its bufferevent's loop.
type memberLog struct {
	name string
	got  *[]string
}

func (m memberLog) GroupChanged(d ratelimit.Direction) {
	*m.got = append(*m.got, m.name+": "+d.String())
}

// A group limit of 3000 bytes per 100 ms tick shared by three connections: shares, the
// suspension of everyone when the bucket runs dry, and resumption on the next tick.
func ExampleGroup() {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg, err := ratelimit.NewConfig(3000, 12000, 3000, 12000, 100*time.Millisecond)
	if err != nil {
		panic(err)
	}
	g, err := ratelimit.NewGroup(cfg, start)
	if err != nil {
		panic(err)
	}
	var got []string
	conns := make([]*ratelimit.Limiter, 3)
	for i := range conns {
		conns[i] = new(ratelimit.Limiter)
		if err := conns[i].JoinGroup(g, memberLog{fmt.Sprint("conn", i), &got}); err != nil {
			panic(err)
		}
	}
	fmt.Println("share:", conns[0].MaxToRead(start, 16384))

	conns[0].ChargeRead(1000)
	conns[1].ChargeRead(1000)
	conns[2].ChargeRead(1200) // the group's read bucket is now -200
	slices.Sort(got)
	fmt.Println("notified:", got)
	r, w := conns[0].GroupSuspended()
	fmt.Println("suspended:", r, w, "share:", conns[0].MaxToRead(start, 16384))

	got = got[:0]
	next := g.Refill(start.Add(100 * time.Millisecond)) // the group's timer fired
	slices.Sort(got)                                    // resumption starts at a random member
	fmt.Println("notified:", got, "next refill in", next.Sub(start))
	r, w = conns[0].GroupSuspended()
	fmt.Println("suspended:", r, w, "level:", g.ReadLimit())

	read, written := g.Totals()
	fmt.Println("totals:", read, written)

	fmt.Println("close:", g.Close())
	for _, c := range conns {
		c.LeaveGroup() // the core does this when a bufferevent closes
	}
	fmt.Println("close:", g.Close())
	// Output:
	// share: 1000
	// notified: [conn0: read conn1: read conn2: read]
	// suspended: true false share: 0
	// notified: [conn0: read conn1: read conn2: read] next refill in 200ms
	// suspended: false false level: 2800
	// totals: 3200 0
	// close: ratelimit: group still has members
	// close: <nil>
}
