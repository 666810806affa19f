//go:build linux

package async

import (
	"bytes"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/bevtest"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
	"golang.org/x/sys/unix"
)

// setDirect turns direct sends on or off for the test.
func setDirect(t *testing.T, on bool) {
	old := directSend
	directSend = on
	t.Cleanup(func() { directSend = old })
}

// TestConformanceNoDirect runs the suite with every send as a send operation, the path
// of turns with several connections to send for (and ASYNC_NODIRECT=1).
func TestConformanceNoDirect(t *testing.T) {
	setDirect(t, false)
	bevtest.Run(t, func(base *eventbase.Base, opts bufferevent.Options) (a, b *bufferevent.BufferEvent, caps bevtest.Caps, err error) {
		a, b, err = asyncPair(base, opts, false)
		return a, b, bevtest.Caps{Break: breakBEV}, err
	})
}

// TestDirectSend checks the three outcomes of a turn's single send written at once: all
// of it sent without a send operation; a socket that takes only part of it, the rest
// going out as a send operation, in order; and a peer gone, reported as a write error.
func TestDirectSend(t *testing.T) {
	setDirect(t, true)
	// A multishot receive stays armed: a turn's only submission would be the direct
	// send's fallback (a single-shot receive, under ASYNC_NOMULTISHOT=1, re-arms with
	// one of its own).
	setMultishot(t, true)
	t.Run("whole", func(t *testing.T) {
		checkFDs(t)
		base := newBase(t)
		a, b := newPair(t, base, true)
		var got bytes.Buffer
		b.SetCallbacks(func(bev *bufferevent.BufferEvent) { got.ReadFrom(bev.Input()) }, nil, nil)
		if err := b.Enable(bufferevent.Read); err != nil {
			t.Fatal(err)
		}
		loopOnce(t, base)
		lr := ringOf(base)
		wrote := 0
		a.SetCallbacks(nil, func(*bufferevent.BufferEvent) { wrote++ }, nil)
		for range 3 {
			submits, directs := lr.submits, lr.directSends
			if _, err := a.Write([]byte(testStr)); err != nil {
				t.Fatal(err)
			}
			loopOnce(t, base)
			if lr.directSends != directs+1 || lr.submits != submits || a.Output().Len() != 0 {
				t.Fatalf("one send in a turn: %d direct writes, %d submissions, %d bytes left; want 1, 0, 0",
					lr.directSends-directs, lr.submits-submits, a.Output().Len())
			}
		}
		for deadline := time.Now().Add(5 * time.Second); got.Len() < 3*len(testStr) && time.Now().Before(deadline); {
			loopOnce(t, base)
		}
		if got.String() != testStr+testStr+testStr {
			t.Fatalf("received %q", got.String())
		}
		if wrote != 3 {
			t.Errorf("write callback ran %d times, want 3", wrote)
		}
	})
	t.Run("socket full", func(t *testing.T) {
		checkFDs(t)
		base := newBase(t)
		a, b := newPair(t, base, true)
		want := make([]byte, 8<<20)
		for i := range want {
			want[i] = byte(i * 13 / 7)
		}
		if _, err := a.Write(want); err != nil {
			t.Fatal(err)
		}
		loopOnce(t, base) // the direct write fills the socket; the rest is a send operation
		c, err := lookupConn(a)
		if err != nil {
			t.Fatal(err)
		}
		if left := a.Output().Len(); left == 0 || left == len(want) || !c.writing {
			t.Fatalf("after the first turn: %d of %d bytes left, send in flight %v; want some sent at once and the rest in flight", left, len(want), c.writing)
		}
		var got bytes.Buffer
		b.SetCallbacks(func(bev *bufferevent.BufferEvent) {
			got.ReadFrom(bev.Input())
			if got.Len() == len(want) {
				base.LoopBreak()
			}
		}, nil, nil)
		if err := b.Enable(bufferevent.Read); err != nil {
			t.Fatal(err)
		}
		dispatch(t, base, 10*time.Second)
		if !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("received %d bytes, not the %d sent in order", got.Len(), len(want))
		}
	})
	t.Run("peer gone", func(t *testing.T) {
		checkFDs(t)
		base := newBase(t)
		fds := socketPair(t)
		a, err := New(base, fds[0], bufferevent.CloseOnFree)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		var what bufferevent.Events
		var gotErr error
		a.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, w bufferevent.Events, err error) {
			what, gotErr = w, err
			base.LoopBreak()
		})
		unix.Close(fds[1])
		if _, err := a.Write([]byte(testStr)); err != nil {
			t.Fatal(err)
		}
		dispatch(t, base, 5*time.Second)
		if what != bufferevent.Writing|bufferevent.Error || !errors.Is(gotErr, syscall.EPIPE) {
			t.Fatalf("event %v, error %v; want Writing|Error with EPIPE", what, gotErr)
		}
		if a.Enabled()&bufferevent.Write != 0 {
			t.Error("writing still enabled after the error")
		}
	})
}

// TestDirectSendAllocs checks that a turn writing one connection's output at once
// allocates nothing in steady state.
func TestDirectSendAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	setDirect(t, true)
	base := newBase(t)
	fds := socketPair(t)
	defer unix.Close(fds[1])
	a, err := New(base, fds[0], bufferevent.CloseOnFree)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	msg := []byte(testStr)
	buf := make([]byte, 256)
	lr := (*loopRing)(nil)
	turn := func() {
		if _, err := a.Write(msg); err != nil {
			t.Fatal(err)
		}
		loopOnce(t, base)
		if n, err := unix.Read(fds[1], buf); err != nil || n != len(msg) {
			t.Fatalf("peer read %d, %v", n, err)
		}
	}
	for range 10 {
		turn() // warm up: chains, pools
	}
	lr = ringOf(base)
	directs := lr.directSends
	if allocs := testing.AllocsPerRun(200, turn); allocs != 0 {
		t.Errorf("%.2f allocations per direct send, want 0", allocs)
	}
	if lr.directSends-directs < 200 {
		t.Errorf("%d of the turns wrote at once", lr.directSends-directs)
	}
}

// TestDirectSendFewConns: direct sends are for rings serving few connections. With
// more than directConns, a turn with one connection to send for prepares a send
// operation (batched into the next io_uring_enter) instead of writing at once; the ring
// counts its connections as they come and go; and every async bufferevent's output
// writes its direct sends with raw system calls (evbuffer.FlagNonblockingFD), which its
// non-blocking descriptor allows.
func TestDirectSendFewConns(t *testing.T) {
	setDirect(t, true)
	checkFDs(t)
	base := newBase(t)
	a, b := newPair(t, base, true)
	lr := ringOf(base)
	if lr.conns != 2 {
		t.Fatalf("ring counts %d connections, want 2", lr.conns)
	}
	if a.Output().Flags()&evbuffer.FlagNonblockingFD == 0 {
		t.Fatal("output without FlagNonblockingFD")
	}
	var got bytes.Buffer
	b.SetCallbacks(func(bev *bufferevent.BufferEvent) { got.ReadFrom(bev.Input()) }, nil, nil)
	if err := b.Enable(bufferevent.Read); err != nil {
		t.Fatal(err)
	}
	loopOnce(t, base)
	send := func(want int) {
		t.Helper()
		directs := lr.directSends
		if _, err := a.Write([]byte(testStr)); err != nil {
			t.Fatal(err)
		}
		loopOnce(t, base)
		if lr.directSends-directs != want {
			t.Fatalf("with %d connections: %d direct writes, want %d", lr.conns, lr.directSends-directs, want)
		}
	}
	send(1)
	var more []*bufferevent.BufferEvent
	for len(more) < directConns {
		c, d := newPair(t, base, true)
		more = append(more, c, d)
	}
	if lr.conns != 2+len(more) {
		t.Fatalf("ring counts %d connections, want %d", lr.conns, 2+len(more))
	}
	send(0)
	for _, bev := range more {
		bev.Close()
	}
	loopOnce(t, base)
	if lr.conns != 2 {
		t.Fatalf("ring counts %d connections after closing the others, want 2", lr.conns)
	}
	send(1)
	for deadline := time.Now().Add(5 * time.Second); got.Len() < 3*len(testStr) && time.Now().Before(deadline); {
		loopOnce(t, base)
	}
	if got.String() != testStr+testStr+testStr {
		t.Fatalf("received %q", got.String())
	}
}
