//go:build linux

package socket

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bufev/bufev/eventbase"
	"golang.org/x/sys/unix"
)

// acceptCounter mirrors libevent's acceptcb: close the socket, count down, and disable
// the listener at zero.
func acceptCounter(count *int) AcceptFunc {
	return func(l *Listener, fd int, _ net.Addr) {
		*count--
		closeFD(fd)
		if *count == 0 {
			l.Disable()
		}
	}
}

// Mirrors libevent test/regress_listener.c "listener/randport" and "listener/randport_ts".
func TestListenerRandport(t *testing.T) {
	for _, ts := range []bool{false, true} {
		name := "plain"
		if ts {
			name = "threadsafe"
		}
		t.Run(name, func(t *testing.T) {
			base := newBase(t)
			flags := ListenCloseOnFree | ListenReuseAddr | ListenCloseOnExec
			if ts {
				flags |= ListenThreadSafe
			}
			count1, count2 := 2, 1
			l1, err := Listen(base, "tcp", "127.0.0.1:0", acceptCounter(&count1), ListenerOptions{Flags: flags})
			if err != nil {
				t.Fatal(err)
			}
			defer l1.Close()
			l2, err := Listen(base, "tcp", "127.0.0.1:0", acceptCounter(&count2), ListenerOptions{Flags: flags})
			if err != nil {
				t.Fatal(err)
			}
			defer l2.Close()
			if l1.FD() < 0 || l2.FD() < 0 {
				t.Fatalf("FDs = %d, %d", l1.FD(), l2.FD())
			}
			a1, a2 := l1.Addr().(*net.TCPAddr), l2.Addr().(*net.TCPAddr)
			if !a1.IP.Equal(net.IPv4(127, 0, 0, 1)) || !a2.IP.Equal(net.IPv4(127, 0, 0, 1)) {
				t.Fatalf("addresses %v, %v; want 127.0.0.1", a1, a2)
			}
			if a1.Port == a2.Port {
				t.Fatalf("both listeners on port %d", a1.Port)
			}
			if l1.Base() != base || l2.Base() != base {
				t.Fatal("Base() differs from the base given")
			}
			dialBlocking(t, a1)
			dialBlocking(t, a1)
			dialBlocking(t, a2)
			dispatch(t, base, 5*time.Second)
			if count1 != 0 || count2 != 0 {
				t.Fatalf("counts = %d, %d; want 0, 0", count1, count2)
			}
		})
	}
}

func errorDisables(count *int) ErrorFunc {
	return func(l *Listener, err error) {
		*count = 1000
		l.Disable()
	}
}

// Mirrors libevent test/regress_listener.c "listener/error" and "listener/error_ts": a
// listener on a connected, non-listening socket with pending data fails in accept; the
// error callback runs and disables it, and the loop ends.
func TestListenerError(t *testing.T) {
	for _, ts := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "threadsafe"}[ts], func(t *testing.T) {
			base := newBase(t)
			pair := socketPair(t)
			if _, err := unix.Write(pair[1], []byte("hello")); err != nil {
				t.Fatal(err)
			}
			flags := ListenReuseAddr
			if ts {
				flags |= ListenThreadSafe
			}
			count := 1
			l, err := NewListener(base, pair[0], acceptCounter(&count), ListenerOptions{Flags: flags})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			var gotErr error
			l.SetErrorCallback(func(l *Listener, err error) {
				gotErr = err
				errorDisables(&count)(l, err)
			})
			dispatch(t, base, 5*time.Second)
			if count != 1000 {
				t.Fatalf("count = %d; want 1000 (set by the error callback)", count)
			}
			var op *net.OpError
			if !errors.As(gotErr, &op) || op.Op != "accept" || !errors.Is(gotErr, syscall.EINVAL) {
				t.Fatalf("error = %v; want an accept *net.OpError wrapping EINVAL", gotErr)
			}
		})
	}
}

// Mirrors libevent test/regress_listener.c "listener/close_accepted_fd": the accept
// callback closes the listener from inside; nothing crashes, the socket is closed.
func TestListenerCloseFromCallback(t *testing.T) {
	base := newBase(t)
	count := 1
	var l *Listener
	l, err := Listen(base, "tcp", "127.0.0.1:0", func(l *Listener, fd int, _ net.Addr) {
		count--
		closeFD(fd)
		if err := l.Close(); err != nil {
			t.Errorf("Close in callback: %v", err)
		}
	}, ListenerOptions{Flags: ListenReuseAddr})
	if err != nil {
		t.Fatal(err)
	}
	fd := l.FD()
	dialBlocking(t, l.Addr())
	dialBlocking(t, l.Addr()) // a second pending connection must not reach the closed listener
	dispatch(t, base, 5*time.Second)
	if count != 0 {
		t.Fatalf("count = %d; want 0", count)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != unix.EBADF {
		t.Fatalf("listening socket still open after Close (fcntl: %v)", err)
	}
	if err := l.Close(); !errors.Is(err, ErrClosed) || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close = %v; want ErrClosed", err)
	}
	if err := l.Enable(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Enable after Close = %v; want ErrClosed", err)
	}
}

// Mirrors libevent test/regress_listener.c "listener/immediate_close": with two pending
// connections, disabling the listener in the first callback stops the accept loop at
// once — the second connection is not delivered.
func TestListenerImmediateClose(t *testing.T) {
	base := newBase(t)
	count := 1
	l, err := Listen(base, "tcp", "127.0.0.1:0", acceptCounter(&count), ListenerOptions{Flags: ListenReuseAddr})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dialBlocking(t, l.Addr())
	dialBlocking(t, l.Addr())
	time.Sleep(20 * time.Millisecond) // let both handshakes reach the accept queue
	dispatch(t, base, 5*time.Second)
	if count != 0 {
		t.Fatalf("count = %d; want 0 (exactly one connection delivered)", count)
	}
	if l.Enabled() {
		t.Fatal("listener still enabled")
	}
	// Re-enabling delivers the connection left in the backlog.
	count = 1
	if err := l.Enable(); err != nil {
		t.Fatal(err)
	}
	dispatch(t, base, 5*time.Second)
	if count != 0 {
		t.Fatalf("after Enable count = %d; want 0", count)
	}
}

// Mirrors libevent test/regress_listener.c "listener/disable_in_thread": a ThreadSafe
// listener disabled by another goroutine while its accept callback runs; no deadlock.
func TestListenerDisableInThreadConcurrentSafe(t *testing.T) {
	base := newBase(t)
	var wg sync.WaitGroup
	accepted := 0
	l, err := Listen(base, "tcp", "127.0.0.1:0", func(l *Listener, fd int, _ net.Addr) {
		accepted++
		closeFD(fd)
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.Disable()
		}()
		wg.Wait() // the callback waits for the other goroutine's Disable
	}, ListenerOptions{Flags: ListenReuseAddr | ListenThreadSafe})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dialBlocking(t, l.Addr())
	dispatch(t, base, 5*time.Second)
	if accepted != 1 || l.Enabled() {
		t.Fatalf("accepted %d, enabled %v; want 1, false", accepted, l.Enabled())
	}
}

// Mirrors libevent test/regress_listener.c "listener/disable_in_thread_error": the same
// race inside the error callback.
func TestListenerDisableInThreadErrorConcurrentSafe(t *testing.T) {
	base := newBase(t)
	pair := socketPair(t)
	unix.Write(pair[1], []byte("x"))
	var wg sync.WaitGroup
	errs := 0
	l, err := NewListener(base, pair[0], func(*Listener, int, net.Addr) {}, ListenerOptions{Flags: ListenThreadSafe})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.SetErrorCallback(func(l *Listener, err error) {
		errs++
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.Disable()
		}()
		wg.Wait()
	})
	dispatch(t, base, 5*time.Second)
	if errs != 1 || l.Enabled() {
		t.Fatalf("error callbacks %d, enabled %v; want 1, false", errs, l.Enabled())
	}
}

// Mirrors libevent test/regress_listener.c "listener/reuseport_on_unix_socket":
// SO_REUSEADDR and SO_REUSEPORT are refused for Unix sockets; close-on-exec is fine.
func TestListenerUnixOptions(t *testing.T) {
	base := newBase(t)
	path := tempSocketPath(t)
	for _, f := range []ListenFlags{ListenReuseAddr, ListenReusePort, ListenIPv6Only} {
		if l, err := Listen(base, "unix", path, nil, ListenerOptions{Flags: f}); !errors.Is(err, ErrOption) {
			if l != nil {
				l.Close()
			}
			t.Fatalf("Listen(unix, %#x) error = %v; want ErrOption", f, err)
		}
	}
	got := make(chan net.Addr, 1)
	l, err := Listen(base, "unix", path, func(l *Listener, fd int, peer net.Addr) {
		closeFD(fd)
		got <- peer
		l.Disable()
	}, ListenerOptions{Flags: ListenCloseOnExec | ListenCloseOnFree})
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := l.Addr().(*net.UnixAddr); !ok || a.Name != path {
		t.Fatalf("Addr = %#v; want unix %s", l.Addr(), path)
	}
	dialBlocking(t, l.Addr())
	dispatch(t, base, 5*time.Second)
	if p := <-got; p.Network() != "unix" {
		t.Fatalf("peer %v; want a unix address", p)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("socket file left behind: %v", err)
	}
}

// TestListenerReusePort: two listeners share a port with ListenReusePort; without it the
// second bind fails with EADDRINUSE.
func TestListenerReusePort(t *testing.T) {
	base := newBase(t)
	noop := func(_ *Listener, fd int, _ net.Addr) { closeFD(fd) }
	l1, err := Listen(base, "tcp4", "127.0.0.1:0", noop, ListenerOptions{Flags: ListenReusePort})
	if err != nil {
		t.Fatal(err)
	}
	defer l1.Close()
	addr := l1.Addr().String()
	l2, err := Listen(base, "tcp4", addr, noop, ListenerOptions{Flags: ListenReusePort})
	if err != nil {
		t.Fatalf("second SO_REUSEPORT listener: %v", err)
	}
	l2.Close()
	if l3, err := Listen(base, "tcp4", addr, noop, ListenerOptions{}); !errors.Is(err, syscall.EADDRINUSE) {
		if l3 != nil {
			l3.Close()
		}
		t.Fatalf("plain listener on a used port: %v; want EADDRINUSE", err)
	}
}

// TestListenerIPv6 checks IPv6-only and dual-stack wildcards: an IPv6-only listener does
// not accept IPv4 connections, a dual-stack one delivers them as IPv4-mapped peers.
func TestListenerIPv6(t *testing.T) {
	base := newBase(t)
	if _, err := newSocket(unix.AF_INET6); err != nil {
		t.Skip("no IPv6:", err)
	}
	for _, tc := range []struct {
		name   string
		flags  ListenFlags
		v4OK   bool
		v6Peer string
	}{
		{"ipv6only", ListenIPv6Only, false, "::1"},
		{"dualstack", ListenDualStack, true, "::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var peers []net.Addr
			l, err := Listen(base, "tcp6", "[::]:0", func(l *Listener, fd int, peer net.Addr) {
				closeFD(fd)
				peers = append(peers, peer)
				l.Disable()
			}, ListenerOptions{Flags: tc.flags})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			port := l.Addr().(*net.TCPAddr).Port
			c, err := net.DialTimeout("tcp4", net.JoinHostPort("127.0.0.1", itoa(port)), 2*time.Second)
			if (err == nil) != tc.v4OK {
				t.Fatalf("IPv4 dial error %v; want success=%v", err, tc.v4OK)
			}
			if c != nil {
				defer c.Close()
			} else {
				dialBlocking(t, &net.TCPAddr{IP: net.IPv6loopback, Port: port})
			}
			dispatch(t, base, 5*time.Second)
			if len(peers) != 1 {
				t.Fatalf("peers %v; want one", peers)
			}
			ip := peers[0].(*net.TCPAddr).IP
			if tc.v4OK && !ip.Equal(net.IPv4(127, 0, 0, 1)) {
				t.Fatalf("peer %v; want 127.0.0.1 (mapped)", ip)
			}
		})
	}
	if _, err := Listen(base, "tcp4", "127.0.0.1:0", nil, ListenerOptions{Flags: ListenIPv6Only}); !errors.Is(err, ErrOption) {
		t.Fatalf("IPv6-only on tcp4: %v; want ErrOption", err)
	}
	if _, err := Listen(base, "tcp", "[::1]:0", nil, ListenerOptions{Flags: ListenIPv6Only | ListenDualStack}); !errors.Is(err, ErrOption) {
		t.Fatalf("IPv6-only with dual stack: %v; want ErrOption", err)
	}
}

func itoa(n int) string { return formatInt(n) }

// TestListenerDeferredAccept: with ListenDeferredAccept (TCP_DEFER_ACCEPT) a connection
// that has sent nothing is not reported; it is once data arrives.
func TestListenerDeferredAccept(t *testing.T) {
	base := newBase(t)
	accepted := 0
	l, err := Listen(base, "tcp", "127.0.0.1:0", func(l *Listener, fd int, _ net.Addr) {
		accepted++
		closeFD(fd)
		l.Disable()
	}, ListenerOptions{Flags: ListenDeferredAccept})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := dialBlocking(t, l.Addr())
	base.Loop(eventbase.LoopNonBlock)
	time.Sleep(50 * time.Millisecond)
	base.Loop(eventbase.LoopNonBlock)
	if accepted != 0 {
		t.Fatal("connection delivered before the client sent anything")
	}
	c.Write([]byte("x"))
	dispatch(t, base, 5*time.Second)
	if accepted != 1 {
		t.Fatalf("accepted %d; want 1", accepted)
	}
}

// TestListenerCallbackControl covers Enable/Disable/SetCallback: a nil callback stops
// polling (connections wait in the backlog) and SetCallback on an enabled listener starts
// it; ListenDisabled creates it stopped; ListenBlocking delivers blocking sockets.
func TestListenerCallbackControl(t *testing.T) {
	base := newBase(t)
	var got []int
	cb := func(l *Listener, fd int, _ net.Addr) {
		fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		cloexec, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if cloexec&unix.FD_CLOEXEC == 0 {
			t.Error("accepted socket is not close-on-exec")
		}
		got = append(got, fl&unix.O_NONBLOCK)
		closeFD(fd)
		l.Disable()
	}
	l, err := Listen(base, "tcp", "127.0.0.1:0", nil, ListenerOptions{Flags: ListenDisabled | ListenBlocking})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.Enabled() {
		t.Fatal("ListenDisabled listener starts enabled")
	}
	dialBlocking(t, l.Addr())
	if err := l.Enable(); err != nil { // enabled, but no callback yet: nothing is polled
		t.Fatal(err)
	}
	dispatch(t, base, 5*time.Second)
	if len(got) != 0 {
		t.Fatal("connection delivered without a callback")
	}
	l.SetCallback(cb)
	dispatch(t, base, 5*time.Second)
	if len(got) != 1 || got[0] != 0 {
		t.Fatalf("got %v; want one blocking socket", got)
	}
}

// TestListenerBacklog: NewListener calls listen(2) on a bound socket when Backlog is set,
// and leaves it alone with Backlog 0 (libevent's rule).
func TestListenerBacklog(t *testing.T) {
	base := newBase(t)
	fd, err := newSocket(unix.AF_INET)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	accepted := 0
	l, err := NewListener(base, fd, func(l *Listener, nfd int, _ net.Addr) {
		accepted++
		closeFD(nfd)
		l.Disable()
	}, ListenerOptions{Backlog: 4, Flags: ListenCloseOnFree})
	if err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	dialBlocking(t, l.Addr())
	dispatch(t, base, 5*time.Second)
	if accepted != 1 {
		t.Fatalf("accepted %d; want 1", accepted)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != unix.EBADF {
		t.Fatal("ListenCloseOnFree did not close the socket")
	}
	if _, err := NewListener(base, -1, nil, ListenerOptions{}); err == nil {
		t.Fatal("NewListener(-1) succeeded")
	}
	if _, err := Listen(base, "udp", "127.0.0.1:0", nil, ListenerOptions{}); err == nil {
		t.Fatal("Listen(udp) succeeded")
	}
	if _, err := Listen(base, "tcp", "127.0.0.1", nil, ListenerOptions{}); !errors.Is(err, ErrAddress) {
		t.Fatalf("Listen without port: %v; want ErrAddress", err)
	}
}

func init() {
	subprocesses["emfile"] = subprocessEMFILE
}

// TestListenerEMFILE mirrors libevent test/regress_listener.c "listener/error_unlock"
// (accept failing with EMFILE under a lowered RLIMIT_NOFILE) and goes further: the error
// callback gets EMFILE, the listener pauses instead of spinning on a socket that stays
// readable, and once descriptors are available again the connection is accepted. It runs
// in a child process because the limit is process-wide.
func TestListenerEMFILE(t *testing.T) {
	if countFDs(t) == 0 {
		t.Skip()
	}
	runInSubprocess(t, "emfile")
}

func subprocessEMFILE() int {
	fail := func(format string, a ...any) int {
		os.Stderr.WriteString("emfile: " + sprintf(format, a...) + "\n")
		return 1
	}
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		return fail("%v", err)
	}
	defer base.Close()
	accepted := 0
	l, err := Listen(base, "tcp", "127.0.0.1:0", func(l *Listener, fd int, _ net.Addr) {
		accepted++
		closeFD(fd)
		l.Disable()
	}, ListenerOptions{})
	if err != nil {
		return fail("listen: %v", err)
	}
	defer l.Close()
	// The client connects before the limit drops: its socket already exists.
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		return fail("dial: %v", err)
	}
	defer c.Close()

	var old unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_NOFILE, &old)
	lowered := old
	lowered.Cur = uint64(lowestFreeFD()) // the next descriptor would be at the limit
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lowered); err != nil {
		return fail("setrlimit: %v", err)
	}
	var errs []error
	l.SetErrorCallback(func(l *Listener, err error) {
		errs = append(errs, err)
		if len(errs) == 3 {
			// Descriptors become available again; the next attempt succeeds.
			unix.Setrlimit(unix.RLIMIT_NOFILE, &old)
		}
	})
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			base.LoopBreak()
		}
	}()
	base.Dispatch()
	close(done)
	if accepted != 1 {
		return fail("accepted %d after the limit was raised; want 1 (errors: %v)", accepted, errs)
	}
	if len(errs) != 3 {
		// More than 3 would mean the listener retried after the limit was raised.
		return fail("%d error callbacks; want 3", len(errs))
	}
	for _, e := range errs {
		if !errors.Is(e, syscall.EMFILE) {
			return fail("error %v; want EMFILE", e)
		}
	}
	return 0
}

func init() {
	subprocesses["emfile-spin"] = subprocessEMFILESpin
}

// TestListenerEMFILENoSpin: a listener stuck at EMFILE with no error callback keeps
// trying with growing pauses rather than spinning: in 300ms it tries a handful of times
// (5, 10, 20, 40, 80, 160ms pauses), not thousands.
func TestListenerEMFILENoSpin(t *testing.T) {
	if countFDs(t) == 0 {
		t.Skip()
	}
	runInSubprocess(t, "emfile-spin")
}

func subprocessEMFILESpin() int {
	fail := func(format string, a ...any) int {
		os.Stderr.WriteString("emfile-spin: " + sprintf(format, a...) + "\n")
		return 1
	}
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		return fail("%v", err)
	}
	defer base.Close()
	l, err := Listen(base, "tcp", "127.0.0.1:0", func(_ *Listener, fd int, _ net.Addr) { closeFD(fd) }, ListenerOptions{})
	if err != nil {
		return fail("listen: %v", err)
	}
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		return fail("dial: %v", err)
	}
	defer c.Close()
	attempts := 0
	l.SetErrorCallback(func(*Listener, error) { attempts++ })
	var rl unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_NOFILE, &rl)
	rl.Cur = uint64(lowestFreeFD())
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return fail("setrlimit: %v", err)
	}
	base.LoopExit(300 * time.Millisecond)
	base.Dispatch()
	l.Close()
	if attempts < 2 || attempts > 12 {
		return fail("%d accept attempts in 300ms; want a few (paused, not spinning)", attempts)
	}
	return 0
}

// lowestFreeFD returns the number the next new descriptor would get.
func lowestFreeFD() int {
	fd, err := unix.Dup(0)
	if err != nil {
		return 0
	}
	unix.Close(fd)
	return fd
}

// TestListenerThreadSafeCloseConcurrentSafe: a ThreadSafe listener closed from another
// goroutine while its loop runs stops accepting and closes its socket on the loop.
func TestListenerThreadSafeCloseConcurrentSafe(t *testing.T) {
	base := newBase(t)
	accepted := make(chan struct{}, 16)
	l, err := Listen(base, "tcp", "localhost:0", func(_ *Listener, fd int, _ net.Addr) {
		closeFD(fd)
		accepted <- struct{}{}
	}, ListenerOptions{Flags: ListenThreadSafe})
	if err != nil {
		t.Fatal(err)
	}
	if ip := l.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		t.Fatalf("localhost resolved to %v", ip)
	}
	fd := l.FD()
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		base.Loop(eventbase.LoopNoExitOnEmpty)
	}()
	dialBlocking(t, l.Addr())
	<-accepted
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == unix.EBADF {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("socket not closed on the loop")
		}
		time.Sleep(time.Millisecond)
	}
	if err := l.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close = %v", err)
	}
	base.LoopBreak()
	<-loopDone
}
