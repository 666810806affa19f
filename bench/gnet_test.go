//go:build linux || darwin || freebsd

package bench

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// gnetReadBuf is the gnet server's read buffer, set to the bufev server's maximum single
// read (bufevMaxIO) so that the two event loops read the same amount per system call.
var gnetReadBuf = flag.Int("gnet-readbuf", 256<<10, "the gnet server's read buffer (WithReadBufferCap; gnet's default is 64 KiB)")

// gnetEcho is gnet's canonical echo handler: everything read is written back from
// OnTraffic.
type gnetEcho struct {
	gnet.BuiltinEventEngine
	booted chan gnet.Engine
}

func (h *gnetEcho) OnBoot(eng gnet.Engine) gnet.Action {
	h.booted <- eng
	return gnet.None
}

func (h *gnetEcho) OnTraffic(c gnet.Conn) gnet.Action {
	buf, _ := c.Next(-1)
	c.Write(buf)
	return gnet.None
}

// startGnet runs a gnet engine with `loops` event loops on an ephemeral loopback port.
func startGnet(tb testing.TB, loops int) (string, func()) {
	h := &gnetEcho{booted: make(chan gnet.Engine, 1)}
	done := make(chan error, 1)
	go func() {
		done <- gnet.Run(h, "tcp://127.0.0.1:0",
			gnet.WithNumEventLoop(loops),
			gnet.WithLogger(quietLogger{}),
			gnet.WithReadBufferCap(*gnetReadBuf),
		)
	}()
	var eng gnet.Engine
	select {
	case eng = <-h.booted:
	case err := <-done:
		tb.Fatal(err)
	}
	fd, err := eng.Dup()
	if err != nil {
		tb.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	unix.Close(fd)
	if err != nil {
		tb.Fatal(err)
	}
	in4 := sa.(*unix.SockaddrInet4)
	addr := fmt.Sprintf("%d.%d.%d.%d:%d", in4.Addr[0], in4.Addr[1], in4.Addr[2], in4.Addr[3], in4.Port)
	return addr, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		eng.Stop(ctx)
		<-done
	}
}

// quietLogger drops gnet's log lines, which would interleave with benchmark output.
type quietLogger struct{}

func (quietLogger) Debugf(string, ...any) {}
func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Warnf(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(string, ...any) {}
