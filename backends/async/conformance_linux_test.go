//go:build linux

package async

import (
	"testing"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/bevtest"
	"github.com/bufev/bufev/eventbase"
	"golang.org/x/sys/unix"
)

// asyncPair builds two async bufferevents over an AF_UNIX stream socketpair (or over
// loopback TCP with tcp set); both own their descriptor.
func asyncPair(base *eventbase.Base, opts bufferevent.Options, tcp bool) (a, b *bufferevent.BufferEvent, err error) {
	var fa, fb int
	if tcp {
		fa, fb, err = tcpPair()
	} else {
		var fds [2]int
		fds, err = unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		fa, fb = fds[0], fds[1]
	}
	if err != nil {
		return nil, nil, err
	}
	a, err = New(base, fa, opts|bufferevent.CloseOnFree)
	if err != nil {
		unix.Close(fa)
		unix.Close(fb)
		return nil, nil, err
	}
	b, err = New(base, fb, opts|bufferevent.CloseOnFree)
	if err != nil {
		a.Close()
		unix.Close(fb)
		return nil, nil, err
	}
	return a, b, nil
}

func breakBEV(bev *bufferevent.BufferEvent) error {
	fd, err := bev.FD()
	if err != nil {
		return err
	}
	return unix.Shutdown(fd, unix.SHUT_WR)
}

// TestConformance runs the bufferevent conformance suite over socketpairs.
func TestConformance(t *testing.T) {
	bevtest.Run(t, func(base *eventbase.Base, opts bufferevent.Options) (a, b *bufferevent.BufferEvent, caps bevtest.Caps, err error) {
		a, b, err = asyncPair(base, opts, false)
		// Flush is a no-op, as for libevent's async and socket types.
		return a, b, bevtest.Caps{Break: breakBEV}, err
	})
}

// TestConformanceTCP runs the suite over loopback TCP connections.
func TestConformanceTCP(t *testing.T) {
	if testing.Short() {
		t.Skip("the socketpair run covers the same code; -short skips the TCP repeat")
	}
	bevtest.Run(t, func(base *eventbase.Base, opts bufferevent.Options) (a, b *bufferevent.BufferEvent, caps bevtest.Caps, err error) {
		a, b, err = asyncPair(base, opts, true)
		return a, b, bevtest.Caps{Break: breakBEV}, err
	})
}

// tcpPair returns the two ends of a loopback TCP connection, non-blocking.
func tcpPair() (int, int, error) {
	ln, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, -1, err
	}
	defer unix.Close(ln)
	if err := unix.Bind(ln, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return -1, -1, err
	}
	if err := unix.Listen(ln, 1); err != nil {
		return -1, -1, err
	}
	sa, _ := unix.Getsockname(ln)
	c, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, -1, err
	}
	if err := unix.Connect(c, sa); err != nil {
		unix.Close(c)
		return -1, -1, err
	}
	s, _, err := unix.Accept4(ln, unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK)
	if err != nil {
		unix.Close(c)
		return -1, -1, err
	}
	unix.SetNonblock(c, true)
	return c, s, nil
}

// TestConformanceNoMultishot runs the suite with PinRead receives only: the path of
// kernels without multishot receives or provided-buffer rings (and ASYNC_NOMULTISHOT=1).
func TestConformanceNoMultishot(t *testing.T) {
	setMultishot(t, false)
	bevtest.Run(t, func(base *eventbase.Base, opts bufferevent.Options) (a, b *bufferevent.BufferEvent, caps bevtest.Caps, err error) {
		a, b, err = asyncPair(base, opts, false)
		return a, b, bevtest.Caps{Break: breakBEV}, err
	})
}
