//go:build linux

package uring

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// cpuTime is the CPU time (user and system) the process has used so far, the kernel's
// io_uring work included. Reported as cpu-ns/op next to wall time, it is much less
// disturbed than ns/op when other processes share the machine.
func cpuTime() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter reports cpu-ns/op for the timed part of a benchmark: call it right after
// ResetTimer and call the function it returns right after the loop.
func cpuMeter(b *testing.B) func() {
	start := cpuTime()
	return func() { b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op") }
}

// counter is a Reap callback that allocates nothing.
type counter struct {
	n, bytes int
	bad      int32
}

func (c *counter) onCQE(_ uint64, res int32, _ uint32) {
	c.n++
	if res < 0 {
		c.bad = res
	} else {
		c.bytes += int(res)
	}
}

func benchNop(b *testing.B, batch int) {
	r := newRing(b, 64)
	var c counter
	for j := 0; j < batch; j++ { // warm up: one slot per operation of a batch
		if err := r.PrepNop(uint64(j)); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := r.SubmitAndWait(uint32(batch), -1); err != nil {
		b.Fatal(err)
	}
	if _, err := r.Reap(nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	done := cpuMeter(b)
	for i := 0; i < b.N; i += batch {
		for j := 0; j < batch; j++ {
			if err := r.PrepNop(uint64(j)); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := r.SubmitAndWait(uint32(batch), -1); err != nil {
			b.Fatal(err)
		}
		if _, err := r.Reap(c.onCQE); err != nil {
			b.Fatal(err)
		}
	}
	done()
	b.StopTimer()
	if c.bad != 0 {
		b.Fatalf("nop failed: %d", c.bad)
	}
}

// BenchmarkNop measures prepare + submit + reap per no-op, one per io_uring_enter and 32
// per io_uring_enter.
func BenchmarkNop(b *testing.B) {
	b.Run("batch=1", func(b *testing.B) { benchNop(b, 1) })
	b.Run("batch=32", func(b *testing.B) { benchNop(b, 32) })
}

// benchPingPong bounces a 64-byte message across a connected pair: through the ring (send
// and recv submitted together, one io_uring_enter per direction), through the ring with a
// multishot receive per end selecting from a provided-buffer ring (only the send is
// submitted per direction), through a readiness loop (write, epoll_wait, read), and
// through plain write/read system calls (two per direction).
func benchPingPong(b *testing.B, pair func(testing.TB) (int, int)) {
	msg := make([]byte, 64)
	b.Run("uring", func(b *testing.B) {
		r := newRing(b, 8)
		x, y := pair(b)
		buf := make([]byte, 64)
		var c counter
		b.SetBytes(2 * int64(len(msg)))
		b.ReportAllocs()
		b.ResetTimer()
		done := cpuMeter(b)
		for i := 0; i < b.N; i++ {
			for _, dir := range [2][2]int{{x, y}, {y, x}} {
				if err := r.PrepSend(1, dir[0], msg, 0); err != nil {
					b.Fatal(err)
				}
				if err := r.PrepRecv(2, dir[1], buf, 0); err != nil {
					b.Fatal(err)
				}
				if _, err := r.SubmitAndWait(2, -1); err != nil {
					b.Fatal(err)
				}
				if _, err := r.Reap(c.onCQE); err != nil {
					b.Fatal(err)
				}
			}
		}
		done()
		b.StopTimer()
		if c.bad != 0 || c.bytes != 4*len(msg)*b.N {
			b.Fatalf("bytes %d want %d, error %d", c.bytes, 4*len(msg)*b.N, c.bad)
		}
	})
	b.Run("uring-armed", func(b *testing.B) {
		// Like a server: each end keeps a plain receive armed before its data arrives, and
		// re-arms it with the next send.
		r := newRing(b, 8)
		x, y := pair(b)
		bx, by := make([]byte, 64), make([]byte, 64)
		var c counter
		if err := r.PrepRecv(11, y, by, 0); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(2 * int64(len(msg)))
		b.ReportAllocs()
		b.ResetTimer()
		done := cpuMeter(b)
		for i := 0; i < b.N; i++ {
			for _, d := range [2]struct {
				from    int
				buf     []byte
				rearmUD uint64
			}{{x, bx, 10}, {y, by, 11}} {
				if err := r.PrepSend(1, d.from, msg, 0); err != nil {
					b.Fatal(err)
				}
				if err := r.PrepRecv(d.rearmUD, d.from, d.buf, 0); err != nil {
					b.Fatal(err)
				}
				if _, err := r.SubmitAndWait(2, -1); err != nil {
					b.Fatal(err)
				}
				if _, err := r.Reap(c.onCQE); err != nil {
					b.Fatal(err)
				}
			}
		}
		done()
		b.StopTimer()
		if c.bad != 0 || c.bytes != 4*len(msg)*b.N {
			b.Fatalf("bytes %d want %d, error %d", c.bytes, 4*len(msg)*b.N, c.bad)
		}
	})
	b.Run("uring-multishot-bufring", func(b *testing.B) {
		r := newRing(b, 8)
		br := newBufRing(b, r, 1, 16, 256)
		x, y := pair(b)
		var c counter
		var failed error
		// One multishot receive per end stays armed for the whole run; each completion's
		// buffer is recycled at once.
		onCQE := func(ud uint64, res int32, flags uint32) {
			c.onCQE(ud, res, flags)
			if id, ok := BufferID(flags); ok {
				if err := br.Recycle(id); err != nil {
					failed = err
				}
			}
			if (ud == 10 || ud == 11) && flags&CQEFMore == 0 {
				failed = errno(res)
			}
		}
		if err := r.PrepRecvMultishot(10, x, 1, 0); err != nil {
			b.Fatal(err)
		}
		if err := r.PrepRecvMultishot(11, y, 1, 0); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(2 * int64(len(msg)))
		b.ReportAllocs()
		b.ResetTimer()
		done := cpuMeter(b)
		for i := 0; i < b.N; i++ {
			for _, fd := range [2]int{x, y} {
				if err := r.PrepSend(1, fd, msg, 0); err != nil {
					b.Fatal(err)
				}
				if _, err := r.SubmitAndWait(2, -1); err != nil {
					b.Fatal(err)
				}
				if _, err := r.Reap(onCQE); err != nil {
					b.Fatal(err)
				}
			}
		}
		done()
		b.StopTimer()
		if failed != nil || c.bytes != 4*len(msg)*b.N {
			b.Fatalf("bytes %d want %d, error %v", c.bytes, 4*len(msg)*b.N, failed)
		}
	})
	b.Run("epoll", func(b *testing.B) {
		// What a readiness-based loop does: write, learn from epoll_wait that the peer is
		// readable, read.
		x, y := pair(b)
		ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			b.Fatal(err)
		}
		defer unix.Close(ep)
		for _, fd := range []int{x, y} {
			if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}); err != nil {
				b.Fatal(err)
			}
		}
		events := make([]unix.EpollEvent, 2)
		buf := make([]byte, 64)
		b.SetBytes(2 * int64(len(msg)))
		b.ReportAllocs()
		b.ResetTimer()
		done := cpuMeter(b)
		for i := 0; i < b.N; i++ {
			for _, dir := range [2][2]int{{x, y}, {y, x}} {
				if _, err := unix.Write(dir[0], msg); err != nil {
					b.Fatal(err)
				}
				if n, err := unix.EpollWait(ep, events, -1); err != nil || n != 1 || int(events[0].Fd) != dir[1] {
					b.Fatal(n, err)
				}
				if n, err := unix.Read(dir[1], buf); err != nil || n != len(msg) {
					b.Fatal(n, err)
				}
			}
		}
		done()
	})
	b.Run("syscalls", func(b *testing.B) {
		x, y := pair(b)
		buf := make([]byte, 64)
		b.SetBytes(2 * int64(len(msg)))
		b.ReportAllocs()
		b.ResetTimer()
		done := cpuMeter(b)
		for i := 0; i < b.N; i++ {
			for _, dir := range [2][2]int{{x, y}, {y, x}} {
				if _, err := unix.Write(dir[0], msg); err != nil {
					b.Fatal(err)
				}
				if n, err := unix.Read(dir[1], buf); err != nil || n != len(msg) {
					b.Fatal(n, err)
				}
			}
		}
		done()
	})
}

// BenchmarkPingPong runs the exchange over a socketpair and over TCP loopback.
func BenchmarkPingPong(b *testing.B) {
	b.Run("unix", func(b *testing.B) { benchPingPong(b, socketpair) })
	b.Run("tcp", func(b *testing.B) { benchPingPong(b, tcpLoopbackPair) })
}

// tcpLoopbackPair returns the two ends of a TCP connection over 127.0.0.1, with Nagle off.
func tcpLoopbackPair(t testing.TB) (int, int) {
	t.Helper()
	lfd, addr := listenLoopback(t, unix.AF_INET)
	c, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(c) })
	if err := unix.Connect(c, addr); err != nil {
		t.Fatal(err)
	}
	s, _, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(s) })
	for _, fd := range []int{c, s} {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
			t.Fatal(err)
		}
	}
	return c, s
}

// BenchmarkWritev writes 16 separate 256-byte buffers per operation (more than one
// runtime.Pinner holds inline) and drains them with read(2); it checks that pinning many
// buffers stays allocation-free.
func BenchmarkWritev(b *testing.B) {
	r := newRing(b, 8)
	x, y := socketpair(b)
	bufs := make([][]byte, 16)
	for i := range bufs {
		bufs[i] = make([]byte, 256)
	}
	sink := make([]byte, 16*256)
	var c counter
	b.SetBytes(16 * 256)
	b.ReportAllocs()
	b.ResetTimer()
	done := cpuMeter(b)
	for i := 0; i < b.N; i++ {
		if err := r.PrepWritev(1, x, bufs); err != nil {
			b.Fatal(err)
		}
		if _, err := r.SubmitAndWait(1, -1); err != nil {
			b.Fatal(err)
		}
		if _, err := r.Reap(c.onCQE); err != nil {
			b.Fatal(err)
		}
		for got := 0; got < len(sink); {
			n, err := unix.Read(y, sink[got:])
			if err != nil {
				b.Fatal(err)
			}
			got += n
		}
	}
	done()
	b.StopTimer()
	if c.bad != 0 {
		b.Fatalf("writev failed: %d", c.bad)
	}
}

// BenchmarkBatched moves one 64-byte message over each of 32 socketpairs per loop turn:
// through the ring (32 sends and 32 receives in one io_uring_enter) and through plain
// write/read system calls (64 per turn). ns/op is per message.
func BenchmarkBatched(b *testing.B) {
	const conns = 32
	msg := make([]byte, 64)
	pairs := make([][2]int, conns)
	bufs := make([][]byte, conns)
	for i := range pairs {
		pairs[i][0], pairs[i][1] = socketpair(b)
		bufs[i] = make([]byte, 64)
	}
	b.Run("uring", func(b *testing.B) {
		r := newRing(b, 2*conns)
		var c counter
		b.SetBytes(int64(len(msg)))
		b.ReportAllocs()
		done := func() {}
		for i := -conns; i < b.N; i += conns { // the first turn warms the ring up
			if i == 0 {
				b.ResetTimer()
				done = cpuMeter(b)
			}
			for k, p := range pairs {
				if err := r.PrepSend(uint64(k), p[0], msg, 0); err != nil {
					b.Fatal(err)
				}
			}
			for k, p := range pairs {
				if err := r.PrepRecv(uint64(conns+k), p[1], bufs[k], 0); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := r.SubmitAndWait(2*conns, -1); err != nil {
				b.Fatal(err)
			}
			if _, err := r.Reap(c.onCQE); err != nil {
				b.Fatal(err)
			}
		}
		done()
		b.StopTimer()
		if c.bad != 0 {
			b.Fatalf("error %d", c.bad)
		}
	})
	b.Run("syscalls", func(b *testing.B) {
		b.SetBytes(int64(len(msg)))
		b.ReportAllocs()
		b.ResetTimer()
		done := cpuMeter(b)
		for i := 0; i < b.N; i += conns {
			for _, p := range pairs {
				if _, err := unix.Write(p[0], msg); err != nil {
					b.Fatal(err)
				}
			}
			for k, p := range pairs {
				if _, err := unix.Read(p[1], bufs[k]); err != nil {
					b.Fatal(err)
				}
			}
		}
		done()
	})
}
