//go:build linux

package async

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/ratelimit"
	"golang.org/x/sys/unix"
)

// TestThreadExit: the kernel may cancel the operations of an OS thread that exits
// (older kernels at the exit, some when the completion work finds the thread gone;
// recent ones finish them normally). A receive submitted from a goroutine locked to its
// thread, which then ends without unlocking (so Go terminates the thread), still
// delivers its data to the loop now running on another goroutine.
func TestThreadExit(t *testing.T) {
	setReady(t, false) // ring receives: this tests them
	checkFDs(t)
	base := newBase(t)
	fds := socketPair(t)
	defer unix.Close(fds[1])
	bev, err := New(base, fds[0], bufferevent.CloseOnFree)
	if err != nil {
		t.Fatal(err)
	}
	defer bev.Close()
	var got []byte
	bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		p, _ := bev.Input().Pullup(-1)
		got = append(got, p...)
		bev.Input().Drain(len(p))
		base.LoopBreak()
	}, nil, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		bev.Enable(bufferevent.Read)
		loopOnce(t, base) // submits the receive from this thread
	}()
	<-done
	time.Sleep(10 * time.Millisecond)
	unix.Write(fds[1], []byte("after the exit"))
	dispatch(t, base, 5*time.Second)
	t.Logf("operations resubmitted after an unrequested cancellation: %d", ringOf(base).resubmits)
	if string(got) != "after the exit" {
		t.Fatalf("got %q", got)
	}
}

// TestUnrequestedCancelResubmits: a receive and a send that complete with ECANCELED
// although the backend did not cancel them (what a thread exit produces on kernels that
// cancel) are submitted again, and no byte is lost or duplicated.
func TestUnrequestedCancelResubmits(t *testing.T) {
	setReady(t, false) // ring receives: this tests them
	checkFDs(t)
	base := newBase(t)
	fds := socketPair(t)
	peer := fds[1]
	defer unix.Close(peer)
	unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_SNDBUF, 4096)
	unix.SetsockoptInt(peer, unix.SOL_SOCKET, unix.SO_RCVBUF, 4096)
	bev, err := New(base, fds[0], bufferevent.CloseOnFree)
	if err != nil {
		t.Fatal(err)
	}
	defer bev.Close()
	var got []byte
	bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		p, _ := bev.Input().Pullup(-1)
		got = append(got, p...)
		bev.Input().Drain(len(p))
	}, nil, nil)
	bev.Enable(bufferevent.Read)
	want := make([]byte, 1<<20)
	for i := range want {
		want[i] = byte(i * 13)
	}
	bev.Write(want)
	loopOnce(t, base)
	c, _ := lookupConn(bev)
	if !c.reading || !c.writing {
		t.Fatalf("reading %v writing %v; want both in flight", c.reading, c.writing)
	}
	// Cancel both behind the backend's back (user data of no owner: id 0).
	lr := c.lr
	if err := lr.ring.PrepCancel(kindCancelRead, c.ud(kindRead), false); err != nil {
		t.Fatal(err)
	}
	if err := lr.ring.PrepCancel(kindCancelWrite, c.ud(kindWrite), false); err != nil {
		t.Fatal(err)
	}
	lr.submit()
	loopOnce(t, base)
	if lr.resubmits != 2 {
		t.Fatalf("resubmits %d; want 2", lr.resubmits)
	}
	unix.Write(peer, []byte("hello"))
	var recvd []byte
	buf := make([]byte, 64<<10)
	unix.SetNonblock(peer, true)
	deadline := time.Now().Add(10 * time.Second)
	for (len(recvd) < len(want) || len(got) < 5) && time.Now().Before(deadline) {
		n, _ := unix.Read(peer, buf)
		if n > 0 {
			recvd = append(recvd, buf[:n]...)
		}
		loopOnce(t, base)
		if n <= 0 {
			time.Sleep(time.Millisecond)
		}
	}
	if !bytes.Equal(recvd, want) || string(got) != "hello" {
		t.Fatalf("peer got %d bytes (equal %v), bev got %q", len(recvd), bytes.Equal(recvd, want), got)
	}
}

// TestFaultPeerReset: the peer resets the connection while a receive (a ring receive,
// or the readiness event) and a send are in flight; the bufferevent reports one Error
// (or EOF) with the cause, and closing it afterwards leaks nothing.
func TestFaultPeerReset(t *testing.T) {
	forEachMode(t, testFaultPeerReset)
}

func testFaultPeerReset(t *testing.T) {
	checkFDs(t)
	base := newBase(t)
	fa, fb, err := tcpPair()
	if err != nil {
		t.Fatal(err)
	}
	unix.SetsockoptInt(fb, unix.SOL_SOCKET, unix.SO_RCVBUF, 4096)
	bev, err := New(base, fa, bufferevent.CloseOnFree)
	if err != nil {
		t.Fatal(err)
	}
	defer bev.Close()
	var events []bufferevent.Events
	var firstErr error
	bev.SetCallbacks(nil, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		events = append(events, what)
		if firstErr == nil {
			firstErr = err
		}
		bev.Close()
	})
	bev.Enable(bufferevent.ReadWrite)
	bev.Write(make([]byte, 4<<20))
	loopOnce(t, base)
	c, _ := lookupConn(bev)
	if c.reading == readyOn || c.revOn != readyOn || !c.writing {
		t.Fatalf("reading %v (by readiness %v) writing %v; want a receive armed and a send in flight", c.reading, c.revOn, c.writing)
	}
	runtime.GC()
	unix.SetsockoptLinger(fb, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	unix.Close(fb) // RST
	dispatch(t, base, 5*time.Second)
	if len(events) != 1 || events[0]&(bufferevent.Error|bufferevent.EOF) == 0 {
		t.Fatalf("events %v; want one Error or EOF", events)
	}
	if !errors.Is(firstErr, syscall.ECONNRESET) && !errors.Is(firstErr, syscall.EPIPE) && !errors.Is(firstErr, io.EOF) {
		t.Fatalf("error %v; want ECONNRESET, EPIPE or EOF", firstErr)
	}
}

// TestFaultCloseInFlight: bufferevents closed with receives and sends outstanding —
// garbage collections between submission and completion, the peer still writing —
// release their sockets (the peers see EOF), the pinned memory only after the kernel
// gave it back, and the ring when the last one is gone. Run under -race (and the
// default GODEBUG=invalidptr=1), a use after free would show as corrupt data, a race
// report or a runtime abort.
func TestFaultCloseInFlight(t *testing.T) {
	// Ten connections receive with ring receives; two, by readiness (their sends are
	// still send operations in flight).
	forEachMode(t, func(t *testing.T) {
		n := 10
		if readyOn {
			n = readyMin
		}
		testFaultCloseInFlight(t, n)
	})
}

func testFaultCloseInFlight(t *testing.T, n int) {
	checkFDs(t)
	var teardownErr error
	teardownHook = func(d, c error) { teardownErr = errors.Join(d, c) }
	defer func() { teardownHook = nil }()
	base := newBase(t)
	var peers []int
	var bevs []*bufferevent.BufferEvent
	for i := 0; i < n; i++ {
		fa, fb, err := tcpPair()
		if err != nil {
			t.Fatal(err)
		}
		// Buffers small enough for 4 MiB to keep a send in flight, large enough that
		// TCP's zero-window probing does not slow the final reads to a crawl.
		unix.SetsockoptInt(fb, unix.SOL_SOCKET, unix.SO_RCVBUF, 64<<10)
		unix.SetsockoptInt(fa, unix.SOL_SOCKET, unix.SO_SNDBUF, 64<<10)
		peers = append(peers, fb)
		bev, err := New(base, fa, bufferevent.CloseOnFree|bufferevent.Options(i%2)*bufferevent.ThreadSafe)
		if err != nil {
			t.Fatal(err)
		}
		bev.Enable(bufferevent.ReadWrite)
		bev.Write(bytes.Repeat([]byte{byte(i)}, 4<<20))
		bevs = append(bevs, bev)
	}
	loopOnce(t, base)
	runtime.GC()
	for i, bev := range bevs {
		c, _ := lookupConn(bev)
		if c.reading == readyOn || c.revOn != readyOn || !c.writing {
			t.Fatalf("bev %d: reading %v (by readiness %v) writing %v; want a receive armed and a send in flight", i, c.reading, c.revOn, c.writing)
		}
		bev.Close()
		runtime.GC()
	}
	for range 3 {
		loopOnce(t, base)
		runtime.GC()
	}
	if ringOf(base) != nil {
		t.Fatal("ring still registered after its last bufferevent closed")
	}
	if teardownErr != nil {
		t.Fatalf("ring teardown: %v", teardownErr)
	}

	// Every peer reads what was sent (bytes of its own value only) and then EOF.
	buf := make([]byte, 64<<10)
	for i, fd := range peers {
		unix.SetNonblock(fd, false)
		unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 5})
		for {
			k, err := unix.Read(fd, buf)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				t.Fatalf("peer %d: %v (want EOF)", i, err)
			}
			if k == 0 {
				break
			}
			if bytes.Count(buf[:k], []byte{byte(i)}) != k {
				t.Fatalf("peer %d received foreign bytes", i)
			}
		}
		unix.Close(fd)
	}
}

// TestFaultSubmissionQueueFull: with an 8-entry ring, 100 connections each echo a
// message in one turn (200 operations prepared before the flush): the ring flushes its
// queue whenever it fills, and every echo arrives.
func TestFaultSubmissionQueueFull(t *testing.T) {
	testManyConns(t, 8, 0, 100)
}

// TestFaultCompletionQueueOverflow: with an 8-entry ring and a 16-entry completion
// queue, 100 connections get data at once, so more completions arrive than the queue
// holds; the kernel keeps the overflow (IORING_FEAT_NODROP) and Reap delivers it: no
// message is lost.
func TestFaultCompletionQueueOverflow(t *testing.T) {
	testManyConns(t, 8, 16, 100)
}

func testManyConns(t *testing.T, entries, cq uint32, n int) {
	checkFDs(t)
	oldE, oldC := ringEntries, ringCQ
	ringEntries, ringCQ = entries, cq
	defer func() { ringEntries, ringCQ = oldE, oldC }()
	base := newBase(t)
	type pair struct {
		a, b *bufferevent.BufferEvent
	}
	var pairs []pair
	echoed := 0
	for i := 0; i < n; i++ {
		a, b, err := asyncPair(base, 0, false)
		if err != nil {
			t.Fatal(err)
		}
		// b echoes; a counts the echo.
		b.SetCallbacks(func(bev *bufferevent.BufferEvent) { bev.WriteBuffer(bev.Input()) }, nil, nil)
		a.SetCallbacks(func(bev *bufferevent.BufferEvent) {
			if bev.Input().Len() == 8 {
				echoed++
				if echoed == n {
					for _, p := range pairs {
						p.a.Close()
						p.b.Close()
					}
				}
			}
		}, nil, nil)
		a.Enable(bufferevent.Read)
		b.Enable(bufferevent.Read)
		pairs = append(pairs, pair{a, b})
	}
	loopOnce(t, base) // every receive in flight
	for _, p := range pairs {
		p.a.WriteString("ping1234")
	}
	dispatch(t, base, 10*time.Second)
	if echoed != n {
		t.Fatalf("%d echoes of %d", echoed, n)
	}
}

// TestRateLimitSizesOperations: with a read limit of 1000 bytes per 100ms tick, a
// receive is never prepared for more than the bucket holds, so no read callback sees
// more than one tick's worth (libevent charges the request up front and refunds; see
// the package doc), and reading is suspended until the refill; by readiness, a read is
// capped the same way.
func TestRateLimitSizesOperations(t *testing.T) {
	forEachMode(t, testRateLimitSizesOperations)
}

func testRateLimitSizesOperations(t *testing.T) {
	checkFDs(t)
	base := newBase(t)
	a, b, err := asyncPair(base, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ratelimit.NewConfig(1000, 1000, 1<<20, 1<<20, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SetRateLimit(cfg); err != nil {
		t.Fatal(err)
	}
	total, reads, maxRead := 0, 0, 0
	b.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		n := bev.Input().Len()
		maxRead = max(maxRead, n)
		total += n
		reads++
		bev.Input().Drain(n)
		if total >= 3000 {
			a.Close()
			b.Close()
		}
	}, nil, nil)
	b.Enable(bufferevent.Read)
	a.Write(make([]byte, 3000))
	dispatch(t, base, 10*time.Second)
	if total != 3000 || maxRead > 1000 || reads < 3 {
		t.Fatalf("read %d bytes in %d callbacks, largest %d; want 3000 in >= 3, none above 1000", total, reads, maxRead)
	}
}

// TestUnavailable: where io_uring is unavailable every constructor fails with an error
// matching errors.ErrUnsupported, and nothing is leaked.
func TestUnavailable(t *testing.T) {
	checkFDs(t)
	testUnsupported = syscall.ENOSYS
	defer func() { testUnsupported = nil }()
	base := newBase(t)
	if err := Available(); !errors.Is(err, errors.ErrUnsupported) || !errors.Is(err, ErrUnsupported) || !errors.Is(err, syscall.ENOSYS) {
		t.Fatalf("Available() = %v", err)
	}
	if _, err := New(base, -1, 0); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("New = %v", err)
	}
	if _, err := bufferevent.Open(base, TypeName, 0); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Open = %v", err)
	}
	if _, err := Listen(base, "tcp", "127.0.0.1:0", nil, ListenerOptions{}); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Listen = %v", err)
	}
	if ringOf(base) != nil {
		t.Fatal("a ring was created")
	}
}
