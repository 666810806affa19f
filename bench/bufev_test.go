//go:build linux || darwin || freebsd

package bench

import (
	"flag"
	"net"
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
	loops = max(loops, 1)
	var addr string
	var wg sync.WaitGroup
	bases := make([]*eventbase.Base, loops)
	ready := make(chan error, loops)
	for i := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
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
			ln, err := socket.Listen(base, "tcp4", laddr, func(_ *socket.Listener, fd int, _ net.Addr) {
				bev, err := socket.New(base, fd, bufferevent.CloseOnFree)
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
			}, socket.ListenerOptions{Flags: socket.ListenReusePort})
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
