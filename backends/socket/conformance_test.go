//go:build linux

package socket

import (
	"testing"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/bevtest"
	"github.com/bufev/bufev/eventbase"
	"golang.org/x/sys/unix"
)

// socketPairBEVs builds two socket bufferevents over an AF_UNIX stream socketpair; both
// own their descriptor.
func socketPairBEVs(base *eventbase.Base, opts bufferevent.Options) (a, b *bufferevent.BufferEvent, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	a, err = New(base, fds[0], opts|bufferevent.CloseOnFree)
	if err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, nil, err
	}
	b, err = New(base, fds[1], opts|bufferevent.CloseOnFree)
	if err != nil {
		a.Close()
		unix.Close(fds[1])
		return nil, nil, err
	}
	return a, b, nil
}

// TestConformance runs the bufferevent conformance suite over socketpairs.
func TestConformance(t *testing.T) {
	bevtest.Run(t, func(base *eventbase.Base, opts bufferevent.Options) (a, b *bufferevent.BufferEvent, caps bevtest.Caps, err error) {
		a, b, err = socketPairBEVs(base, opts)
		// Flush(Write, Finished) shuts the write side down: the peer gets EOF.
		return a, b, bevtest.Caps{}, err
	})
}

// TestConformanceTCP runs the suite over loopback TCP connections.
func TestConformanceTCP(t *testing.T) {
	if testing.Short() {
		t.Skip("the socketpair run covers the same code; -short skips the TCP repeat")
	}
	bevtest.Run(t, func(base *eventbase.Base, opts bufferevent.Options) (a, b *bufferevent.BufferEvent, caps bevtest.Caps, err error) {
		fa, fb, err := tcpPair()
		if err != nil {
			return nil, nil, caps, err
		}
		if a, err = New(base, fa, opts|bufferevent.CloseOnFree); err != nil {
			unix.Close(fa)
			unix.Close(fb)
			return nil, nil, caps, err
		}
		if b, err = New(base, fb, opts|bufferevent.CloseOnFree); err != nil {
			a.Close()
			unix.Close(fb)
			return nil, nil, caps, err
		}
		return a, b, bevtest.Caps{}, nil
	})
}

// tcpPair returns the two ends of a loopback TCP connection, non-blocking.
func tcpPair() (int, int, error) {
	ln, err := newSocket(unix.AF_INET)
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
	unix.SetNonblock(ln, false)
	s, _, err := unix.Accept4(ln, unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK)
	if err != nil {
		unix.Close(c)
		return -1, -1, err
	}
	unix.SetNonblock(c, true)
	return c, s, nil
}
