//go:build linux

package socket

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
	"golang.org/x/sys/unix"
)

// TestFaultPeerReset: the peer resets the connection (SO_LINGER 0, close) while a large
// transfer to it is in progress; the writer's first event is an Error wrapping ECONNRESET
// or EPIPE, no panic, and Close releases everything.
func TestFaultPeerReset(t *testing.T) {
	base := newBase(t)
	before := countFDs(t)
	peerFD := -1
	ln, err := Listen(base, "tcp", "127.0.0.1:0", func(l *Listener, fd int, _ net.Addr) {
		peerFD = fd // raw peer: reads nothing, then resets
		l.Disable()
	}, ListenerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bev, _ := New(base, -1, 0)
	events := 0
	var gotWhat bufferevent.Events
	var gotErr error
	big := make([]byte, 256<<10)
	bev.SetCallbacks(nil, func(bev *bufferevent.BufferEvent) {
		if bev.Output().Len() < len(big) {
			bev.Write(big) // keep the pipe full
		}
	}, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		if what&bufferevent.Connected != 0 {
			// Reset once the socket buffers are full.
			rst, _ := base.NewTimer(func() {
				unix.SetsockoptLinger(peerFD, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
				unix.Close(peerFD)
			})
			rst.AddTimeout(50 * time.Millisecond)
			return
		}
		if events++; events == 1 {
			gotWhat, gotErr = what, err
		}
		base.LoopExit(20 * time.Millisecond)
	})
	bev.Enable(bufferevent.ReadWrite)
	Connect(bev, ln.Addr())
	bev.Write(big)
	dispatch(t, base, 10*time.Second)
	// The first report is the reset (on whichever side saw it first); the other direction
	// may follow with its own report (EOF once the error was consumed).
	if events == 0 || events > 2 || gotWhat&bufferevent.Error == 0 {
		t.Fatalf("%d events, first %v; want an Error first", events, gotWhat)
	}
	if !errors.Is(gotErr, syscall.ECONNRESET) && !errors.Is(gotErr, syscall.EPIPE) {
		t.Fatalf("err %v; want ECONNRESET or EPIPE", gotErr)
	}
	bev.Close()
	ln.Close()
	base.Loop(eventbase.LoopNonBlock)
	if after := countFDs(t); after != before {
		t.Fatalf("%d descriptors open after, %d before", after, before)
	}
}

// TestFaultHalfClose: the peer shuts down its sending side; the bufferevent reports
// Reading|EOF once the data before it is read, and can still write to the peer.
func TestFaultHalfClose(t *testing.T) {
	base := newBase(t)
	pair := socketPair(t)
	bev, _ := New(base, pair[1], 0)
	defer bev.Close()
	unix.Write(pair[0], []byte("request"))
	unix.Shutdown(pair[0], unix.SHUT_WR)
	var got []byte
	var what bufferevent.Events
	bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		buf := make([]byte, 64)
		n, _ := bev.Read(buf)
		got = append(got, buf[:n]...)
	}, func(bev *bufferevent.BufferEvent) {
		if bev.Output().Len() == 0 && what != 0 {
			base.LoopExit(0)
		}
	}, func(bev *bufferevent.BufferEvent, w bufferevent.Events, err error) {
		what = w
		if bev.Enabled()&bufferevent.Read != 0 {
			t.Error("reading still enabled after EOF")
		}
		bev.WriteString("response to " + string(got))
	})
	bev.Enable(bufferevent.Read)
	dispatch(t, base, 5*time.Second)
	if string(got) != "request" || what != bufferevent.Reading|bufferevent.EOF {
		t.Fatalf("got %q, event %v; want request, Reading|EOF", got, what)
	}
	buf := make([]byte, 64)
	n, _ := unix.Read(pair[0], buf)
	if string(buf[:n]) != "response to request" {
		t.Fatalf("peer read %q", buf[:n])
	}
}

// TestFaultSlowReader: a fast writer and a reader that drains 4 KiB every 5ms with a read
// high watermark of 64 KiB: the reader's input never exceeds the watermark, the kernel
// and the writer's output absorb the rest, and every byte arrives.
func TestFaultSlowReader(t *testing.T) {
	base := newBase(t)
	pair := socketPair(t)
	w, _ := New(base, pair[0], 0)
	defer w.Close()
	r, _ := New(base, pair[1], 0)
	defer r.Close()
	const high = 64 << 10
	total := 4 << 20
	if testing.Short() {
		total = 1 << 20
	}
	r.SetWatermark(bufferevent.Read, 0, high)
	// The writer refills only below its own high watermark: bounded at both ends.
	w.SetWatermark(bufferevent.Write, 32<<10, 256<<10)
	sent, recv, maxIn := 0, 0, 0
	chunk := make([]byte, 64<<10)
	w.SetCallbacks(nil, func(bev *bufferevent.BufferEvent) {
		for sent < total && bev.Output().Len() < 256<<10 {
			n := min(len(chunk), total-sent)
			bev.Write(chunk[:n])
			sent += n
		}
	}, nil)
	r.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		maxIn = max(maxIn, bev.Input().Len())
	}, nil, nil)
	drain, _ := base.NewEvent(-1, eventbase.Persist, func(int, eventbase.What) {
		in := r.Input()
		maxIn = max(maxIn, in.Len())
		n := min(in.Len(), 4<<10*(1+total/(1<<20))) // scale the pace with the size
		in.Drain(n)
		recv += n
		if recv == total {
			base.LoopExit(0)
		}
	})
	drain.AddTimeout(5 * time.Millisecond)
	defer drain.Free()
	r.Enable(bufferevent.Read)
	w.Enable(bufferevent.Write)
	dispatch(t, base, 30*time.Second)
	if recv != total {
		t.Fatalf("received %d of %d", recv, total)
	}
	if maxIn > high {
		t.Fatalf("reader input reached %d bytes; high watermark %d", maxIn, high)
	}
	if maxIn == 0 {
		t.Fatal("reader never buffered anything")
	}
}

// TestFaultManyConnects: thousands of connects, echoes and closes against one listener
// leave no descriptor behind (goroutines are checked by goleak in TestMain).
func TestFaultManyConnects(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 300
	}
	base := newBase(t)
	before := countFDs(t)
	ln := echoListener(t, base, "tcp", "127.0.0.1:0")
	const parallel = 50
	started, done := 0, 0
	var start func()
	start = func() {
		if started == n {
			return
		}
		started++
		bev, err := New(base, -1, bufferevent.CloseOnFree)
		if err != nil {
			t.Error(err)
			return
		}
		bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
			if bev.Input().Len() >= 4 {
				bev.Close()
				if done++; done == n {
					base.LoopExit(0)
				}
				start()
			}
		}, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
			if what&bufferevent.Connected == 0 {
				t.Errorf("event %v: %v", what, err)
				bev.Close()
				base.LoopBreak()
			}
		})
		bev.Enable(bufferevent.ReadWrite)
		bev.WriteString("ping")
		if err := Connect(bev, ln.Addr()); err != nil {
			t.Error(err)
		}
	}
	for range parallel {
		start()
	}
	dispatch(t, base, 50*time.Second)
	if done != n {
		t.Fatalf("%d of %d round trips", done, n)
	}
	ln.Close()
	// Let the server side see the EOFs and close.
	for range 20 {
		base.Loop(eventbase.LoopNonBlock)
		if countFDs(t) == before {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if after := countFDs(t); after != before {
		t.Fatalf("%d descriptors open after %d connections, %d before", after, n, before)
	}
}

// TestFaultConnectTimeout: a connect that never completes (the listener's accept queue is
// full, so the kernel drops the SYN) ends with exactly one Writing|Timeout event when a
// write timeout is set; the attempt stops there instead of timing out again and again.
func TestFaultConnectTimeout(t *testing.T) {
	base := newBase(t)
	lfd, err := newSocket(unix.AF_INET)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(lfd)
	unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}})
	unix.Listen(lfd, 0)
	addr := localAddr(lfd)
	// Fill the accept queue with connections nobody accepts.
	var fillers []int
	defer func() {
		for _, fd := range fillers {
			unix.Close(fd)
		}
	}()
	sa, _ := sockaddrFromNetAddr(addr)
	for range 8 {
		fd, _ := newSocket(unix.AF_INET)
		fillers = append(fillers, fd)
		startConnect(fd, sa)
	}
	time.Sleep(50 * time.Millisecond)

	bev, _ := New(base, -1, 0)
	defer bev.Close()
	var whats []bufferevent.Events
	bev.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		whats = append(whats, what)
	})
	bev.SetTimeouts(0, 100*time.Millisecond)
	if err := Connect(bev, addr); err != nil {
		t.Fatal(err)
	}
	base.LoopExit(400 * time.Millisecond)
	dispatch(t, base, 5*time.Second)
	if len(whats) != 1 {
		t.Fatalf("events %v; want exactly one", whats)
	}
	if whats[0] != bufferevent.Writing|bufferevent.Timeout {
		t.Fatalf("event %v; want Writing|Timeout", whats[0])
	}
}
