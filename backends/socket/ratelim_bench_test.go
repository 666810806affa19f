//go:build linux

package socket

import (
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
)

// BenchmarkRateLimitOverhead measures what rate limiting costs when it never binds: a
// ping-pong echo of 4 KiB messages over loopback TCP without limits, with a per-connection
// limit far above the traffic on both ends, and with both ends in a group with such a
// limit (and both). none+timer has no limit but a pending one-second timer, like a group's
// refill timer, to separate the cost of polling with a timeout from the limiter's own.
// Compare the sub-benchmarks with benchstat:
//
//	go test -run '^$' -bench RateLimitOverhead -count 10 . | tee rl.txt; benchstat -col /limit rl.txt
//
// Besides wall time it reports cpu-ns/op, the process's CPU time per message, which stays
// meaningful on a machine shared with other work (wall time there varies by tens of
// percent from run to run). BenchmarkRateLimitBookkeeping isolates the limiter's own cost
// per transfer.
func BenchmarkRateLimitOverhead(b *testing.B) {
	for _, mode := range []string{"none", "none+timer", "conn", "group", "conn+group"} {
		b.Run("limit="+mode, func(b *testing.B) { benchRateLimitEcho(b, mode) })
	}
}

func benchRateLimitEcho(b *testing.B, mode string) {
	base := newBase(b)
	cli, srv := tcpBevPair(b, base)
	huge := rlCfg(b, 1<<40, 1<<40, 1<<40, 1<<40, time.Second)
	if mode == "conn" || mode == "conn+group" {
		for _, bev := range []*bufferevent.BufferEvent{cli, srv} {
			if err := bev.SetRateLimit(huge); err != nil {
				b.Fatal(err)
			}
		}
	}
	if mode == "none+timer" {
		// A pending timer, as a group's refill timer is: isolates the cost of polling
		// with a timeout from the limiter's own.
		tm, err := base.NewEvent(-1, eventbase.Persist, func(int, eventbase.What) {})
		if err != nil {
			b.Fatal(err)
		}
		defer tm.Free()
		if err := tm.AddTimeout(time.Second); err != nil {
			b.Fatal(err)
		}
	}
	var rg *bufferevent.RateLimitGroup
	if mode == "group" || mode == "conn+group" {
		var err error
		if rg, err = bufferevent.NewRateLimitGroup(base, huge); err != nil {
			b.Fatal(err)
		}
		for _, bev := range []*bufferevent.BufferEvent{cli, srv} {
			if err := bev.JoinGroup(rg); err != nil {
				b.Fatal(err)
			}
		}
	}
	const size = 4 << 10
	msg := make([]byte, size)
	buf := make([]byte, size)
	left := b.N
	_ = srv.SetCallbacks(func(bev *bufferevent.BufferEvent) { _ = bev.Output().AddBuffer(bev.Input()) }, nil, nil)
	_ = cli.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		for bev.Input().Len() >= size {
			_, _ = bev.Read(buf)
			if left--; left == 0 {
				base.LoopBreak()
				return
			}
			_, _ = bev.Write(msg)
		}
	}, nil, nil)
	_ = srv.Enable(bufferevent.ReadWrite)
	_ = cli.Enable(bufferevent.ReadWrite)
	b.ReportAllocs()
	b.SetBytes(size)
	b.ResetTimer()
	cpu0 := rlProcessCPU()
	_, _ = cli.Write(msg)
	if err := base.Loop(eventbase.LoopNoExitOnEmpty); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(rlProcessCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	if rg != nil {
		_ = cli.Close()
		_ = srv.Close()
		if err := rg.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// tcpBevPair returns two socket bufferevents connected over loopback TCP, closed at the
// end of the test.
func tcpBevPair(tb testing.TB, base *eventbase.Base) (cli, srv *bufferevent.BufferEvent) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	if cli, err = NewFromConn(base, c.(*net.TCPConn), 0); err != nil {
		tb.Fatal(err)
	}
	if srv, err = NewFromConn(base, s.(*net.TCPConn), 0); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		closeQuiet(cli)
		closeQuiet(srv)
	})
	return cli, srv
}

// rlProcessCPU returns the CPU time (user + system) the process has used, in nanoseconds.
func rlProcessCPU() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkRateLimitBookkeeping is the limiter's work for one transfer as a backend does
// it — MaxToWrite before the write, ChargeWrite after — with no I/O, in a loop callback, on a bufferevent
// without limits, with a per-connection limit that never binds, and in such a group.
func BenchmarkRateLimitBookkeeping(b *testing.B) {
	for _, mode := range []string{"none", "conn", "group", "conn+group"} {
		b.Run("limit="+mode, func(b *testing.B) {
			base := newBase(b)
			bev, _ := tcpBevPair(b, base)
			huge := rlCfg(b, 1<<40, 1<<40, 1<<40, 1<<40, time.Second)
			if mode == "conn" || mode == "conn+group" {
				if err := bev.SetRateLimit(huge); err != nil {
					b.Fatal(err)
				}
			}
			if mode == "group" || mode == "conn+group" {
				rg, err := bufferevent.NewRateLimitGroup(base, huge)
				if err != nil {
					b.Fatal(err)
				}
				if err := bev.JoinGroup(rg); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() {
					closeQuiet(bev)
					_ = rg.Close()
				})
			}
			// Measured inside a loop callback, where backends run and the base's time is
			// cached for the turn.
			c := bufferevent.BackendCore(bev)
			ev, err := base.NewTimer(func() {
				for b.Loop() {
					c.ChargeWrite(c.MaxToWrite() & 4095)
				}
			})
			if err != nil {
				b.Fatal(err)
			}
			defer ev.Free()
			b.ReportAllocs()
			if err := ev.AddTimeout(0); err != nil {
				b.Fatal(err)
			}
			if err := base.Loop(eventbase.LoopOnce); err != nil {
				b.Fatal(err)
			}
		})
	}
}
