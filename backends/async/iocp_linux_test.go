//go:build linux

package async

import (
	"bytes"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
	"golang.org/x/sys/unix"
)

// portOwner records the completions delivered to it.
type portOwner struct {
	got []int32
}

func (o *portOwner) complete(kind int, res int32, _ uint32) { o.got = append(o.got, res) }

// Mirrors libevent test/regress_iocp.c "iocp/port": completions posted for several
// overlapped objects reach the right object, and shutting the port down with work
// outstanding completes cleanly. Here: eight owners each get two no-op completions
// through the base's ring and its event, then the ring is torn down (drained) with a
// receive still in flight.
func TestRingPort(t *testing.T) {
	checkFDs(t)
	base := newBase(t)
	lr, err := acquireRing(base)
	if err != nil {
		t.Fatal(err)
	}
	owners := make([]*portOwner, 8)
	ids := make([]uint64, 8)
	for i := range owners {
		owners[i] = &portOwner{}
		ids[i] = lr.newID(owners[i])
	}
	for round := 0; round < 2; round++ {
		for i := range owners {
			if err := lr.ring.PrepNop(ids[i]<<kindBits | kindRead); err != nil {
				t.Fatal(err)
			}
		}
		lr.schedule()
		dispatch(t, base, 5*time.Second)
	}
	for i, o := range owners {
		if len(o.got) != 2 || o.got[0] != 0 || o.got[1] != 0 {
			t.Errorf("owner %d got %v; want two completions with res 0", i, o.got)
		}
	}
	// Shut down with a receive outstanding: the teardown cancels it and waits.
	fds := socketPair(t)
	defer unix.Close(fds[1])
	buf := make([]byte, 16)
	if err := lr.ring.PrepRecv(ids[0]<<kindBits|kindRead, fds[0], buf, 0); err != nil {
		t.Fatal(err)
	}
	lr.submit()
	lr.release()
	unix.Close(fds[0])
	if !lr.closed || ringOf(base) != nil {
		t.Fatal("ring not torn down after its last user")
	}
	if n := len(owners[0].got); n != 3 || owners[0].got[2] != -int32(unix.ECANCELED) {
		t.Fatalf("owner 0 got %v; want the receive cancelled (-ECANCELED) by the teardown", owners[0].got)
	}
}

// Mirrors libevent test/regress_iocp.c "iocp/bufferevent_async": "Hello world" goes from
// one async bufferevent to another.
func TestBufferEventAsync(t *testing.T) {
	checkFDs(t)
	base := newBase(t)
	fds := socketPair(t)
	a, err := New(base, fds[0], bufferevent.CloseOnFree)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(base, fds[1], bufferevent.CloseOnFree)
	if err != nil {
		a.Close()
		t.Fatal(err)
	}
	var got []byte
	b.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		buf := make([]byte, 64)
		n, _ := bev.Read(buf)
		got = append(got, buf[:n]...)
		if len(got) >= len("Hello world") {
			a.Close()
			b.Close()
		}
	}, nil, nil)
	b.Enable(bufferevent.Read)
	a.WriteString("Hello world")
	dispatch(t, base, 5*time.Second)
	if string(got) != "Hello world" {
		t.Fatalf("got %q", got)
	}
}

// Mirrors libevent test/regress_iocp.c "iocp/evbuffer": a read of 2048 bytes and a
// write of 512 are launched on an overlapped evbuffer pair; the chains stay pinned while
// the operations are in flight and the 512 bytes arrive. Here the receive and the send
// are in flight while the user does everything evbuffer allows to the input and the
// output — the operations that would free, move, realign or overwrite the chains a
// plain freeze leaves exposed (see TestPinningProtectsInFlight) — with garbage collections
// between submission and completion; the bytes arrive intact in both directions.
func TestInFlightBuffers(t *testing.T) {
	setReady(t, false) // ring receives: this tests them
	checkFDs(t)
	base := newBase(t)
	fds := socketPair(t)
	peer := fds[1]
	defer unix.Close(peer)
	// Small socket buffers so that a send stays in flight.
	for _, fd := range fds {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 4096)
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4096)
	}
	bev, err := New(base, fds[0], bufferevent.CloseOnFree)
	if err != nil {
		t.Fatal(err)
	}
	defer bev.Close()
	c, _ := lookupConn(bev)
	in, out := bev.Input(), bev.Output()

	// Receive in flight.
	var got []byte
	bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		p, _ := bev.Input().Pullup(-1)
		got = append(got, p...)
		bev.Input().Drain(len(p))
		if len(got) >= 512 {
			base.LoopBreak()
		}
	}, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		t.Errorf("event %v: %v", what, err)
	})
	if err := bev.Enable(bufferevent.Read); err != nil {
		t.Fatal(err)
	}
	loopOnce(t, base)
	if !c.reading {
		t.Fatal("no receive in flight")
	}
	runtime.GC()
	// Everything the user may do to the input while the kernel owns its pinned space.
	tortureInput(t, in)
	runtime.GC()
	msg := bytes.Repeat([]byte("0123456789abcdef"), 32) // 512 bytes
	if _, err := unix.Write(peer, msg); err != nil {
		t.Fatal(err)
	}
	dispatch(t, base, 5*time.Second)
	if !bytes.Equal(got, msg) {
		t.Fatalf("received %d bytes %q...; want the 512 sent", len(got), got[:min(len(got), 32)])
	}

	// Send in flight: 256 KiB against a peer that does not read.
	want := make([]byte, 256<<10)
	for i := range want {
		want[i] = byte(i*7 + i>>9)
	}
	if _, err := bev.Write(want); err != nil {
		t.Fatal(err)
	}
	loopOnce(t, base)
	if !c.writing {
		t.Fatal("no send in flight")
	}
	if _, wr := out.InFlight(); !wr || out.Len() == 0 {
		t.Fatalf("output: write in flight %v, %d bytes; the bytes in flight belong to the output until sent", wr, out.Len())
	}
	runtime.GC()
	tortureOutput(t, out)
	runtime.GC()
	// What tortureOutput added goes after want.
	want = append(want, []byte("tail-data")...)
	var recvd []byte
	rbuf := make([]byte, 64<<10)
	unix.SetNonblock(peer, true)
	deadline := time.Now().Add(10 * time.Second)
	for len(recvd) < len(want) && time.Now().Before(deadline) {
		n, err := unix.Read(peer, rbuf)
		if n > 0 {
			recvd = append(recvd, rbuf[:n]...)
		} else if err != nil && !errors.Is(err, unix.EAGAIN) {
			t.Fatal(err)
		}
		loopOnce(t, base)
		if n <= 0 {
			time.Sleep(time.Millisecond)
		}
	}
	if !bytes.Equal(recvd, want) {
		i := 0
		for i < len(recvd) && i < len(want) && recvd[i] == want[i] {
			i++
		}
		t.Fatalf("peer got %d bytes, first difference at %d; want %d", len(recvd), i, len(want))
	}
}

// tortureInput does to an input buffer every operation evbuffer allows at its front
// (and Reset, which ignores freezes) while a receive is in flight.
func tortureInput(t *testing.T, in *evbuffer.Buffer) {
	t.Helper()
	if err := in.Prepend([]byte("prepended")); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Pullup(-1); err != nil {
		t.Fatal(err)
	}
	other := evbuffer.New()
	if err := other.AddBuffer(in); err != nil {
		t.Fatal(err)
	}
	if err := in.PrependBuffer(other); err != nil {
		t.Fatal(err)
	}
	if _, err := in.RemoveBuffer(other, 1<<20); err != nil {
		t.Fatal(err)
	}
	if err := in.Drain(1 << 20); err != nil {
		t.Fatal(err)
	}
	in.Reset()
	other.Reset()
}

// tortureOutput adds to the output in every way that realigns, resizes or frees chains,
// while a send is in flight; it appends "tail-data". A Pullup that would move the bytes
// in flight is refused (evbuffer.ErrPinned), as in libevent.
func tortureOutput(t *testing.T, out *evbuffer.Buffer) {
	t.Helper()
	if _, err := out.Pullup(-1); err != nil && !errors.Is(err, evbuffer.ErrPinned) {
		t.Fatalf("Pullup of the bytes in flight = %v; want success without a move or ErrPinned", err)
	}
	if err := out.Expand(1 << 16); err != nil {
		t.Fatal(err)
	}
	vec := make([][]byte, 1)
	if _, err := out.Reserve(100, vec); err != nil {
		t.Fatal(err)
	}
	if _, err := out.AddIovec([][]byte{[]byte("tail-"), []byte("data")}); err != nil {
		t.Fatal(err)
	}
	if _, err := out.Pullup(-1); !errors.Is(err, evbuffer.ErrPinned) {
		t.Fatalf("second Pullup = %v; want ErrPinned", err)
	}
}
