package eventbase

import (
	"fmt"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BenchmarkBenchFloor runs bench.c's scenario (n=100, a=1, w=100) with a
// hand-written epoll loop and no event library: the floor BenchmarkBench
// is measured against, which separates this package's overhead from the Go
// system-call path.
func BenchmarkBenchFloor(b *testing.B) {
	for _, raw := range []bool{false, true} {
		io := "unix"
		if raw {
			io = "raw"
		}
		b.Run(fmt.Sprintf("n=100/a=1/w=100/io=%s", io), func(b *testing.B) { benchFloor(b, 100, raw) })
	}
}

func benchFloor(b *testing.B, n int, raw bool) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(ep)
	pipes := blockingPairs(b, n)
	for i, p := range pipes {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(i)}
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, p[0], &ev); err != nil {
			b.Fatal(err)
		}
	}
	rd, wr := unix.Read, unix.Write
	if raw {
		rd, wr = rawRead, rawWrite
	}
	evs := make([]unix.EpollEvent, 64)
	var buf [1]byte
	e := [1]byte{'e'}
	var cpu time.Duration
	b.ResetTimer()
	for range b.N {
		writes := n
		wr(pipes[0][1], e[:])
		count, fired := 0, 1
		c0 := threadCPU()
		for count != fired {
			k, _, _ := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(ep), uintptr(unsafe.Pointer(&evs[0])), uintptr(len(evs)), 0, 0, 0)
			for j := 0; j < int(k); j++ {
				i := int(evs[j].Fd)
				if m, _ := rd(pipes[i][0], buf[:]); m == 1 {
					count++
				}
				if writes > 0 {
					wr(pipes[(i+1)%n][1], e[:])
					writes--
					fired++
				}
			}
		}
		cpu += threadCPU() - c0
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/run")
}
