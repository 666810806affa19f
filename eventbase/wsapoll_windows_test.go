//go:build windows

// Tests of the WSAPoll poller and the wake-up socket; they run under Wine with
//
//	.ci/windows/test eventbase
package eventbase_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/bufev/bufev/eventbase"
	"golang.org/x/sys/windows"
)

var procAccept = windows.NewLazySystemDLL("ws2_32.dll").NewProc("accept")

// tcpPair returns two connected loopback TCP sockets (blocking).
func tcpPair(t *testing.T) (a, b windows.Handle) {
	t.Helper()
	var d windows.WSAData
	if err := windows.WSAStartup(0x202, &d); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { windows.WSACleanup() })
	l, err := windows.Socket(windows.AF_INET, windows.SOCK_STREAM, windows.IPPROTO_TCP)
	if err != nil {
		t.Fatal(err)
	}
	defer windows.Closesocket(l)
	if err := windows.Bind(l, &windows.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := windows.Listen(l, 1); err != nil {
		t.Fatal(err)
	}
	sa, _ := windows.Getsockname(l)
	a, err = windows.Socket(windows.AF_INET, windows.SOCK_STREAM, windows.IPPROTO_TCP)
	if err != nil {
		t.Fatal(err)
	}
	if err := windows.Connect(a, sa); err != nil {
		t.Fatal(err)
	}
	r, _, e := procAccept.Call(uintptr(l), 0, 0)
	if windows.Handle(r) == windows.InvalidHandle {
		t.Fatal(e)
	}
	b = windows.Handle(r)
	t.Cleanup(func() { windows.Closesocket(a); windows.Closesocket(b) })
	return a, b
}

func newBase(t *testing.T) *eventbase.Base {
	b, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if b.Method() != "wsapoll" {
		t.Fatalf("method %q", b.Method())
	}
	return b
}

func send(t *testing.T, s windows.Handle, p string) {
	var n uint32
	buf := windows.WSABuf{Len: uint32(len(p)), Buf: &[]byte(p)[0]}
	if err := windows.WSASend(s, &buf, 1, &n, 0, nil, nil); err != nil || int(n) != len(p) {
		t.Fatalf("send: %d %v", n, err)
	}
}

func recv(fd int, p []byte) (int, error) {
	var n, flags uint32
	buf := windows.WSABuf{Len: uint32(len(p)), Buf: &p[0]}
	err := windows.WSARecv(windows.Handle(fd), &buf, 1, &n, &flags, nil, nil)
	return int(n), err
}

// Mirrors libevent test/regress.c "main/simpleread" and "main/simplewrite" on a TCP
// socket: readiness for reading and writing, then end of stream.
func TestReadWriteEOF(t *testing.T) {
	b := newBase(t)
	a, s := tcpPair(t)
	var got []byte
	var eof bool
	var rev *eventbase.Event
	rev, err := b.NewEvent(int(s), eventbase.Read|eventbase.Persist, func(fd int, what eventbase.What) {
		var buf [64]byte
		n, err := recv(fd, buf[:])
		if err != nil {
			t.Errorf("read: %v", err)
			rev.Del()
			return
		}
		if n == 0 {
			eof = true
			rev.Del()
			return
		}
		got = append(got, buf[:n]...)
		if string(got) == "hello" {
			windows.Shutdown(a, windows.SHUT_WR)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	wrote := 0
	wev, err := b.NewEvent(int(s), eventbase.Write, func(fd int, what eventbase.What) {
		if what&eventbase.Write == 0 {
			t.Errorf("write event %v", what)
		}
		wrote++
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := rev.Add(); err != nil {
		t.Fatal(err)
	}
	if err := wev.Add(); err != nil {
		t.Fatal(err)
	}
	send(t, a, "hello")
	if err := b.Dispatch(); err != nil {
		t.Fatal(err)
	}
	if string(got) != "hello" || !eof || wrote != 1 {
		t.Fatalf("got %q eof %v wrote %d", got, eof, wrote)
	}
}

// Functions queued from another goroutine wake a loop blocked in WSAPoll (the wake-up
// datagram) and all run, in order of queueing.
func TestWakeFromOtherGoroutine(t *testing.T) {
	b := newBase(t)
	const n = 200
	var ran atomic.Int32
	done := make(chan error, 1)
	go func() { done <- b.Loop(eventbase.LoopNoExitOnEmpty) }()
	for i := 0; i < n; i++ {
		if err := b.RunInLoop(func() { ran.Add(1) }); err != nil {
			t.Fatal(err)
		}
		if i%20 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	b.RunInLoop(func() { b.LoopBreak() })
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("loop not woken")
	}
	if ran.Load() != n {
		t.Fatalf("ran %d of %d", ran.Load(), n)
	}
}

// Removing registrations swaps WSAPOLLFD slots; removed sockets stay silent, the others
// fire, and the WSAPoll timeout never wakes the loop before a timer is due.
func TestTimerAndManySockets(t *testing.T) {
	b := newBase(t)
	var evs []*eventbase.Event
	var peers []windows.Handle
	fired := map[int]int{}
	for i := 0; i < 10; i++ {
		a, s := tcpPair(t)
		peers = append(peers, a)
		ev, err := b.NewEvent(int(s), eventbase.Read|eventbase.Persist, func(fd int, what eventbase.What) {
			var buf [8]byte
			recv(fd, buf[:])
			fired[fd]++
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := ev.Add(); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	// Remove every other one (exercises slot swapping), then write to all.
	for i := 0; i < len(evs); i += 2 {
		evs[i].Del()
	}
	for _, a := range peers {
		send(t, a, "x")
	}
	tm, _ := b.NewTimer(func() { b.LoopBreak() })
	tm.AddTimeout(300 * time.Millisecond)
	start := time.Now()
	if err := b.Loop(eventbase.LoopNoExitOnEmpty); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 290*time.Millisecond {
		t.Fatalf("timer fired early: %v", time.Since(start))
	}
	for i, ev := range evs {
		want := i % 2
		if fired[ev.FD()] != want {
			t.Errorf("socket %d fired %d times, want %d", i, fired[ev.FD()], want)
		}
	}
}

// WSAPoll takes sockets only: a pipe handle is refused with an error, not a hang.
func TestNonSocketRejected(t *testing.T) {
	b := newBase(t)
	var r, w windows.Handle
	if err := windows.CreatePipe(&r, &w, nil, 0); err != nil {
		t.Fatal(err)
	}
	defer windows.CloseHandle(r)
	defer windows.CloseHandle(w)
	ev, err := b.NewEvent(int(r), eventbase.Read, func(int, eventbase.What) {})
	if err == nil {
		err = ev.Add()
	}
	if err == nil {
		t.Fatal("a file handle was accepted by WSAPoll")
	}
	t.Log(err)
}
