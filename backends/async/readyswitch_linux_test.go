//go:build linux

package async

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/bevtest"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
	"github.com/bufev/bufev/ratelimit"
	"golang.org/x/sys/unix"
)

// oscPeer streams size bytes of a pattern into fd while reading the echo back, and
// reports whether every byte came back once and in order; it closes fd at the end.
func oscPeer(fd, seed, size int) error {
	defer unix.Close(fd)
	want := make([]byte, size)
	for i := range want {
		want[i] = byte((i*7 + seed) % 253)
	}
	var werr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		werr = writeAllFD(fd, want)
	}()
	back, rerr := readFullFD(fd, size)
	<-done
	if werr != nil || rerr != nil {
		return fmt.Errorf("peer %d: write %v, read %v (%d of %d bytes back)", seed, werr, rerr, len(back), size)
	}
	if !bytes.Equal(back, want) {
		i := 0
		for i < len(back) && back[i] == want[i] {
			i++
		}
		return fmt.Errorf("peer %d: echo differs at byte %d of %d", seed, i, size)
	}
	return nil
}

// TestReadyOscillation: one long TCP stream echoes while short connections (each
// echoing its own stream, then closed by its peer) open and close so that the ring's
// connection count oscillates between 1 and 6, crossing readyMax and readyMin over and
// over with data in flight both ways on every connection; every stream must come back
// whole and in order, and the server sees each short connection end with EOF. Variants
// add deferred callbacks, a ThreadSafe long connection whose reading another goroutine
// disables and enables at random, a read high watermark, and a rate limit.
func TestReadyOscillation(t *testing.T) {
	tests := []oscCase{
		{name: "plain"},
		{name: "defer", opts: bufferevent.DeferCallbacks},
		{name: "threadsafe", opts: bufferevent.ThreadSafe, toggle: true},
		{name: "threadsafe-defer", opts: bufferevent.ThreadSafe | bufferevent.DeferCallbacks, toggle: true},
		{name: "watermark", watermark: 1500},
		{name: "rate-limit", rate: true},
		{name: "group", group: true},
		{name: "group-threadsafe", group: true, opts: bufferevent.ThreadSafe, toggle: true},
		{name: "threadsafe-offloop-close", opts: bufferevent.ThreadSafe, toggle: true, offLoopClose: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setReady(t, true)
			checkFDs(t)
			runOscillation(t, tt)
		})
	}
}

// TestReadyOscillationManyBases runs the oscillation on four bases at once, each with
// its own loop goroutine and ring (-race sees what they share: the ring registry, the
// bulk receive pool, the conns registry).
func TestReadyOscillationManyBases(t *testing.T) {
	setReady(t, true)
	checkFDs(t) // around the group: the parallel runs open descriptors at once
	t.Run("group", func(t *testing.T) {
		for i := range 4 {
			tt := oscCase{name: fmt.Sprint("base", i)}
			if i%2 == 1 {
				tt.opts, tt.toggle = bufferevent.ThreadSafe, true
			}
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				runOscillation(t, tt)
			})
		}
	})
}

// oscCase is one variant of the oscillation test.
type oscCase struct {
	name      string
	opts      bufferevent.Options
	toggle    bool // another goroutine disables and enables the long conn's reading
	watermark int
	rate      bool
	group     bool // every connection joins one rate-limit group (suspended for it often)
	// offLoopClose: each ThreadSafe connection is closed by its peer's goroutine once
	// its echo is checked (racing the loop's Close on EOF).
	offLoopClose bool
}

// runOscillation is TestReadyOscillation's body for one variant, on a base of its own.
func runOscillation(t *testing.T, tt oscCase) {
	base := newBase(t)
	rng := rand.New(rand.NewSource(int64(len(tt.name))))
	var rg *bufferevent.RateLimitGroup
	if tt.group {
		cfg, err := ratelimit.NewConfig(256<<10, 256<<10, 256<<10, 256<<10, 5*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if rg, err = bufferevent.NewRateLimitGroup(base, cfg); err != nil {
			t.Fatal(err)
		}
		defer rg.Close()
	}
	var (
		peersLeft atomic.Int32
		peerErrs  = make(chan error, 256)
		live      = map[*bufferevent.BufferEvent]bool{}
		loopErr   error
		wg        sync.WaitGroup
	)
	closedOff := make(chan *bufferevent.BufferEvent, 512) // closed by their peers' goroutines
	startPeer := func(fd, seed, size int, bev *bufferevent.BufferEvent, opts bufferevent.Options) {
		peersLeft.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := oscPeer(fd, seed, size); err != nil {
				peerErrs <- err
			}
			if tt.offLoopClose && opts&bufferevent.ThreadSafe != 0 {
				bev.Close() // racing the loop's Close on EOF; its finalisation runs on the loop
				closedOff <- bev
			}
			peersLeft.Add(-1)
			base.LoopBreak()
		}()
	}
	echo := func(bev *bufferevent.BufferEvent) {
		if err := bev.Output().AddBuffer(bev.Input()); err != nil && loopErr == nil {
			loopErr = err
		}
	}
	onEvent := func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		if what&bufferevent.EOF == 0 && loopErr == nil {
			loopErr = fmt.Errorf("event %v: %v", what, err)
		}
		if live[bev] {
			delete(live, bev)
			bev.Close()
		}
	}
	open := func(fd, peer, seed, size int, opts bufferevent.Options) *bufferevent.BufferEvent {
		bev, err := New(base, fd, bufferevent.CloseOnFree|opts)
		if err != nil {
			unix.Close(fd)
			unix.Close(peer)
			if loopErr == nil {
				loopErr = err
			}
			return nil
		}
		live[bev] = true
		if rg != nil {
			if err := bev.JoinGroup(rg); err != nil && loopErr == nil {
				loopErr = err
			}
		}
		bev.SetCallbacks(echo, nil, onEvent)
		if err := bev.Enable(bufferevent.ReadWrite); err != nil && loopErr == nil {
			loopErr = err
		}
		unix.SetNonblock(peer, true)
		startPeer(peer, seed, size, bev, opts)
		return bev
	}
	defer func() {
		for bev := range live {
			bev.Close()
		}
	}()

	fa, fb, err := tcpPair()
	if err != nil {
		t.Fatal(err)
	}
	long := open(fa, fb, 1, 8<<20, tt.opts)
	if long == nil {
		t.Fatal(loopErr)
	}
	if tt.watermark > 0 {
		long.SetWatermark(bufferevent.Read, 0, tt.watermark)
	}
	if tt.rate {
		cfg, err := ratelimit.NewConfig(512<<10, 512<<10, 1<<30, 1<<30, 5*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if err := long.SetRateLimit(cfg); err != nil {
			t.Fatal(err)
		}
	}
	stopToggle := make(chan struct{})
	if tt.toggle {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewSource(2))
			for {
				select {
				case <-stopToggle:
					long.Enable(bufferevent.Read)
					return
				case <-time.After(time.Duration(r.Intn(300)) * time.Microsecond):
				}
				long.Disable(bufferevent.Read)
				time.Sleep(time.Duration(r.Intn(200)) * time.Microsecond)
				long.Enable(bufferevent.Read)
			}
		}()
	}

	// The count's target walks 1..6..1; short connections open while the live
	// count is below it and close (their peers end) on their own.
	seed, opened, switches := 2, 0, 0
	lastReady := ringOf(base).ready
	const wantShort = 200
	step, target, dir := 0, 1, 1
	tick, err := base.NewEvent(-1, eventbase.Persist, func(int, eventbase.What) {
		for len(closedOff) > 0 {
			delete(live, <-closedOff)
		}
		if lr := ringOf(base); lr != nil && lr.ready != lastReady {
			lastReady = lr.ready
			switches++
		}
		if step++; step%3 == 0 {
			if target += dir; target == 6 || target == 1 {
				dir = -dir
			}
		}
		for opened < wantShort && len(live) < target && loopErr == nil {
			fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				loopErr = err
				return
			}
			opts := tt.opts &^ bufferevent.ThreadSafe
			if opened%2 == 1 {
				opts = tt.opts
			}
			open(fds[0], fds[1], seed, 8<<10+rng.Intn(120<<10), opts)
			seed++
			opened++
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tick.Free()
	tick.AddTimeout(time.Millisecond)

	deadline := time.Now().Add(25 * time.Second)
	for (opened < wantShort || peersLeft.Load() > 0) && loopErr == nil && time.Now().Before(deadline) {
		if err := base.Loop(eventbase.LoopOnce); err != nil {
			t.Fatal(err)
		}
	}
	close(stopToggle)
	tick.Del()
	// Peers stuck on a lost byte give up after 5 s without data.
	for peersLeft.Load() > 0 && time.Now().Before(deadline.Add(6*time.Second)) {
		base.Loop(eventbase.LoopOnce)
	}
	wg.Wait()
	close(peerErrs)
	var errs []error
	for err := range peerErrs {
		errs = append(errs, err)
	}
	if loopErr != nil {
		errs = append(errs, loopErr)
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d switches", switches)
	if opened < wantShort || switches < 6 {
		t.Fatalf("%d short connections, %d receive-mode switches; want %d and at least 6", opened, switches, wantShort)
	}
}

// TestReadyBaseCloseMidSwitch closes the base in the middle of a receive-mode switch:
// to readiness with the ring receives' cancellations prepared (not yet submitted) or
// submitted (their final completions not yet reaped), and to ring receives with the new
// multishot receives prepared; data waits in every socket. Close tears the ring down
// (what is in flight cancelled and drained), closing the bufferevents afterwards works,
// and no descriptor, goroutine or pinned memory is left (checkFDs, goleak; a use after
// free shows under -race and the default GODEBUG=invalidptr=1 as a report or abort).
func TestReadyBaseCloseMidSwitch(t *testing.T) {
	for _, tc := range []struct {
		name   string
		toRing bool // switch readiness -> ring receives (else ring receives -> readiness)
		turn   bool // run one loop turn after the switch (submit the switch's operations)
	}{
		{name: "to-ready-prepared"},
		{name: "to-ready-submitted", turn: true},
		{name: "to-ring-prepared", toRing: true},
		{name: "to-ring-submitted", toRing: true, turn: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setReady(t, true)
			checkFDs(t)
			base, err := eventbase.New(eventbase.Config{})
			if err != nil {
				t.Fatal(err)
			}
			var bevs []*bufferevent.BufferEvent
			var peers []int
			open := func() {
				fds := socketPair(t)
				bev, err := New(base, fds[0], bufferevent.CloseOnFree)
				if err != nil {
					t.Fatal(err)
				}
				bev.Enable(bufferevent.Read)
				bevs, peers = append(bevs, bev), append(peers, fds[1])
			}
			start := readyMax + 1
			if tc.toRing {
				start = readyMin
			}
			for range start {
				open()
			}
			loopOnce(t, base)
			for _, p := range peers {
				unix.Write(p, []byte(testStr))
			}
			lr := ringOf(base)
			if tc.toRing {
				for len(bevs) <= readyMax {
					open()
				}
			} else {
				for i := len(bevs) - 1; i >= readyMin; i-- {
					bevs[i].Close()
					bevs = bevs[:i]
				}
			}
			if lr.ready != !tc.toRing {
				t.Fatalf("ring ready %v after the switch", lr.ready)
			}
			if tc.turn {
				loopOnce(t, base)
			}
			if err := base.Close(); err != nil {
				t.Fatal(err)
			}
			if !lr.closed {
				t.Fatal("ring not torn down by the base's Close")
			}
			for _, bev := range bevs {
				bev.Close()
			}
			for _, p := range peers {
				unix.Close(p)
			}
		})
	}
}

// TestReadyFDReuse: a connection's descriptor is closed and its number reused by a new
// connection while the old one's readiness event (or multishot receive) may still be
// pending: the new connection gets its own data, the old one's stale event or
// completion reaches nobody. Both modes; the descriptor closed by Close (CloseOnFree,
// a close operation) or by the caller right after Close.
func TestReadyFDReuse(t *testing.T) {
	for _, tc := range []struct {
		name     string
		extra    int  // idle connections keeping the ring above readyMax
		callerFD bool // the caller owns and closes the descriptor
	}{
		{name: "ready-closeonfree"},
		{name: "ready-caller", callerFD: true},
		{name: "ring-closeonfree", extra: readyMax},
		{name: "ring-caller", extra: readyMax, callerFD: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setReady(t, true)
			checkFDs(t)
			base := newBase(t)
			for range tc.extra {
				fds := socketPair(t)
				bev, err := New(base, fds[0], bufferevent.CloseOnFree)
				if err != nil {
					t.Fatal(err)
				}
				bev.Enable(bufferevent.Read)
				defer bev.Close()
				defer unix.Close(fds[1])
			}
			opts := bufferevent.CloseOnFree
			if tc.callerFD {
				opts = 0
			}
			var got [2][]byte
			for round := range 20 {
				// Old: data waits in its socket (its event ready, or a completion on
				// the way) when it is closed.
				fds := socketPair(t)
				old, err := New(base, fds[0], opts)
				if err != nil {
					t.Fatal(err)
				}
				old.SetCallbacks(func(bev *bufferevent.BufferEvent) {
					t.Errorf("round %d: read callback of the closed connection", round)
				}, nil, nil)
				old.Enable(bufferevent.Read)
				loopOnce(t, base)
				unix.Write(fds[1], []byte("stale"))
				time.Sleep(time.Millisecond)
				num := fds[0]
				old.Close()
				if tc.callerFD {
					unix.Close(fds[0])
				} else {
					loopOnce(t, base) // the close operation
				}
				unix.Close(fds[1])
				// New: with luck the same number.
				nfds := socketPair(t)
				if nfds[0] != num && nfds[1] != num {
					t.Logf("round %d: number %d not reused (%v)", round, num, nfds)
				}
				a, err := New(base, nfds[0], bufferevent.CloseOnFree)
				if err != nil {
					t.Fatal(err)
				}
				b, err := New(base, nfds[1], bufferevent.CloseOnFree)
				if err != nil {
					t.Fatal(err)
				}
				got[0], got[1] = got[0][:0], got[1][:0]
				for i, bev := range []*bufferevent.BufferEvent{a, b} {
					bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
						p, _ := bev.Input().Pullup(-1)
						got[i] = append(got[i], p...)
						bev.Input().Drain(len(p))
						if len(got[0]) >= 5 && len(got[1]) >= 5 {
							base.LoopBreak()
						}
					}, nil, nil)
					bev.Enable(bufferevent.ReadWrite)
				}
				a.WriteString("to-b!")
				b.WriteString("to-a!")
				dispatch(t, base, 5*time.Second)
				if string(got[1]) != "to-b!" || string(got[0]) != "to-a!" {
					t.Fatalf("round %d: a got %q, b got %q", round, got[0], got[1])
				}
				a.Close()
				b.Close()
				loopOnce(t, base)
			}
		})
	}
}

// TestReadyCloseInCallbackSwitch: a read callback changes the ring's connection count
// across a threshold — closing other connections (ring receives -> readiness) or
// opening new ones (readiness -> ring receives) — and then closes its own bufferevent,
// or keeps reading; the connection that keeps reading gets the rest of its stream in
// order, and nothing runs for the closed ones.
func TestReadyCloseInCallbackSwitch(t *testing.T) {
	for _, tc := range []struct {
		name      string
		start     int  // connections at first
		open      bool // the callback opens connections (else closes the others)
		closeSelf bool
	}{
		{name: "close-others", start: readyMax + 1},
		{name: "close-others-and-self", start: readyMax + 1, closeSelf: true},
		{name: "open", start: readyMin, open: true},
		{name: "open-and-close-self", start: readyMin, open: true, closeSelf: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setReady(t, true)
			checkFDs(t)
			base := newBase(t)
			live := map[*bufferevent.BufferEvent]int{} // -> peer
			defer func() {
				for bev, p := range live {
					bev.Close()
					unix.Close(p)
				}
			}()
			open := func() *bufferevent.BufferEvent {
				fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
				if err != nil {
					t.Error(err)
					return nil
				}
				bev, err := New(base, fds[0], bufferevent.CloseOnFree)
				if err != nil {
					t.Error(err)
					return nil
				}
				bev.Enable(bufferevent.Read)
				live[bev] = fds[1]
				return bev
			}
			var first *bufferevent.BufferEvent
			for i := range tc.start {
				bev := open()
				if i == 0 {
					first = bev
				}
			}
			loopOnce(t, base)
			var got []byte
			switched := false
			first.SetCallbacks(func(bev *bufferevent.BufferEvent) {
				p, _ := bev.Input().Pullup(-1)
				got = append(got, p...)
				bev.Input().Drain(len(p))
				if !switched {
					switched = true
					if tc.open {
						for len(live) <= readyMax {
							open()
						}
					} else {
						for b, p := range live {
							if b != bev && len(live) > readyMin {
								b.Close()
								unix.Close(p)
								delete(live, b)
							}
						}
					}
					if tc.closeSelf {
						unix.Close(live[bev])
						delete(live, bev)
						bev.Close()
						base.LoopBreak()
						return
					}
				}
				if len(got) >= 2000 {
					base.LoopBreak()
				}
			}, nil, nil)
			peer := live[first]
			msg := make([]byte, 2000)
			for i := range msg {
				msg[i] = byte(i % 199)
			}
			unix.Write(peer, msg[:100])
			// The rest follows while the first bytes are read.
			go func() {
				time.Sleep(5 * time.Millisecond)
				unix.Write(peer, msg[100:])
			}()
			dispatch(t, base, 5*time.Second)
			lr := ringOf(base)
			if tc.closeSelf {
				time.Sleep(10 * time.Millisecond) // the writer's bytes reach a closed socket
				for range 3 {
					loopOnce(t, base)
				}
				if got := len(got); got == 0 || got > 2000 {
					t.Fatalf("%d bytes before the close", got)
				}
				return
			}
			if lr.ready == tc.open {
				t.Fatalf("ring ready %v after the callback", lr.ready)
			}
			if !bytes.Equal(got, msg) {
				t.Fatalf("got %d bytes, want the 2000 in order", len(got))
			}
		})
	}
}

// TestConformanceSwitching runs the bufferevent conformance suite (ThreadSafe random
// operations from several goroutines, deferred and unlocked callbacks, watermarks,
// timeouts, EOF, errors, half-closes) over socketpairs while a timer on the base opens
// and closes idle async connections every millisecond, so that the pair's ring switches
// between readiness and ring receives all through each test (2 connections, then 6,
// then 2 again). The timer stops after 300 ticks, so a test that waits for an idle
// loop to return still ends.
func TestConformanceSwitching(t *testing.T) {
	setReady(t, true)
	var switches atomic.Int64
	defer func() { t.Logf("%d switches", switches.Load()) }()
	bevtest.Run(t, func(base *eventbase.Base, opts bufferevent.Options) (a, b *bufferevent.BufferEvent, caps bevtest.Caps, err error) {
		a, b, err = asyncPair(base, opts, false)
		if err != nil {
			return nil, nil, caps, err
		}
		var extra []*bufferevent.BufferEvent
		closeExtra := func() {
			for _, bev := range extra {
				bev.Close()
			}
			extra = extra[:0]
		}
		ticks := 0
		var tick *eventbase.Event
		tick, err = base.NewTimer(func() {
			if ticks++; ticks > 300 {
				closeExtra()
				return
			}
			switches.Add(1)
			if len(extra) > 0 {
				closeExtra()
			} else {
				for range readyMax {
					fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
					if err != nil {
						break
					}
					unix.Close(fds[1])
					bev, err := New(base, fds[0], bufferevent.CloseOnFree)
					if err != nil {
						unix.Close(fds[0])
						break
					}
					extra = append(extra, bev)
				}
			}
			_ = tick.AddTimeout(200 * time.Microsecond)
		})
		if err == nil {
			err = tick.AddTimeout(0)
		}
		if err == nil {
			_, err = base.OnClose(func() {
				tick.Free()
				closeExtra()
			})
		}
		if err != nil {
			a.Close()
			b.Close()
			return nil, nil, caps, err
		}
		return a, b, bevtest.Caps{Break: breakBEV}, nil
	})
}

// TestReadySwitchLockOrder: a receive-mode switch must not take another bufferevent's
// lock while the caller holds one. Closing a ThreadSafe bufferevent runs the backend's
// Close with that bufferevent's lock held; when that Close brings the ring down to
// readyMin connections, the switch used to take the lock of every other connection
// there and then. Another goroutine holding one of those locks (WithLock, which may
// call another bufferevent's methods) and calling the closing bufferevent then waited
// for the loop while the loop waited for it: a deadlock. Here a goroutine keeps calling
// Y's Write inside X's WithLock while the loop closes connections down to X and Y, and
// then Y.
func TestReadySwitchLockOrder(t *testing.T) {
	setReady(t, true)
	checkFDs(t)
	base := newBase(t)
	done := make(chan error, 1)
	go func() {
		done <- func() error {
			for round := range 300 {
				var bevs []*bufferevent.BufferEvent
				var peers []int
				for range readyMax + 1 {
					fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
					if err != nil {
						return err
					}
					bev, err := New(base, fds[0], bufferevent.CloseOnFree|bufferevent.ThreadSafe)
					if err != nil {
						return err
					}
					bev.Enable(bufferevent.Read)
					bevs, peers = append(bevs, bev), append(peers, fds[1])
				}
				if err := base.Loop(eventbase.LoopNonBlock); err != nil {
					return err
				}
				x, y := bevs[0], bevs[1]
				var stop atomic.Bool
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					for !stop.Load() {
						x.WithLock(func(in, out *evbuffer.Buffer) {
							time.Sleep(20 * time.Microsecond) // work under X's lock
							y.Write([]byte{1})
						})
					}
				}()
				// Down to three (X, Y, Z), then Y's Close makes it two: the switch.
				for i := len(bevs) - 1; i >= 3; i-- {
					bevs[i].Close() // handed to the loop (called outside its callbacks)
				}
				y.Close()
				if err := base.Loop(eventbase.LoopNonBlock); err != nil {
					return err
				}
				if lr := ringOf(base); !lr.ready {
					return fmt.Errorf("round %d: ring not switched to readiness", round)
				}
				stop.Store(true)
				wg.Wait()
				x.Close()
				bevs[2].Close()
				for _, p := range peers {
					unix.Close(p)
				}
				if err := base.Loop(eventbase.LoopNonBlock); err != nil {
					return err
				}
			}
			return nil
		}()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("deadlock: the loop closing a bufferevent waits for a lock held by a goroutine waiting for it")
	}
}

// idleConns opens n idle async connections on base (their peers closed at once), to
// move the ring's connection count; close them with the returned function.
func idleConns(t *testing.T, base *eventbase.Base, n int) (closeAll func()) {
	t.Helper()
	var bevs []*bufferevent.BufferEvent
	for range n {
		fds := socketPair(t)
		unix.Close(fds[1])
		bev, err := New(base, fds[0], bufferevent.CloseOnFree)
		if err != nil {
			t.Fatal(err)
		}
		bevs = append(bevs, bev)
	}
	return func() {
		for _, bev := range bevs {
			bev.Close()
		}
		bevs = nil
	}
}

// TestReadySwitchTimeoutEOFConnect: what is pending on a connection when its ring
// switches receive mode survives the switch, both ways: a read timeout keeps counting
// from the last data (a switch neither moves nor loses it), an end of stream that
// arrived while reading was disabled is reported once reading is enabled again (after
// the bytes before it), and a connect in progress completes and the connection then
// receives in the ring's mode.
func TestReadySwitchTimeoutEOFConnect(t *testing.T) {
	for _, toRing := range []bool{true, false} {
		name := "to-ready"
		if toRing {
			name = "to-ring"
		}
		// switchMode moves the ring across the threshold: from readiness (the pair,
		// two connections) to ring receives, or back (closing the idle ones).
		setup := func(t *testing.T, base *eventbase.Base) (switchMode func()) {
			if toRing {
				var closeIdle func()
				t.Cleanup(func() {
					if closeIdle != nil {
						closeIdle()
					}
				})
				return func() { closeIdle = idleConns(t, base, readyMax) }
			}
			closeIdle := idleConns(t, base, readyMax)
			t.Cleanup(closeIdle)
			return closeIdle
		}
		t.Run(name+"/timeout", func(t *testing.T) {
			setReady(t, true)
			checkFDs(t)
			base := newBase(t)
			a, b := newPair(t, base, false)
			switchMode := setup(t, base)
			fired := false
			b.SetCallbacks(func(bev *bufferevent.BufferEvent) { bev.Input().Drain(bev.Input().Len()) }, nil,
				func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
					if what&bufferevent.Timeout != 0 {
						fired = true
						base.LoopBreak()
					}
				})
			b.SetTimeouts(300*time.Millisecond, 0)
			b.Enable(bufferevent.Read)
			a.WriteString("data")
			c, _ := lookupConn(b)
			expiry := func() time.Time {
				t.Helper()
				if c.rtimer == nil {
					t.Fatal("no read timer")
				}
				w, at := c.rtimer.Pending(eventbase.Timeout)
				if w&eventbase.Timeout == 0 {
					t.Fatal("read timeout not pending")
				}
				return at
			}
			for range 20 {
				loopOnce(t, base)
				time.Sleep(time.Millisecond)
			}
			before := expiry()
			switchMode()
			// The switch's own completions (a cancelled receive's end) come in too.
			for range 20 {
				loopOnce(t, base)
				time.Sleep(time.Millisecond)
			}
			if lr := ringOf(base); lr.ready == toRing {
				t.Fatalf("ring ready %v after the switch", lr.ready)
			}
			if after := expiry(); !after.Equal(before) {
				t.Fatalf("the switch moved the read timeout by %v", after.Sub(before))
			}
			dispatch(t, base, 5*time.Second)
			if !fired {
				t.Fatal("no read timeout")
			}
		})
		t.Run(name+"/eof", func(t *testing.T) {
			setReady(t, true)
			checkFDs(t)
			base := newBase(t)
			fds := socketPair(t)
			bev, err := New(base, fds[0], bufferevent.CloseOnFree)
			if err != nil {
				t.Fatal(err)
			}
			defer bev.Close()
			others := idleConns(t, base, 1) // two connections: readiness
			defer others()
			switchMode := setup(t, base)
			var got []byte
			var events []bufferevent.Events
			bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
				p, _ := bev.Input().Pullup(-1)
				got = append(got, p...)
				bev.Input().Drain(len(p))
			}, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
				events = append(events, what)
				base.LoopBreak()
			})
			bev.Enable(bufferevent.Read)
			loopOnce(t, base)
			bev.Disable(bufferevent.Read)
			loopOnce(t, base)
			unix.Write(fds[1], []byte("last words"))
			unix.Close(fds[1])
			time.Sleep(5 * time.Millisecond)
			loopOnce(t, base)
			switchMode()
			loopOnce(t, base)
			if len(events) != 0 || len(got) != 0 {
				t.Fatalf("while disabled: got %q, events %v", got, events)
			}
			bev.Enable(bufferevent.Read)
			dispatch(t, base, 5*time.Second)
			if string(got) != "last words" || len(events) != 1 || events[0] != bufferevent.Reading|bufferevent.EOF {
				t.Fatalf("got %q, events %v; want the bytes, then Reading|EOF once", got, events)
			}
		})
		t.Run(name+"/connect", func(t *testing.T) {
			setReady(t, true)
			checkFDs(t)
			base := newBase(t)
			lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(lfd)
			if err := unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
				t.Fatal(err)
			}
			unix.Listen(lfd, 4)
			sa, _ := unix.Getsockname(lfd)
			addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sa.(*unix.SockaddrInet4).Port}
			others := idleConns(t, base, 1)
			defer others()
			switchMode := setup(t, base)
			bev, err := New(base, -1, bufferevent.CloseOnFree)
			if err != nil {
				t.Fatal(err)
			}
			defer bev.Close()
			var got []byte
			connected := false
			bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
				p, _ := bev.Input().Pullup(-1)
				got = append(got, p...)
				bev.Input().Drain(len(p))
				if len(got) >= 5 {
					base.LoopBreak()
				}
			}, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
				if what&bufferevent.Connected != 0 {
					connected = true
					return
				}
				t.Errorf("event %v: %v", what, err)
				base.LoopBreak()
			})
			bev.Enable(bufferevent.ReadWrite)
			if err := Connect(bev, addr); err != nil {
				t.Fatal(err)
			}
			switchMode() // the connect operation is prepared, not yet submitted
			loopOnce(t, base)
			sfd, _, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(sfd)
			unix.Write(sfd, []byte("hello"))
			dispatch(t, base, 5*time.Second)
			c, _ := lookupConn(bev)
			if !connected || string(got) != "hello" || c.rdy == toRing {
				t.Fatalf("connected %v, got %q, receiving by readiness %v", connected, got, c.rdy)
			}
		})
	}
}
