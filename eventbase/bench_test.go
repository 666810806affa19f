//go:build linux

package eventbase

import (
	"fmt"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// blockingPairs makes n blocking AF_UNIX socketpairs, as libevent's
// test/bench.c does.
func blockingPairs(b *testing.B, n int) [][2]int {
	b.Helper()
	raiseNoFile(2*n + 100)
	pairs := make([][2]int, n)
	for i := range pairs {
		p, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		if err != nil {
			b.Fatal(err)
		}
		pairs[i] = [2]int{p[0], p[1]}
	}
	b.Cleanup(func() {
		for _, p := range pairs {
			unix.Close(p[0])
			unix.Close(p[1])
		}
	})
	return pairs
}

// BenchmarkBench ports libevent's test/bench.c: n socketpairs each with a
// persistent read event; a pairs are written to; every read callback
// consumes its byte and, while writes remain, writes one byte to the next
// pair. One benchmark op is one bench.c run (the measured region only:
// the loop of LoopOnce|LoopNonBlock until every byte written was read).
// ns/event is the time per propagated event, comparable with libevent's
// bench output divided by the number of writes; cpu-µs/run is the thread
// CPU time of the measured region, which a loaded machine disturbs far less
// than wall time.
//
// Comparing with libevent: build libevent's own test/bench.c (tag
// release-2.1.12-stable, matching Debian's libevent-dev) outside the
// repository with `gcc -O2 bench.c -levent`, after replacing its two
// internal includes with <event2/event-config.h> and a definition of
// EV_SSIZE_FMT, and add clock_gettime(CLOCK_THREAD_CPUTIME_ID) around its
// measured loop; run it with the same -n/-a/-w and -m epoll or -m poll,
// interleaved with this benchmark. A Go process always has several
// threads, which makes the kernel's fd lookups take references that a
// single-threaded C process skips (visible with poll over many fds), so
// also run the C program with one extra idle thread (an LD_PRELOAD
// constructor that starts a sleeping pthread) for a like-for-like figure.
func BenchmarkBench(b *testing.B) {
	for _, m := range methods(b) {
		for _, p := range []struct{ pipes, active, writes int }{
			{100, 1, 100}, {1000, 1, 1000}, {1000, 100, 1000},
		} {
			for _, raw := range []bool{false, true} {
				io := "unix"
				if raw {
					io = "raw"
				}
				name := fmt.Sprintf("%s/n=%d/a=%d/w=%d/io=%s", m, p.pipes, p.active, p.writes, io)
				b.Run(name, func(b *testing.B) { benchRun(b, m, p.pipes, p.active, p.writes, raw) })
			}
		}
	}
}

// benchRun runs bench.c's scenario. With raw set the callbacks use raw
// read/write system calls (as a tuned reactor would for fds that cannot
// block), otherwise unix.Read/unix.Write, which tell the Go scheduler about
// every call.
func benchRun(b *testing.B, m string, numPipes, numActive, numWrites int, raw bool) {
	base := newBase(b, m)
	pipes := blockingPairs(b, numPipes)
	var count, fired, writes, failures int
	var buf [1]byte
	e := [1]byte{'e'}
	events := make([]*Event, numPipes)
	for i := range events {
		widx := i + 1
		if widx >= numPipes {
			widx -= numPipes
		}
		wfd := pipes[widx][1]
		rd, wr := unix.Read, unix.Write
		if raw {
			rd, wr = rawRead, rawWrite
		}
		ev, err := base.NewEvent(pipes[i][0], Read|Persist, func(fd int, _ What) {
			n, err := rd(fd, buf[:])
			if err == nil {
				count += n
			} else {
				failures++
			}
			if writes > 0 {
				if n, _ := wr(wfd, e[:]); n != 1 {
					failures++
				}
				writes--
				fired++
			}
		})
		if err != nil {
			b.Fatal(err)
		}
		events[i] = ev
	}
	space := numPipes / numActive
	var total, cpu time.Duration
	totalFired := 0
	// Thread CPU time is reported besides wall time: on a shared machine
	// it is far less sensitive to other processes than wall time.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		for _, ev := range events {
			ev.Del()
			if err := ev.Add(); err != nil {
				b.Fatal(err)
			}
		}
		base.Loop(LoopOnce | LoopNonBlock)
		fired = 0
		for i := 0; i < numActive; i, fired = i+1, fired+1 {
			unix.Write(pipes[i*space][1], e[:])
		}
		count = 0
		writes = numWrites
		b.StartTimer()
		start := time.Now()
		cstart := threadCPU()
		for count != fired {
			if err := base.Loop(LoopOnce | LoopNonBlock); err != nil {
				b.Fatal(err)
			}
		}
		cpu += threadCPU() - cstart
		total += time.Since(start)
		totalFired += fired
	}
	b.StopTimer()
	if failures > 0 {
		b.Fatalf("%d failures", failures)
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(totalFired), "ns/event")
	b.ReportMetric(float64(total.Microseconds())/float64(b.N), "µs/run")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/run")
}

func rawRead(fd int, p []byte) (int, error) {
	n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func rawWrite(fd int, p []byte) (int, error) {
	n, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// threadCPU returns the calling thread's CPU time.
func threadCPU() time.Duration {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}

// BenchmarkCascade ports libevent's test/bench_cascade.c: n socketpairs,
// one non-persistent read event with a 60 s timeout per pair whose callback
// reads a byte and writes one to the next pair; one initial write; Dispatch
// until the chain ends. One op is one run including event creation and
// adding (as in bench_cascade.c), excluding socketpair creation.
func BenchmarkCascade(b *testing.B) {
	for _, m := range methods(b) {
		for _, n := range []int{100, 1000} {
			b.Run(fmt.Sprintf("%s/n=%d", m, n), func(b *testing.B) {
				base := newBase(b, m)
				var buf [1]byte
				e := [1]byte{'e'}
				fired := 0
				b.ReportAllocs()
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				var total, cpu time.Duration
				for range b.N {
					b.StopTimer()
					pipes := make([][2]int, n)
					for i := range pipes {
						p, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
						if err != nil {
							b.Fatal(err)
						}
						pipes[i] = [2]int{p[0], p[1]}
					}
					b.StartTimer()
					start := time.Now()
					cstart := threadCPU()
					fired = 0
					events := make([]*Event, n)
					for i := range pipes {
						next := -1
						if i < n-1 {
							next = pipes[i+1][1]
						}
						ev, err := base.NewEvent(pipes[i][0], Read, func(fd int, _ What) {
							unix.Read(fd, buf[:])
							if next >= 0 {
								unix.Write(next, e[:])
							}
							fired++
						})
						if err != nil {
							b.Fatal(err)
						}
						if err := ev.AddTimeout(60 * time.Second); err != nil {
							b.Fatal(err)
						}
						events[i] = ev
					}
					unix.Write(pipes[0][1], e[:])
					if err := base.Dispatch(); err != nil {
						b.Fatal(err)
					}
					cpu += threadCPU() - cstart
					total += time.Since(start)
					b.StopTimer()
					if fired != n {
						b.Fatalf("fired %d of %d", fired, n)
					}
					for i, ev := range events {
						ev.Del()
						unix.Close(pipes[i][0])
						unix.Close(pipes[i][1])
					}
					b.StartTimer()
				}
				b.ReportMetric(float64(total.Microseconds())/float64(b.N), "µs/run")
				b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/run")
			})
		}
	}
}

// BenchmarkTimers adds n timers of one duration and deletes them again, in
// the heap and through a common timeout. ns/timer is per add+del pair.
func BenchmarkTimers(b *testing.B) {
	m := methods(b)[0]
	for _, n := range []int{10_000, 100_000} {
		for _, common := range []bool{false, true} {
			kind := "heap"
			if common {
				kind = "common"
			}
			b.Run(fmt.Sprintf("%s/n=%d", kind, n), func(b *testing.B) {
				base := newBase(b, m)
				d := 30 * time.Second
				if common {
					if _, err := base.CommonTimeout(d); err != nil {
						b.Fatal(err)
					}
				}
				evs := make([]*Event, n)
				for i := range evs {
					evs[i], _ = base.NewTimer(func() {})
				}
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					for _, ev := range evs {
						ev.AddTimeout(d)
					}
					// Delete in insertion order: the common list removes
					// heads, the heap removes arbitrary positions.
					for _, ev := range evs {
						ev.Del()
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/timer")
			})
		}
	}
}

// BenchmarkTimerFire measures expiring timers: n events with a zero
// timeout re-armed from their callbacks, one loop turn per op.
func BenchmarkTimerFire(b *testing.B) {
	m := methods(b)[0]
	base := newBase(b, m)
	const n = 1000
	evs := make([]*Event, n)
	for i := range evs {
		var ev *Event
		ev, _ = base.NewTimer(func() { ev.AddTimeout(0) })
		evs[i] = ev
		ev.AddTimeout(0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		base.Loop(LoopOnce | LoopNonBlock)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/timer")
}

// BenchmarkRunInLoop measures cross-goroutine queueing and wake-up.
func BenchmarkRunInLoop(b *testing.B) {
	base := newBase(b, methods(b)[0])
	done := make(chan error)
	go func() { done <- base.Loop(LoopNoExitOnEmpty) }()
	fn := func() {}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		base.RunInLoop(fn)
	}
	base.LoopExit(0)
	<-done
}

// BenchmarkActive measures Event.Active from the loop goroutine.
func BenchmarkActive(b *testing.B) {
	base := newBase(b, methods(b)[0])
	n := 0
	ev, _ := base.NewEvent(-1, 0, func(int, What) { n++ })
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		ev.Active(Read, 1)
		base.Loop(LoopNonBlock)
	}
}

// BenchmarkDefer measures Base.Defer plus the run.
func BenchmarkDefer(b *testing.B) {
	base := newBase(b, methods(b)[0])
	n := 0
	fn := func() { n++ }
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for range 32 {
			base.Defer(fn)
		}
		base.Loop(LoopNonBlock)
	}
}
