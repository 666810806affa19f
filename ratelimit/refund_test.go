package ratelimit

import (
	"testing"
	"time"
)

// TestRefund charges a reservation and refunds its unused part, per connection and in a
// group, in both directions.
func TestRefund(t *testing.T) {
	for _, d := range []Direction{Read, Write} {
		t.Run(d.String(), func(t *testing.T) {
			charge, refund, level := (*Limiter).ChargeRead, (*Limiter).RefundRead, (*Limiter).ReadLimit
			blocked := (*Limiter).ReadBlocked
			if d == Write {
				charge, refund, level = (*Limiter).ChargeWrite, (*Limiter).RefundWrite, (*Limiter).WriteLimit
				blocked = (*Limiter).WriteBlocked
			}
			cfg, err := NewConfig(1000, 1500, 1000, 1500, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			tests := []struct {
				name             string
				charge, refund   int64
				refillBefore     bool // a tick passes between the charge and the refund
				want             int64
				wantBlockedAfter bool
			}{
				{"unused part comes back", 1000, 600, false, 600, false},
				{"all of it", 1000, 1000, false, 1000, false},
				{"nothing", 1000, 0, false, 0, true},
				{"negative is ignored", 1000, -5, false, 0, true},
				{"capped at the burst after a refill", 1000, 1000, true, 1500, false},
				{"overdrawn stays blocked", 1800, 300, false, -500, true},
			}
			for _, tc := range tests {
				var l Limiter
				l.SetConfig(cfg, t0)
				now := t0
				charge(&l, tc.charge)
				if tc.refillBefore {
					now = t0.Add(time.Second)
					l.Refill(now)
				}
				refund(&l, tc.refund)
				if got := level(&l, now); got != tc.want {
					t.Errorf("%s: level %d, want %d", tc.name, got, tc.want)
				}
				if blocked(&l) != tc.wantBlockedAfter {
					t.Errorf("%s: blocked %v, want %v", tc.name, blocked(&l), tc.wantBlockedAfter)
				}
			}
		})
	}
}

// TestGroupRefund checks that a refund raises the group's level, takes the bytes back out
// of its totals, and resumes a suspended group (notifying its members) once the level
// holds the min share again.
func TestGroupRefund(t *testing.T) {
	cfg, err := NewConfig(1000, 1000, 1000, 1000, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	g, ms, _ := newGroupWith(t, cfg, 2)
	ms[0].ChargeRead(1000) // reserve: the group suspends reading
	expectNotified(t, ms, Read, 0, 1)
	if r, _ := g.Suspended(); !r {
		t.Fatal("an empty group bucket did not suspend reading")
	}
	ms[0].RefundRead(10) // below the min share: still suspended
	if r, _ := g.Suspended(); !r || g.ReadLimit() != 10 {
		t.Fatalf("after a 10-byte refund: suspended %v, level %d", r, g.ReadLimit())
	}
	expectNotified(t, ms, Read)
	ms[0].RefundRead(690)
	if r, _ := g.Suspended(); r || g.ReadLimit() != 700 {
		t.Fatalf("after the refund: suspended %v, level %d", r, g.ReadLimit())
	}
	expectNotified(t, ms, Read, 0, 1)
	if rd, _ := g.Totals(); rd != 300 {
		t.Fatalf("read total %d, want the 300 bytes transferred", rd)
	}
	ms[1].ChargeWrite(200)
	ms[1].RefundWrite(5000) // more than charged: the level stops at the burst
	if g.WriteLimit() != 1000 {
		t.Fatalf("write level %d, want the burst 1000", g.WriteLimit())
	}
	if _, wr := g.Totals(); wr != 0 {
		t.Fatalf("write total %d, want 0 (never below zero)", wr)
	}
}

// TestReserveSettle reserves for operations in flight and settles them: the unused part
// comes back to both buckets; leaving the group gives the group the whole reservation at
// once and the later settle refunds only the per-connection bucket.
func TestReserveSettle(t *testing.T) {
	cfg, err := NewConfig(1000, 1000, 1000, 1000, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	g, ms, _ := newGroupWith(t, cfg, 2)
	l := &ms[0].Limiter
	l.SetConfig(cfg, t0)
	l.ReserveRead(800)
	l.ReserveWrite(0) // nothing
	l.SettleRead(800, 300)
	if got := l.ReadLimit(t0); got != 700 {
		t.Fatalf("own read level %d, want 700", got)
	}
	if g.ReadLimit() != 700 {
		t.Fatalf("group read level %d, want 700", g.ReadLimit())
	}
	if rd, _ := g.Totals(); rd != 300 {
		t.Fatalf("group read total %d, want 300", rd)
	}

	l.ReserveWrite(600)
	l.LeaveGroup() // a closed bufferevent leaves at once, its send still in flight
	if g.WriteLimit() != 1000 {
		t.Fatalf("group write level %d after the leave; want the reservation back (1000)", g.WriteLimit())
	}
	if _, wr := g.Totals(); wr != 0 {
		t.Fatalf("group write total %d, want 0", wr)
	}
	l.SettleWrite(600, 100) // the own bucket still gets its refund, the group nothing more
	if got := l.WriteLimit(t0); got != 900 {
		t.Fatalf("own write level %d, want 900", got)
	}
	if g.WriteLimit() != 1000 {
		t.Fatalf("group write level %d, want 1000", g.WriteLimit())
	}
}
