//go:build linux

package bench

import (
	"net"
	"os"
	"testing"

	"github.com/bufev/bufev/backends/async"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
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
	return startLoops(tb, loops, backendImpl{
		listen: func(base *eventbase.Base, laddr string, accept func(fd int)) (listener, error) {
			return async.Listen(base, "tcp4", laddr, func(_ *async.Listener, fd int, _ net.Addr) {
				accept(fd)
			}, async.ListenerOptions{Flags: async.ListenReusePort})
		},
		newBev: func(base *eventbase.Base, fd int) (*bufferevent.BufferEvent, error) {
			return async.New(base, fd, bufferevent.CloseOnFree)
		},
		// The backend locks the loop goroutine itself while its ring's receives carry
		// the traffic (see "Threads" in the async package's documentation), so the
		// loops run as the socket server's do. BENCH_ASYNC_LOCKED=1 locks them for
		// their life, as the bench did before (for comparisons).
		lockThread: os.Getenv("BENCH_ASYNC_LOCKED") != "",
	})
}
