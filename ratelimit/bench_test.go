package ratelimit

import (
	"testing"
	"time"
)

// The per-operation accounting a backend does around every read: MaxToRead, then
// ChargeRead, with time moving one tick every 16 operations. All of it must allocate
// nothing.

func BenchmarkLimiterReadCycle(b *testing.B) {
	cfg := mustConfig(b, 1<<20, 1<<22, 1<<20, 1<<22, time.Millisecond)
	var l Limiter
	l.SetConfig(cfg, t0)
	now := t0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i&15 == 0 {
			now = now.Add(time.Millisecond)
		}
		n := l.MaxToRead(now, 16384)
		l.ChargeRead(n)
		_ = l.ReadBlocked()
	}
}

func BenchmarkLimiterReadLimit(b *testing.B) {
	cfg := mustConfig(b, 1000, 4000, 1000, 4000, 100*time.Millisecond)
	var l Limiter
	l.SetConfig(cfg, t0)
	now := t0.Add(time.Second)
	b.ReportAllocs()
	for b.Loop() {
		_ = l.ReadLimit(now)
	}
}

func BenchmarkLimiterRefill(b *testing.B) {
	cfg := mustConfig(b, 1000, 4000, 1000, 4000, time.Millisecond)
	var l Limiter
	l.SetConfig(cfg, t0)
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Millisecond)
		l.ChargeRead(1500)
		l.Refill(now)
		_, _ = l.RefillAt()
	}
}

type nopMember struct{}

func (nopMember) GroupChanged(Direction) {}

// A member of a 100-member group: MaxToRead and ChargeRead lock the group.
func BenchmarkGroupMemberReadCycle(b *testing.B) {
	cfg := mustConfig(b, 1<<40, 1<<41, 1<<40, 1<<41, time.Millisecond)
	g, err := NewGroup(cfg, t0)
	if err != nil {
		b.Fatal(err)
	}
	ls := make([]Limiter, 100)
	for i := range ls {
		if err := ls[i].JoinGroup(g, nopMember{}); err != nil {
			b.Fatal(err)
		}
	}
	l := &ls[0]
	b.ReportAllocs()
	for b.Loop() {
		n := l.MaxToRead(t0, 16384)
		l.ChargeRead(n)
	}
}

// The worst case of the group path: every charge empties the bucket and every refill
// resumes all 100 members (200 notifications per iteration, from a pooled snapshot).
func BenchmarkGroupSuspendResume100(b *testing.B) {
	cfg := mustConfig(b, 1000, 1000, 1000, 1000, time.Millisecond)
	g, err := NewGroup(cfg, t0)
	if err != nil {
		b.Fatal(err)
	}
	ls := make([]Limiter, 100)
	for i := range ls {
		if err := ls[i].JoinGroup(g, nopMember{}); err != nil {
			b.Fatal(err)
		}
	}
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		ls[0].ChargeRead(1000)
		now = now.Add(time.Millisecond)
		g.Refill(now)
	}
}

// Many goroutines charging one group at once (members on different loops).
func BenchmarkGroupParallel(b *testing.B) {
	cfg := mustConfig(b, 1<<40, 1<<41, 1<<40, 1<<41, time.Millisecond)
	g, err := NewGroup(cfg, t0)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var l Limiter
		if err := l.JoinGroup(g, nopMember{}); err != nil {
			b.Error(err)
			return
		}
		for pb.Next() {
			l.ChargeWrite(l.MaxToWrite(t0, 16384))
		}
		l.LeaveGroup()
	})
}
