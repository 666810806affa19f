//go:build linux

package async

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/bevtest"
	"github.com/bufev/bufev/eventbase"
	"github.com/bufev/bufev/ratelimit"
	"golang.org/x/sys/unix"
)

// setReady turns receiving by readiness on or off for the rings created during the test
// (what ASYNC_NOREADY=1 does for a process).
// With it on, readiness is used whatever GOMAXPROCS is (readyProcs 1).
func setReady(t *testing.T, on bool) {
	t.Helper()
	old, oldProcs := readyOn, readyProcs
	readyOn, readyProcs = on, 1
	t.Cleanup(func() { readyOn, readyProcs = old, oldProcs })
}

// receiveModes are the two receive modes of rings with few connections.
var receiveModes = []struct {
	name  string
	ready bool
}{{"ready", true}, {"ring", false}}

// forEachMode runs fn as a subtest with receiving by readiness on, then off.
func forEachMode(t *testing.T, fn func(t *testing.T)) {
	for _, m := range receiveModes {
		t.Run(m.name, func(t *testing.T) {
			setReady(t, m.ready)
			fn(t)
		})
	}
}

// TestConformanceModes runs the bufferevent conformance suite over socketpairs with the
// ring receiving by readiness and with ring receives (TestConformance runs the default).
func TestConformanceModes(t *testing.T) {
	forEachMode(t, func(t *testing.T) {
		bevtest.Run(t, func(base *eventbase.Base, opts bufferevent.Options) (a, b *bufferevent.BufferEvent, caps bevtest.Caps, err error) {
			a, b, err = asyncPair(base, opts, false)
			if err == nil {
				if c, _ := lookupConn(a); c.rdy != readyOn {
					err = fmt.Errorf("receive by readiness %v, want %v", c.rdy, readyOn)
				}
			}
			return a, b, bevtest.Caps{Break: breakBEV}, err
		})
	})
}

// TestReadyMode: a ring with at most readyMax connections receives by readiness, with
// no ring operation in flight and the poller waiting for the loop; above readyMax its
// connections switch to ring receives and the ring waits; at readyMin or fewer they
// switch back.
func TestReadyMode(t *testing.T) {
	setReady(t, true)
	checkFDs(t)
	base := newBase(t)
	var bevs []*bufferevent.BufferEvent
	var peers []int
	open := func() {
		t.Helper()
		fds := socketPair(t)
		bev, err := New(base, fds[0], bufferevent.CloseOnFree)
		if err != nil {
			t.Fatal(err)
		}
		bev.Enable(bufferevent.Read)
		bevs = append(bevs, bev)
		peers = append(peers, fds[1])
	}
	closeLast := func() {
		n := len(bevs) - 1
		bevs[n].Close()
		unix.Close(peers[n])
		bevs, peers = bevs[:n], peers[:n]
	}
	defer func() {
		for len(bevs) > 0 {
			closeLast()
		}
	}()
	check := func(wantReady bool) {
		t.Helper()
		loopOnce(t, base)
		lr := ringOf(base)
		if lr.ready != wantReady {
			t.Fatalf("%d connections: ring ready %v, want %v", len(bevs), lr.ready, wantReady)
		}
		for i, bev := range bevs {
			c, _ := lookupConn(bev)
			if c.rdy != wantReady || c.revOn != wantReady || c.reading == wantReady {
				t.Fatalf("%d connections: conn %d rdy %v revOn %v reading %v, want ready %v",
					len(bevs), i, c.rdy, c.revOn, c.reading, wantReady)
			}
		}
		if wantReady && lr.waiting {
			t.Fatalf("%d connections: the ring waits for the loop in readiness mode", len(bevs))
		}
		if !wantReady && lr.canWait && !lr.waiting {
			t.Fatalf("%d connections: the ring does not wait for the loop with ring receives", len(bevs))
		}
	}
	for range readyMax {
		open()
		check(true)
	}
	open() // readyMax+1
	check(false)
	for len(bevs) > readyMin+1 {
		closeLast()
		check(false)
	}
	closeLast() // readyMin
	check(true)
	open()
	open() // readyMin+2: still readiness
	check(true)
	// Data still flows on every connection, in order.
	for i, fd := range peers {
		unix.Write(fd, []byte(fmt.Sprintf("peer %d", i)))
	}
	got := make([]string, len(bevs))
	for i, bev := range bevs {
		bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
			p, _ := bev.Input().Pullup(-1)
			got[i] += string(p)
			bev.Input().Drain(len(p))
			for j := range got {
				if got[j] != fmt.Sprintf("peer %d", j) {
					return
				}
			}
			base.LoopBreak()
		}, nil, nil)
	}
	dispatch(t, base, 5*time.Second)
}

// TestReadyModeSwitchStreaming mirrors the case the receive-mode switch must survive: an
// established connection echoes a stream in both directions while bursts of new
// connections push its ring above readyMax (ring receives) and closing them brings it
// back (readiness), over and over; every byte comes back once and in order. Variants
// read with a high watermark, disable and re-enable reading across the switches, and
// limit the rate; ThreadSafe bufferevents too.
func TestReadyModeSwitchStreaming(t *testing.T) {
	tests := []struct {
		name      string
		opts      bufferevent.Options
		watermark int
		toggle    bool // disable reading at each switch, enable it at the next turn
		rate      bool
	}{
		{name: "plain"},
		{name: "threadsafe", opts: bufferevent.ThreadSafe},
		{name: "watermark", watermark: 3000},
		{name: "disable-enable", toggle: true},
		{name: "rate-limit", rate: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setReady(t, true)
			checkFDs(t)
			base := newBase(t)
			const total = 2 << 20
			fa, fb, err := tcpPair()
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fb)
			bev, err := New(base, fa, bufferevent.CloseOnFree|tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer bev.Close()
			if tt.watermark > 0 {
				bev.SetWatermark(bufferevent.Read, 0, tt.watermark)
			}
			if tt.rate {
				cfg, err := ratelimit.NewConfig(256<<10, 256<<10, 1<<30, 1<<30, 10*time.Millisecond)
				if err != nil {
					t.Fatal(err)
				}
				if err := bev.SetRateLimit(cfg); err != nil {
					t.Fatal(err)
				}
			}
			var burst []*bufferevent.BufferEvent
			var burstPeers []int
			closeBurst := func() {
				for i, b := range burst {
					b.Close()
					unix.Close(burstPeers[i])
				}
				burst, burstPeers = burst[:0], burstPeers[:0]
			}
			defer closeBurst()
			switches, received, nextSwitch := 0, 0, 64<<10
			var loopErr error
			enable := func() { bev.Enable(bufferevent.Read) }
			bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
				n := bev.Input().Len()
				received += n
				bev.Output().AddBuffer(bev.Input())
				if received < nextSwitch || loopErr != nil {
					return
				}
				nextSwitch += 64 << 10
				switches++
				if len(burst) == 0 {
					for range readyMax {
						fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
						if err != nil {
							loopErr = err
							return
						}
						b, err := New(base, fds[0], bufferevent.CloseOnFree)
						if err != nil {
							unix.Close(fds[0])
							unix.Close(fds[1])
							loopErr = err
							return
						}
						b.Enable(bufferevent.Read)
						unix.Write(fds[1], []byte("x"))
						burst, burstPeers = append(burst, b), append(burstPeers, fds[1])
					}
				} else {
					closeBurst()
				}
				if tt.toggle {
					bev.Disable(bufferevent.Read)
					base.Defer(enable)
				}
			}, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
				if loopErr == nil {
					loopErr = fmt.Errorf("event %v: %v", what, err)
				}
				base.LoopBreak()
			})
			bev.Enable(bufferevent.ReadWrite)

			want := make([]byte, total)
			for i := range want {
				want[i] = byte(i % 251)
			}
			var wg sync.WaitGroup
			var writeErr, readErr error
			var back []byte
			var peerDone atomic.Bool
			wg.Add(2)
			go func() {
				defer wg.Done()
				writeErr = writeAllFD(fb, want)
			}()
			go func() {
				defer wg.Done()
				back, readErr = readFullFD(fb, total)
				peerDone.Store(true)
				base.LoopBreak()
			}()
			deadline := time.Now().Add(20 * time.Second)
			for loopErr == nil && !peerDone.Load() && time.Now().Before(deadline) {
				if err := base.Loop(eventbase.LoopOnce); err != nil {
					t.Fatal(err)
				}
			}
			// A peer stuck on a lost byte gives up after 5 s without data.
			wg.Wait()
			if loopErr != nil {
				t.Fatal(loopErr)
			}
			if writeErr != nil || readErr != nil {
				t.Fatalf("peer: write %v, read %v", writeErr, readErr)
			}
			if !bytes.Equal(back, want) {
				i := 0
				for i < len(back) && back[i] == want[i] {
					i++
				}
				t.Fatalf("echo differs at byte %d of %d (got %d bytes)", i, total, len(back))
			}
			if switches < 4 {
				t.Fatalf("%d mode switches, want at least 4", switches)
			}
		})
	}
}

// writeAllFD writes p to the non-blocking descriptor fd, waiting for room with poll; it
// gives up after 5 s without room.
func writeAllFD(fd int, p []byte) error {
	for len(p) > 0 {
		n, err := unix.Write(fd, p[:min(len(p), 16<<10)])
		if errors.Is(err, unix.EAGAIN) {
			ready, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}, 5000)
			if err != nil && !errors.Is(err, unix.EINTR) {
				return err
			}
			if ready == 0 && err == nil {
				return fmt.Errorf("no room for 5 s with %d bytes left", len(p))
			}
			continue
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// readFullFD reads n bytes from the non-blocking descriptor fd, waiting with poll; it
// gives up after 5 s without data.
func readFullFD(fd, n int) ([]byte, error) {
	out := make([]byte, 0, n)
	buf := make([]byte, 64<<10)
	for len(out) < n {
		k, err := unix.Read(fd, buf[:min(len(buf), n-len(out))])
		if errors.Is(err, unix.EAGAIN) {
			ready, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 5000)
			if err != nil && !errors.Is(err, unix.EINTR) {
				return out, err
			}
			if ready == 0 && err == nil {
				return out, fmt.Errorf("no data for 5 s after %d bytes", len(out))
			}
			continue
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return out, err
		}
		if k == 0 {
			return out, io.ErrUnexpectedEOF
		}
		out = append(out, buf[:k]...)
	}
	return out, nil
}

// TestReadyModeSwitchOrder: switching a connection from ring receives to readiness
// cancels its receive and arms the readiness event only after the receive's final
// completion, so bytes the receive took before the cancellation come first; switching
// back stops the event before the ring receive starts.
func TestReadyModeSwitchOrder(t *testing.T) {
	setReady(t, true)
	checkFDs(t)
	base := newBase(t)
	var bevs []*bufferevent.BufferEvent
	var peers []int
	for range readyMax + 1 {
		fds := socketPair(t)
		bev, err := New(base, fds[0], bufferevent.CloseOnFree)
		if err != nil {
			t.Fatal(err)
		}
		bev.Enable(bufferevent.Read)
		bevs, peers = append(bevs, bev), append(peers, fds[1])
	}
	defer func() {
		for i, bev := range bevs {
			bev.Close()
			unix.Close(peers[i])
		}
	}()
	var got []byte
	bevs[0].SetCallbacks(func(bev *bufferevent.BufferEvent) {
		p, _ := bev.Input().Pullup(-1)
		got = append(got, p...)
		bev.Input().Drain(len(p))
		if len(got) >= len("first second third") {
			base.LoopBreak()
		}
	}, nil, nil)
	loopOnce(t, base)
	c, _ := lookupConn(bevs[0])
	if c.rdy || !c.reading {
		t.Fatalf("above readyMax: rdy %v reading %v, want a ring receive", c.rdy, c.reading)
	}
	unix.Write(peers[0], []byte("first "))
	time.Sleep(10 * time.Millisecond)
	for len(bevs) > readyMin {
		n := len(bevs) - 1
		bevs[n].Close()
		unix.Close(peers[n])
		bevs, peers = bevs[:n], peers[:n]
	}
	if !c.rdy || !c.reading || c.revOn {
		t.Fatalf("switched to readiness: rdy %v reading %v revOn %v; want the ring receive still in flight and no event yet", c.rdy, c.reading, c.revOn)
	}
	unix.Write(peers[0], []byte("second "))
	for i := 0; i < 100 && (c.reading || len(got) < len("first second ")); i++ {
		loopOnce(t, base)
		time.Sleep(time.Millisecond)
	}
	if c.reading || !c.revOn {
		t.Fatalf("after the final completion: reading %v revOn %v", c.reading, c.revOn)
	}
	// Back to ring receives: the event stops before the receive starts.
	for range readyMax + 1 - len(bevs) {
		fds := socketPair(t)
		bev, err := New(base, fds[0], bufferevent.CloseOnFree)
		if err != nil {
			t.Fatal(err)
		}
		bev.Enable(bufferevent.Read)
		bevs, peers = append(bevs, bev), append(peers, fds[1])
	}
	if c.rdy || c.revOn || !c.reading {
		t.Fatalf("switched to ring receives: rdy %v revOn %v reading %v", c.rdy, c.revOn, c.reading)
	}
	unix.Write(peers[0], []byte("third"))
	dispatch(t, base, 5*time.Second)
	if string(got) != "first second third" {
		t.Fatalf("got %q", got)
	}
}

// TestReadyModeOneP: with GOMAXPROCS below readyProcs a ring keeps ring receives (the
// poller's yield with one P would cost a locked loop two thread switches per wait), and
// switches to readiness at the next connection count change once GOMAXPROCS allows.
func TestReadyModeOneP(t *testing.T) {
	setReady(t, true)
	readyProcs = 2
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	checkFDs(t)
	base := newBase(t)
	a, b := newPair(t, base, false)
	a.Enable(bufferevent.Read)
	b.Enable(bufferevent.Read)
	loopOnce(t, base)
	lr := ringOf(base)
	if c, _ := lookupConn(a); lr.ready || c.rdy || !c.reading {
		t.Fatalf("GOMAXPROCS 1: ring ready %v, conn rdy %v reading %v; want ring receives", lr.ready, c.rdy, c.reading)
	}
	runtime.GOMAXPROCS(2)
	open := func() *bufferevent.BufferEvent {
		fds := socketPair(t)
		t.Cleanup(func() { unix.Close(fds[1]) })
		bev, err := New(base, fds[0], bufferevent.CloseOnFree)
		if err != nil {
			t.Fatal(err)
		}
		return bev
	}
	third := open() // three: the hysteresis keeps ring receives
	third.Close()   // two
	loopOnce(t, base)
	if c, _ := lookupConn(a); !lr.ready || !c.rdy {
		t.Fatalf("GOMAXPROCS 2, 2 connections: ring ready %v, conn rdy %v; want readiness", lr.ready, c.rdy)
	}
	// And back: GOMAXPROCS 1 again, at the next change of the count.
	runtime.GOMAXPROCS(1)
	third = open()
	defer third.Close()
	loopOnce(t, base)
	if c, _ := lookupConn(a); lr.ready || c.rdy {
		t.Fatalf("GOMAXPROCS 1 again: ring ready %v, conn rdy %v; want ring receives", lr.ready, c.rdy)
	}
	// Data flows after the switches.
	var got []byte
	b.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		p, _ := bev.Input().Pullup(-1)
		got = append(got, p...)
		bev.Input().Drain(len(p))
		base.LoopBreak()
	}, nil, nil)
	a.WriteString("after")
	dispatch(t, base, 5*time.Second)
	if string(got) != "after" {
		t.Fatalf("got %q", got)
	}
}

// TestSetFDModes: SetFD moves a reading bufferevent to another socket, in both receive
// modes: the readiness event (or the ring receive) on the old socket stops, what its
// peer writes afterwards is not read, and the new socket's data arrives.
func TestSetFDModes(t *testing.T) {
	forEachMode(t, func(t *testing.T) {
		checkFDs(t)
		base := newBase(t)
		old, next := socketPair(t), socketPair(t)
		defer unix.Close(old[0])
		defer unix.Close(old[1])
		defer unix.Close(next[1])
		bev, err := New(base, old[0], 0)
		if err != nil {
			t.Fatal(err)
		}
		defer bev.Close()
		var got []byte
		want := "one"
		bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
			p, _ := bev.Input().Pullup(-1)
			got = append(got, p...)
			bev.Input().Drain(len(p))
			if len(got) >= len(want) {
				base.LoopBreak()
			}
		}, nil, nil)
		bev.Enable(bufferevent.Read)
		unix.Write(old[1], []byte("one"))
		dispatch(t, base, 5*time.Second)
		if err := bev.SetFD(next[0]); err != nil {
			t.Fatal(err)
		}
		defer unix.Close(next[0])
		loopOnce(t, base)
		unix.Write(old[1], []byte("stale"))
		unix.Write(next[1], []byte("two"))
		want = "onetwo"
		dispatch(t, base, 5*time.Second)
		loopOnce(t, base)
		if string(got) != "onetwo" {
			t.Fatalf("got %q, want %q", got, "onetwo")
		}
		if c, _ := lookupConn(bev); c.rdy != readyOn || c.fd != next[0] || readyOn && c.revFD != next[0] {
			t.Fatalf("rdy %v fd %d revFD %d, want readiness %v on %d", c.rdy, c.fd, c.revFD, readyOn, next[0])
		}
	})
}
