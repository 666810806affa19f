//go:build linux

package async

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/bufev/bufev/eventbase"
	"golang.org/x/sys/unix"
)

// Mirrors libevent test/regress_listener.c "randport" (also run as
// iocp/listener/randport): two listeners on 127.0.0.1:0 get distinct ports; two
// connections to the first and one to the second are accepted; each accept callback
// closes the descriptor and disables its listener when its count reaches zero; the loop
// then ends with both counts at 0.
func TestListenerRandport(t *testing.T) {
	checkFDs(t)
	base := newBase(t)
	counts := [2]int{2, 1}
	var lns [2]*Listener
	for i := range lns {
		ln, err := Listen(base, "tcp", "127.0.0.1:0", func(l *Listener, fd int, peer net.Addr) {
			if _, ok := peer.(*net.TCPAddr); !ok {
				t.Errorf("peer %v", peer)
			}
			unix.Close(fd)
			counts[i]--
			if counts[i] == 0 {
				l.Disable()
			}
		}, ListenerOptions{Flags: ListenReuseAddr})
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		lns[i] = ln
	}
	a0, a1 := lns[0].Addr().(*net.TCPAddr), lns[1].Addr().(*net.TCPAddr)
	if a0.Port == a1.Port || !a0.IP.Equal(net.IPv4(127, 0, 0, 1)) || lns[0].Base() != base || lns[0].FD() < 0 {
		t.Fatalf("addresses %v %v", a0, a1)
	}
	var conns []net.Conn
	for _, a := range []net.Addr{a0, a0, a1} {
		c, err := net.Dial("tcp", a.String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	dispatch(t, base, 5*time.Second)
	if counts != [2]int{0, 0} {
		t.Fatalf("counts %v; want [0 0]", counts)
	}
}

// Mirrors libevent test/regress_listener.c "immediate_close": two connections are
// pending; the accept callback disables the listener after the first, so the second is
// not delivered (libevent leaves it in the backlog; an accept operation that already
// took it keeps it) — until Enable, which delivers it.
func TestListenerImmediateClose(t *testing.T) {
	checkFDs(t)
	base := newBase(t)
	accepted := 0
	ln, err := Listen(base, "tcp", "127.0.0.1:0", func(l *Listener, fd int, _ net.Addr) {
		unix.Close(fd)
		accepted++
		l.Disable()
	}, ListenerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for range 2 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	dispatch(t, base, 5*time.Second)
	if accepted != 1 {
		t.Fatalf("accepted %d; want 1 after disabling in the callback", accepted)
	}
	ln.Enable()
	for accepted < 2 {
		if err := base.Loop(eventbase.LoopOnce); err != nil {
			t.Fatal(err)
		}
	}
}

// Mirrors libevent test/regress_listener.c "close_accepted_fd" / the free-from-callback
// case: the accept callback closes the listener; nothing crashes, no callback follows,
// the listening socket is closed and the ring goes away with it.
func TestListenerCloseFromCallback(t *testing.T) {
	checkFDs(t)
	base := newBase(t)
	calls := 0
	var ln *Listener
	ln, err := Listen(base, "tcp", "127.0.0.1:0", func(l *Listener, fd int, _ net.Addr) {
		calls++
		unix.Close(fd)
		if err := l.Close(); err != nil {
			t.Error(err)
		}
		if err := l.Close(); !errors.Is(err, ErrClosed) {
			t.Errorf("second Close = %v; want ErrClosed", err)
		}
	}, ListenerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	dispatch(t, base, 5*time.Second)
	if calls != 1 {
		t.Fatalf("%d callbacks; want 1", calls)
	}
	if ringOf(base) != nil {
		t.Fatal("ring outlived the listener")
	}
	if err := ln.Enable(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Enable after Close = %v", err)
	}
}

// Mirrors libevent test/regress_listener.c "error" (iocp/listener/error): a listener
// on a socket that is not listening fails to accept; the error callback runs (and
// disables the listener, ending the loop).
func TestListenerError(t *testing.T) {
	checkFDs(t)
	base := newBase(t)
	fds := socketPair(t)
	defer unix.Close(fds[1])
	var got error
	ln, err := NewListener(base, fds[0], func(*Listener, int, net.Addr) {
		t.Error("accept callback ran")
	}, ListenerOptions{Flags: ListenCloseOnFree})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ln.SetErrorCallback(func(l *Listener, err error) {
		got = err
		l.Disable()
	})
	dispatch(t, base, 5*time.Second)
	if !errors.Is(got, syscall.EINVAL) {
		t.Fatalf("error %v; want EINVAL", got)
	}
}

// TestListenerUnix: a Unix-socket listener accepts, hands over the peer address, and
// removes its file on Close; reuse options are refused for Unix sockets.
func TestListenerUnix(t *testing.T) {
	checkFDs(t)
	base := newBase(t)
	path := t.TempDir() + "/s"
	if _, err := Listen(base, "unix", path, nil, ListenerOptions{Flags: ListenReuseAddr}); !errors.Is(err, ErrAddress) {
		t.Fatalf("unix + ReuseAddr: %v", err)
	}
	got := false
	_, err := Listen(base, "unix", path, func(l *Listener, fd int, peer net.Addr) {
		got = true
		unix.Close(fd)
		l.Close()
	}, ListenerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dispatch(t, base, 5*time.Second)
	if !got {
		t.Fatal("not accepted")
	}
	if _, err := net.Dial("unix", path); err == nil {
		t.Fatal("socket file still there after Close")
	}
}
