//go:build linux || darwin || freebsd

package bench

import (
	"flag"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"

	"github.com/bufev/bufev/backends/socket"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
	"golang.org/x/sys/unix"
)

// bufevMaxIO is the bufev server's maximum single read and write. 256 KiB, as the gnet
// server's read buffer (gnetReadBuf): on 4 KiB streaming it costs 22% less CPU per
// message than 64 KiB (fewer, larger system calls; see doc.go), and ping-pong does not
// notice. libevent's default, 16 KiB, quadruples the system calls of a bulk transfer.
var bufevMaxIO = flag.Int("bufev-maxio", 256<<10, "the bufev server's SetMaxSingleRead and SetMaxSingleWrite")

// bufevEcho moves each connection's input to its output (a chain splice, no copy); the
// socket backend writes it at the end of the loop turn.
func bufevEchoRead(bev *bufferevent.BufferEvent) {
	bev.Output().AddBuffer(bev.Input())
}

func bufevEchoEvent(bev *bufferevent.BufferEvent, _ bufferevent.Events, _ error) {
	bev.Close()
}

// startBufev runs `loops` event loops, each on its own goroutine with its own
// SO_REUSEPORT listener on one port (the kernel spreads connections).
func startBufev(tb testing.TB, loops int) (string, func()) {
	return startLoops(tb, loops, backendImpl{
		listen: func(base *eventbase.Base, laddr string, accept func(fd int)) (listener, error) {
			return socket.Listen(base, "tcp4", laddr, func(_ *socket.Listener, fd int, _ net.Addr) {
				accept(fd)
			}, socket.ListenerOptions{Flags: socket.ListenReusePort})
		},
		newBev: func(base *eventbase.Base, fd int) (*bufferevent.BufferEvent, error) {
			return socket.New(base, fd, bufferevent.CloseOnFree)
		},
		// BENCH_SOCKET_LOCKED=1 locks each loop goroutine to its thread, as the async
		// server's are, for comparisons.
		lockThread: os.Getenv("BENCH_SOCKET_LOCKED") != "",
	})
}

// listener is what startLoops needs of a backend's listener.
type listener interface {
	Addr() net.Addr
	Close() error
}

// backendImpl is a bufferevent backend as startLoops runs it: a listener that
// hands each accepted descriptor to accept, and the backend's constructor.
type backendImpl struct {
	listen func(base *eventbase.Base, laddr string, accept func(fd int)) (listener, error)
	newBev func(base *eventbase.Base, fd int) (*bufferevent.BufferEvent, error)
	// lockThread locks each loop goroutine to its OS thread for its life.
	lockThread bool
}

// startLoops runs `loops` echo event loops of the backend impl, each on its own
// goroutine with its own SO_REUSEPORT listener on one port (the kernel spreads
// connections). It returns the address and a function that stops the loops and
// closes every connection.
func startLoops(tb testing.TB, loops int, impl backendImpl) (string, func()) {
	loops = max(loops, 1)
	var addr string
	var wg sync.WaitGroup
	bases := make([]*eventbase.Base, loops)
	ready := make(chan error, loops)
	for i := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if impl.lockThread {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
			}
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
			ln, err := impl.listen(base, laddr, func(fd int) {
				bev, err := impl.newBev(base, fd)
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
			})
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
