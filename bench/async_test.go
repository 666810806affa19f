//go:build linux

package bench

import (
	"net"
	"runtime"
	"sync"
	"testing"

	"github.com/bufev/bufev/backends/async"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
	"golang.org/x/sys/unix"
)

// The async backend (io_uring) runs the same echo as the bufev socket server, beside it
// in BenchmarkEcho as server=bufev-async.
func init() {
	servers = append(servers, server{"bufev-async", startAsync})
}

// startAsync is startBufev on async bufferevents and an async listener: `loops` event
// loops, each with its own SO_REUSEPORT listener on one port. Each loop goroutine is
// locked to its OS thread for its life, as the async package recommends (the kernel
// finishes a receive as task work on the submitting thread). The benchmark is skipped,
// with the reason logged, where io_uring is unavailable.
func startAsync(tb testing.TB, loops int) (string, func()) {
	if err := async.Available(); err != nil {
		tb.Skipf("async backend unavailable: %v", err)
	}
	loops = max(loops, 1)
	var addr string
	var wg sync.WaitGroup
	bases := make([]*eventbase.Base, loops)
	ready := make(chan error, loops)
	for i := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			base, err := eventbase.New(eventbase.Config{})
			if err != nil {
				ready <- err
				return
			}
			defer base.Close()
			bases[i] = base
			laddr := "127.0.0.1:0"
			if i > 0 {
				laddr = addr
			}
			conns := map[*bufferevent.BufferEvent]struct{}{}
			ln, err := async.Listen(base, "tcp4", laddr, func(_ *async.Listener, fd int, _ net.Addr) {
				bev, err := async.New(base, fd, bufferevent.CloseOnFree)
				if err != nil {
					unix.Close(fd)
					return
				}
				bev.SetMaxSingleRead(*bufevMaxIO)
				bev.SetMaxSingleWrite(*bufevMaxIO)
				conns[bev] = struct{}{}
				bev.SetCallbacks(bufevEchoRead, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
					delete(conns, bev)
					bufevEchoEvent(bev, what, err)
				})
				bev.Enable(bufferevent.Read | bufferevent.Write)
			}, async.ListenerOptions{Flags: async.ListenReusePort})
			if err != nil {
				ready <- err
				return
			}
			if i == 0 {
				addr = ln.Addr().String()
			}
			ready <- nil
			base.Dispatch()
			ln.Close()
			for bev := range conns {
				bev.Close()
			}
		}()
		if err := <-ready; err != nil {
			tb.Fatal(err)
		}
	}
	return addr, func() {
		for _, b := range bases {
			b.LoopBreak()
		}
		wg.Wait()
	}
}
