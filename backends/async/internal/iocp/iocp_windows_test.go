//go:build windows

package iocp

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/bufev/bufev/eventbase"
	"go.uber.org/goleak"
	"golang.org/x/sys/windows"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type fixture struct {
	t    testing.TB
	base *eventbase.Base
	port *Port
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(base, nil)
	if err != nil {
		base.Close()
		t.Fatal(err)
	}
	f := &fixture{t: t, base: base, port: p}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
		base.Close()
	})
	return f
}

func (f *fixture) socket() windows.Handle {
	f.t.Helper()
	s, err := windows.WSASocket(windows.AF_INET, windows.SOCK_STREAM, windows.IPPROTO_TCP, nil, 0,
		windows.WSA_FLAG_OVERLAPPED|windows.WSA_FLAG_NO_HANDLE_INHERIT)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { windows.Closesocket(s) })
	if err := f.port.Associate(s); err != nil {
		f.t.Fatal(err)
	}
	return s
}

func (f *fixture) listener() (windows.Handle, windows.Sockaddr) {
	f.t.Helper()
	l := f.socket()
	if err := windows.Bind(l, &windows.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		f.t.Fatal(err)
	}
	if err := windows.Listen(l, 16); err != nil {
		f.t.Fatal(err)
	}
	sa, err := windows.Getsockname(l)
	if err != nil {
		f.t.Fatal(err)
	}
	return l, sa
}

// run dispatches the loop until it has no more work (every operation delivered) or the
// test's patience ends.
func (f *fixture) run() {
	f.t.Helper()
	guard, _ := f.base.NewTimer(func() { f.t.Error("loop still busy after 20s"); f.base.LoopBreak() })
	guard.AddTimeout(20 * time.Second)
	// The guard itself keeps the loop alive; drop it once every operation is delivered.
	var watch *eventbase.Event
	watch, _ = f.base.NewTimer(func() {
		if f.port.InFlight() == 0 {
			guard.Del()
			return
		}
		watch.AddTimeout(time.Millisecond)
	})
	watch.AddTimeout(time.Millisecond)
	if err := f.base.Dispatch(); err != nil {
		f.t.Fatal(err)
	}
	guard.Del()
	watch.Del()
}

// connected returns a client and an accepted server socket, both associated.
func (f *fixture) connected() (c, s windows.Handle) {
	f.t.Helper()
	l, sa := f.listener()
	c = f.socket()
	var cerr, aerr error = errors.New("no connect callback"), errors.New("no accept callback")
	if _, err := f.port.Accept(l, windows.AF_INET, func(as windows.Handle, peer windows.Sockaddr, err error) {
		aerr = err
		if err != nil {
			return
		}
		s = as
		f.t.Cleanup(func() { windows.Closesocket(as) })
		if p, ok := peer.(*windows.SockaddrInet4); !ok || p.Addr != [4]byte{127, 0, 0, 1} {
			aerr = errors.New("bad peer address")
		}
	}); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.port.Connect(c, sa, func(err error) { cerr = err }); err != nil {
		f.t.Fatal(err)
	}
	f.run()
	if cerr != nil || aerr != nil {
		f.t.Fatalf("connect: %v, accept: %v", cerr, aerr)
	}
	if err := f.port.Associate(s); err != nil {
		f.t.Fatal(err)
	}
	return c, s
}

// Mirrors libevent test/regress_iocp.c "iocp/port" and "iocp/bufferevent_async" in
// spirit: accept, connect, a gathered send and a receive through the completion port.
func TestAcceptConnectSendRecv(t *testing.T) {
	f := newFixture(t)
	c, s := f.connected()
	var sent, got int
	var serr, rerr error
	buf := make([]byte, 64)
	if _, err := f.port.Send(c, [][]byte{[]byte("hello, "), []byte("world")}, func(n int, err error) { sent, serr = n, err }); err != nil {
		t.Fatal(err)
	}
	f.run()
	if serr != nil || sent != 12 {
		t.Fatalf("send: %d %v", sent, serr)
	}
	var data []byte
	var recv func()
	recv = func() {
		if _, err := f.port.Recv(s, [][]byte{buf}, func(n int, err error) {
			got, rerr = n, err
			data = append(data, buf[:n]...)
			if err == nil && n > 0 && len(data) < 12 {
				recv()
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	recv()
	f.run()
	if rerr != nil || string(data) != "hello, world" {
		t.Fatalf("recv: %q (%d, %v)", data, got, rerr)
	}
	// The peer's shutdown reads as a zero-byte completion.
	if err := windows.Shutdown(c, windows.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	got = -1
	if _, err := f.port.Recv(s, [][]byte{buf}, func(n int, err error) { got, rerr = n, err }); err != nil {
		t.Fatal(err)
	}
	f.run()
	if got != 0 || rerr != nil {
		t.Fatalf("eof: %d %v", got, rerr)
	}
}

// A megabyte in several sends arrives whole and in order, however the completions are
// ordered; both directions are in flight at once.
func TestBulkTransfer(t *testing.T) {
	f := newFixture(t)
	c, s := f.connected()
	const total = 1 << 20
	src := make([]byte, total)
	for i := range src {
		src[i] = byte(i * 7)
	}
	var dst []byte
	off := 0
	var send func()
	send = func() {
		end := min(off+100_000, total)
		if _, err := f.port.Send(c, [][]byte{src[off:end]}, func(n int, err error) {
			if err != nil {
				t.Errorf("send: %v", err)
				return
			}
			off += n
			if off < total {
				send()
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 32<<10)
	var recv func()
	recv = func() {
		if _, err := f.port.Recv(s, [][]byte{buf[:16<<10], buf[16<<10:]}, func(n int, err error) {
			if err != nil || n == 0 {
				t.Errorf("recv: %d %v", n, err)
				return
			}
			dst = append(dst, buf[:n]...)
			if len(dst) < total {
				recv()
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	send()
	recv()
	f.run()
	if !bytes.Equal(dst, src) {
		t.Fatalf("received %d bytes, want %d identical", len(dst), total)
	}
}

// Cancel ends a receive that would wait forever; the callback runs once, with
// ErrCanceled, whatever abort code the system used.
func TestCancelRecv(t *testing.T) {
	f := newFixture(t)
	_, s := f.connected()
	calls := 0
	var rerr error
	buf := make([]byte, 16)
	if _, err := f.port.Recv(s, [][]byte{buf}, func(n int, err error) { calls++; rerr = err }); err != nil {
		t.Fatal(err)
	}
	tm, _ := f.base.NewTimer(func() {
		if err := f.port.Cancel(s); err != nil {
			t.Error(err)
		}
	})
	tm.AddTimeout(20 * time.Millisecond)
	f.run()
	if calls != 1 || !errors.Is(rerr, ErrCanceled) {
		t.Fatalf("calls %d, err %v", calls, rerr)
	}
}

// Close with operations in flight: each callback runs exactly once with ErrClosed, the
// goroutine is gone (goleak in TestMain), and later calls fail with ErrClosed.
func TestCloseInFlight(t *testing.T) {
	f := newFixture(t)
	l, _ := f.listener()
	_, s := f.connected()
	var aerr, rerr error
	acalls, rcalls := 0, 0
	if _, err := f.port.Accept(l, windows.AF_INET, func(_ windows.Handle, _ windows.Sockaddr, err error) { acalls++; aerr = err }); err != nil {
		t.Fatal(err)
	}
	if _, err := f.port.Recv(s, [][]byte{make([]byte, 8)}, func(_ int, err error) { rcalls++; rerr = err }); err != nil {
		t.Fatal(err)
	}
	if f.port.InFlight() != 2 {
		t.Fatalf("in flight %d", f.port.InFlight())
	}
	if err := f.port.Close(); err != nil {
		t.Fatal(err)
	}
	if acalls != 1 || rcalls != 1 || !errors.Is(aerr, ErrClosed) || !errors.Is(rerr, ErrClosed) || !errors.Is(rerr, net.ErrClosed) {
		t.Fatalf("accept %d %v, recv %d %v", acalls, aerr, rcalls, rerr)
	}
	if _, err := f.port.Recv(s, [][]byte{make([]byte, 8)}, func(int, error) {}); !errors.Is(err, ErrClosed) {
		t.Fatalf("recv after close: %v", err)
	}
	if err := f.port.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	// The loop has nothing left to wait for.
	if err := f.base.Loop(eventbase.LoopNonBlock); err != nil {
		t.Fatal(err)
	}
}

// Connecting to a port nobody listens on reports an error (which one differs between
// Windows and Wine).
func TestConnectRefused(t *testing.T) {
	f := newFixture(t)
	l, sa := f.listener()
	windows.Closesocket(l)
	f.port.Forget(l)
	c := f.socket()
	cerr := errors.New("no callback")
	if _, err := f.port.Connect(c, sa, func(err error) { cerr = err }); err != nil {
		return // refused at once: also correct
	}
	f.run()
	if cerr == nil {
		t.Fatal("connect to a closed port succeeded")
	}
}

// Bad arguments are errors, not panics.
func TestBadArguments(t *testing.T) {
	f := newFixture(t)
	s, err := windows.WSASocket(windows.AF_INET, windows.SOCK_STREAM, windows.IPPROTO_TCP, nil, 0, windows.WSA_FLAG_OVERLAPPED)
	if err != nil {
		t.Fatal(err)
	}
	defer windows.Closesocket(s)
	if _, err := f.port.Recv(s, [][]byte{make([]byte, 1)}, func(int, error) {}); !errors.Is(err, ErrNotAssociated) {
		t.Fatalf("unassociated: %v", err)
	}
	c := f.socket()
	if _, err := f.port.Send(c, make([][]byte, MaxBuffers+1), func(int, error) {}); !errors.Is(err, ErrTooManyBuffers) {
		t.Fatalf("too many buffers: %v", err)
	}
	// Receiving on an unconnected socket fails at once, and nothing stays in flight.
	if _, err := f.port.Recv(c, [][]byte{make([]byte, 1)}, func(int, error) {}); err == nil {
		f.run()
		t.Fatal("recv on an unconnected socket started")
	}
	if f.port.InFlight() != 0 {
		t.Fatalf("in flight %d", f.port.InFlight())
	}
	if _, err := New(nil, nil); err == nil {
		t.Fatal("New(nil) succeeded")
	}
}

// Closing the base with an operation in flight: once the system completes it, the port
// releases itself (the goroutine exits: goleak in TestMain), and Close afterwards still
// reports the undelivered callback with ErrClosed.
func TestBaseClosedInFlight(t *testing.T) {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	orphan := make(chan struct{})
	p, err := New(base, func() { close(orphan) })
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, base: base, port: p}
	c, s := f.connected()
	var rerr error
	calls := 0
	if _, err := p.Recv(s, [][]byte{make([]byte, 8)}, func(_ int, err error) { calls++; rerr = err }); err != nil {
		t.Fatal(err)
	}
	if err := base.Close(); err != nil {
		t.Fatal(err)
	}
	// The peer's data completes the receive; the base can no longer run its callback.
	var n uint32
	buf := windows.WSABuf{Len: 1, Buf: &[]byte("x")[0]}
	if err := windows.WSASend(c, &buf, 1, &n, 0, nil, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-orphan:
	case <-time.After(20 * time.Second):
		t.Fatal("the port did not release itself")
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if calls != 1 || !errors.Is(rerr, ErrClosed) {
		t.Fatalf("calls %d, err %v", calls, rerr)
	}
}

// An Op is reused once its callback ran, and refused while in flight.
func TestOpReuse(t *testing.T) {
	f := newFixture(t)
	c, s := f.connected()
	var op Op
	buf := make([]byte, 4)
	var got []byte
	cb := func(n int, err error) {
		if err != nil {
			t.Error(err)
		}
		got = append(got, buf[:n]...)
	}
	if _, err := f.port.RecvOp(&op, s, [][]byte{buf}, cb); err != nil {
		t.Fatal(err)
	}
	if _, err := f.port.RecvOp(&op, s, [][]byte{buf}, cb); !errors.Is(err, ErrBusy) {
		t.Fatalf("reuse in flight: %v", err)
	}
	for i, msg := range []string{"ab", "cd"} {
		var sop Op
		if _, err := f.port.SendOp(&sop, c, [][]byte{[]byte(msg)}, func(int, error) {}); err != nil {
			t.Fatal(err)
		}
		f.run()
		if i == 0 {
			if _, err := f.port.RecvOp(&op, s, [][]byte{buf}, cb); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.run()
	if string(got) != "abcd" {
		t.Fatalf("got %q", got)
	}
}

// BenchmarkPingPong: one reused send and one reused receive of 64 bytes per iteration
// over loopback, completions delivered on the loop. allocs/op shows the steady state
// (numbers under Wine say nothing about Windows' speed).
func BenchmarkPingPong(b *testing.B) {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer base.Close()
	p, err := New(base, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	f := &fixture{t: b, base: base, port: p}
	c, s := f.connected() // closed by b's cleanups
	msg := make([]byte, 64)
	buf := make([]byte, 64)
	var sop, rop Op
	sbufs, rbufs := [][]byte{msg}, [][]byte{buf}
	got := 0
	sendCb := func(int, error) {}
	recvCb := func(n int, err error) { got += n }
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.SendOp(&sop, c, sbufs, sendCb); err != nil {
			b.Fatal(err)
		}
		want := got + len(msg)
		for got < want {
			if _, err := p.RecvOp(&rop, s, rbufs, recvCb); err != nil {
				b.Fatal(err)
			}
			for p.InFlight() > 0 {
				if err := base.Loop(eventbase.LoopOnce); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}
