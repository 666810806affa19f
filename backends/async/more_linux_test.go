//go:build linux

package async

import (
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/backend/dialer/dialertest"
	"golang.org/x/sys/unix"
)

// Mirrors the socket backend's "connect already in progress" case (libevent's
// bufferevent_socket_connect with a NULL address): a socket whose non-blocking connect
// was started by the caller is wrapped and Connect(bev, nil) waits for its outcome —
// Connected for a listening port, Error with ECONNREFUSED for a closed one.
func TestConnectInProgress(t *testing.T) {
	for _, refuse := range []bool{false, true} {
		t.Run(map[bool]string{false: "listening", true: "refused"}[refuse], func(t *testing.T) {
			checkFDs(t)
			base := newBase(t)
			addr := dialertest.ClosedPort(t)
			var ln *Listener
			if !refuse {
				var err error
				ln, err = Listen(base, "tcp", "127.0.0.1:0", func(l *Listener, fd int, _ net.Addr) {
					unix.Close(fd)
				}, ListenerOptions{})
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				addr = ln.Addr().(*net.TCPAddr)
			}
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			sa, _ := sockaddrOf(addr)
			if err := unix.Connect(fd, sa); err != nil && !errors.Is(err, unix.EINPROGRESS) && !errors.Is(err, unix.ECONNREFUSED) {
				t.Fatal(err)
			}
			bev, err := New(base, fd, bufferevent.CloseOnFree)
			if err != nil {
				unix.Close(fd)
				t.Fatal(err)
			}
			defer bev.Close()
			var what bufferevent.Events
			var gotErr error
			bev.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, w bufferevent.Events, err error) {
				what, gotErr = w, err
				base.LoopBreak()
			})
			if err := Connect(bev, nil); err != nil {
				t.Fatal(err)
			}
			dispatch(t, base, 5*time.Second)
			if refuse {
				if what != bufferevent.Error || !errors.Is(gotErr, syscall.ECONNREFUSED) {
					t.Fatalf("event %v %v; want Error with ECONNREFUSED", what, gotErr)
				}
			} else if what != bufferevent.Connected {
				t.Fatalf("event %v %v; want Connected", what, gotErr)
			}
		})
	}
}

// TestBatching: output written to 200 connections during one loop turn goes to the
// kernel in one io_uring_enter (200 sends), and every echo comes back.
func TestBatching(t *testing.T) {
	checkFDs(t)
	base := newBase(t)
	const n = 200
	var as []*bufferevent.BufferEvent
	var all []*bufferevent.BufferEvent
	echoed := 0
	for i := 0; i < n; i++ {
		a, b, err := asyncPair(base, 0, false)
		if err != nil {
			t.Fatal(err)
		}
		b.SetCallbacks(func(bev *bufferevent.BufferEvent) { bev.WriteBuffer(bev.Input()) }, nil, nil)
		a.SetCallbacks(func(bev *bufferevent.BufferEvent) {
			if bev.Input().Len() == 4 {
				if echoed++; echoed == n {
					for _, x := range all {
						x.Close()
					}
				}
			}
		}, nil, nil)
		a.Enable(bufferevent.Read)
		b.Enable(bufferevent.Read)
		as = append(as, a)
		all = append(all, a, b)
	}
	loopOnce(t, base) // every receive in flight
	lr := ringOf(base)
	lr.maxBatch = 0
	for _, a := range as {
		a.WriteString("ping")
	}
	dispatch(t, base, 10*time.Second)
	if lr.maxBatch < n {
		t.Fatalf("largest submission %d operations; want the %d sends written in one turn together", lr.maxBatch, n)
	}
	if echoed != n {
		t.Fatalf("%d echoes of %d", echoed, n)
	}
}

// Mirrors libevent test/regress_bufferevent.c "bufferevent_timeout" for the write side
// of a generic-timeout type: output stuck because the peer does not read makes the
// write timeout fire (Writing|Timeout, os.ErrDeadlineExceeded), writing is disabled and
// the send in flight is cancelled; the read side, with no timeout, stays quiet.
func TestWriteTimeout(t *testing.T) {
	checkFDs(t)
	base := newBase(t)
	fds := socketPair(t)
	defer unix.Close(fds[1])
	unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_SNDBUF, 4096)
	unix.SetsockoptInt(fds[1], unix.SOL_SOCKET, unix.SO_RCVBUF, 4096)
	bev, err := New(base, fds[0], bufferevent.CloseOnFree)
	if err != nil {
		t.Fatal(err)
	}
	defer bev.Close()
	var events []bufferevent.Events
	var gotErr error
	bev.SetCallbacks(nil, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		events = append(events, what)
		gotErr = err
	})
	bev.SetTimeouts(0, 50*time.Millisecond)
	bev.Write(make([]byte, 1<<20))
	dispatch(t, base, 5*time.Second)
	if len(events) != 1 || events[0] != bufferevent.Writing|bufferevent.Timeout || !errors.Is(gotErr, os.ErrDeadlineExceeded) {
		t.Fatalf("events %v (%v); want one Writing|Timeout", events, gotErr)
	}
	if bev.Enabled()&bufferevent.Write != 0 {
		t.Fatal("writing still enabled after the timeout")
	}
	if c, _ := lookupConn(bev); c.writing {
		t.Fatal("send still in flight after the timeout")
	}
}

// TestCloseDoesNotLendDescriptorNumber: a bufferevent closed in the same turn that
// prepared a receive must not let its descriptor number be reused before that receive
// reaches the kernel (which resolves the number only at submission): a socket opened
// right after the Close must not have its data taken by the old receive.
func TestCloseDoesNotLendDescriptorNumber(t *testing.T) {
	checkFDs(t)
	base := newBase(t)
	fds := socketPair(t)
	defer unix.Close(fds[1])
	keep, err := New(base, -1, 0) // keeps the ring alive across the Close below
	if err != nil {
		t.Fatal(err)
	}
	defer keep.Close()
	a, err := New(base, fds[0], bufferevent.CloseOnFree)
	if err != nil {
		t.Fatal(err)
	}
	a.Enable(bufferevent.Read) // a receive on fds[0] is prepared, not yet submitted
	a.Close()
	fresh := socketPair(t) // would get fds[0]'s number if it had been closed already
	defer unix.Close(fresh[0])
	defer unix.Close(fresh[1])
	unix.Write(fresh[1], []byte("mine"))
	loopOnce(t, base)
	buf := make([]byte, 16)
	unix.SetNonblock(fresh[0], true)
	if n, err := unix.Read(fresh[0], buf); n != 4 || string(buf[:n]) != "mine" {
		t.Fatalf("new socket read %d %v: its data went elsewhere", n, err)
	}
	// And the closed bufferevent's socket is really closed: its peer sees EOF.
	unix.SetNonblock(fds[1], true)
	if n, err := unix.Read(fds[1], buf); n != 0 || err != nil {
		t.Fatalf("peer of the closed socket: %d %v; want EOF", n, err)
	}
}
