//go:build linux

package socket

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"golang.org/x/sys/unix"
)

func noDelay(t *testing.T, fd int) int {
	t.Helper()
	v, err := unix.GetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY)
	if err != nil {
		t.Fatalf("getsockopt TCP_NODELAY: %v", err)
	}
	return v
}

// Accepted TCP sockets get TCP_NODELAY, as net.Listen's do, unless ListenNagle.
func TestListenerNoDelay(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags ListenFlags
		want  int
	}{
		{"default", 0, 1},
		{"nagle", ListenNagle, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := newBase(t)
			got := -1
			ln, err := Listen(base, "tcp4", "127.0.0.1:0", func(l *Listener, fd int, _ net.Addr) {
				got = noDelay(t, fd)
				closeFD(fd)
				l.Close()
			}, ListenerOptions{Flags: tc.flags})
			if err != nil {
				t.Fatal(err)
			}
			dialBlocking(t, ln.Addr())
			dispatch(t, base, 5*time.Second)
			if got != tc.want {
				t.Errorf("TCP_NODELAY on the accepted socket = %d, want %d", got, tc.want)
			}
		})
	}
}

// Unix-socket listeners accept as before (TCP_NODELAY is not attempted there).
func TestListenerUnixNoNoDelay(t *testing.T) {
	base := newBase(t)
	path := tempSocketPath(t)
	accepted := false
	ln, err := Listen(base, "unix", path, func(l *Listener, fd int, _ net.Addr) {
		accepted = true
		if _, err := unix.GetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY); err == nil {
			t.Error("TCP_NODELAY readable on a Unix socket")
		}
		closeFD(fd)
		l.Close()
	}, ListenerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dialBlocking(t, ln.Addr())
	dispatch(t, base, 5*time.Second)
	if !accepted {
		t.Fatal("no connection accepted")
	}
}

// Sockets created by Connect and ConnectHostname get TCP_NODELAY; SetNoDelay turns it off
// and on again.
func TestConnectNoDelay(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	for _, tc := range []struct {
		name    string
		connect func(*bufferevent.BufferEvent) error
	}{
		{"Connect", func(bev *bufferevent.BufferEvent) error { return Connect(bev, ln.Addr()) }},
		{"ConnectHostname", func(bev *bufferevent.BufferEvent) error {
			return ConnectHostname(context.Background(), bev, "tcp4", "127.0.0.1", port)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := newBase(t)
			bev, err := New(base, -1, bufferevent.CloseOnFree)
			if err != nil {
				t.Fatal(err)
			}
			defer bev.Close()
			if err := SetNoDelay(bev, true); !errors.Is(err, ErrNoSocket) {
				t.Fatalf("SetNoDelay without a socket = %v, want ErrNoSocket", err)
			}
			connected := false
			bev.SetCallbacks(nil, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
				if what != bufferevent.Connected {
					t.Errorf("event %v %v", what, err)
					bev.Close()
					return
				}
				connected = true
				fd, err := bev.FD()
				if err != nil {
					t.Fatal(err)
				}
				if v := noDelay(t, fd); v != 1 {
					t.Errorf("TCP_NODELAY after connect = %d, want 1", v)
				}
				for _, on := range []bool{false, true} {
					if err := SetNoDelay(bev, on); err != nil {
						t.Fatalf("SetNoDelay(%v): %v", on, err)
					}
					if v, want := noDelay(t, fd), boolInt(on); v != want {
						t.Errorf("TCP_NODELAY after SetNoDelay(%v) = %d, want %d", on, v, want)
					}
				}
				bev.Close()
			})
			if err := tc.connect(bev); err != nil {
				t.Fatal(err)
			}
			dispatch(t, base, 5*time.Second)
			if !connected {
				t.Fatal("not connected")
			}
			if err := SetNoDelay(bev, true); !errors.Is(err, bufferevent.ErrClosed) {
				t.Errorf("SetNoDelay after Close = %v, want bufferevent.ErrClosed", err)
			}
		})
	}
}

// A descriptor handed to New is left as the caller made it; SetNoDelay fails on a socket
// that is not TCP.
func TestNewKeepsNoDelay(t *testing.T) {
	base := newBase(t)
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	bev, err := New(base, fd, bufferevent.CloseOnFree)
	if err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	defer bev.Close()
	if v := noDelay(t, fd); v != 0 {
		t.Errorf("TCP_NODELAY on an adopted socket = %d, want 0 (untouched)", v)
	}

	pair := socketPair(t)
	ubev, err := New(base, pair[0], 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ubev.Close()
	if err := SetNoDelay(ubev, true); err == nil {
		t.Error("SetNoDelay on a Unix socket succeeded")
	}
}
