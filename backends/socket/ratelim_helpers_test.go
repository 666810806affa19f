//go:build linux

package socket

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
	"github.com/bufev/bufev/ratelimit"
	"golang.org/x/sys/unix"
)

// Helpers shared by the rate-limit tests (ratelim_*_test.go).

// rlPair returns two socket bufferevents on base connected by an AF_UNIX stream pair, both
// with CloseOnFree|extra, closed at the end of the test.
func rlPair(t testing.TB, base *eventbase.Base, extra bufferevent.Options) (a, b *bufferevent.BufferEvent) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, err = New(base, fds[0], bufferevent.CloseOnFree|extra)
	if err != nil {
		t.Fatal(err)
	}
	b, err = New(base, fds[1], bufferevent.CloseOnFree|extra)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		closeQuiet(a)
		closeQuiet(b)
	})
	return a, b
}

// closeQuiet closes bev, ignoring ErrClosed (the test may have closed it already).
func closeQuiet(bev *bufferevent.BufferEvent) {
	if err := bev.Close(); err != nil && !errors.Is(err, bufferevent.ErrClosed) {
		panic(err)
	}
}

// rlCfg builds a config or fails the test.
func rlCfg(t testing.TB, rrate, rburst, wrate, wburst int64, tick time.Duration) *ratelimit.Config {
	t.Helper()
	cfg, err := ratelimit.NewConfig(rrate, rburst, wrate, wburst, tick)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// sink makes bev read and discard everything, counting the bytes.
func sink(t testing.TB, bev *bufferevent.BufferEvent) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	buf := make([]byte, 64<<10)
	if err := bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		for {
			k, _ := bev.Read(buf)
			if k == 0 {
				return
			}
			n.Add(int64(k))
		}
	}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := bev.Enable(bufferevent.Read); err != nil {
		t.Fatal(err)
	}
	return &n
}

// runFor runs the loop for d (it must be a loop that would otherwise keep running or go
// idle) and fails the test if it does not return in time.
func runFor(t testing.TB, base *eventbase.Base, d time.Duration) {
	t.Helper()
	if err := base.LoopExit(d); err != nil {
		t.Fatal(err)
	}
	var fired atomic.Bool
	wd := time.AfterFunc(d+10*time.Second, func() {
		fired.Store(true)
		base.LoopBreak()
	})
	err := base.Loop(eventbase.LoopNoExitOnEmpty)
	wd.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if fired.Load() {
		t.Fatalf("loop still running %v after its exit time", 10*time.Second)
	}
}

// runSettled runs the loop until cond, the bytes that must arrive, holds (10 s at most),
// then for d more, in which bytes that must not come would show; the caller's check reports
// either failure. A fixed window alone expected the first within d, which a loaded machine
// that holds the loop back for longer breaks.
func runSettled(t testing.TB, base *eventbase.Base, d time.Duration, cond func() bool) {
	t.Helper()
	runUntil(t, base, 10*time.Second, cond)
	runFor(t, base, d)
}

// runUntil runs the loop until cond holds (checked every 5 ms on the loop) or limit passes;
// it reports whether cond held.
func runUntil(t testing.TB, base *eventbase.Base, limit time.Duration, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(limit)
	ok := false
	var ev *eventbase.Event
	ev, err := base.NewTimer(func() {
		if cond() {
			ok = true
			base.LoopBreak()
			return
		}
		if time.Now().After(deadline) {
			base.LoopBreak()
			return
		}
		_ = ev.AddTimeout(5 * time.Millisecond)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Free()
	if err := ev.AddTimeout(0); err != nil {
		t.Fatal(err)
	}
	if err := base.Loop(eventbase.LoopNoExitOnEmpty); err != nil {
		t.Fatal(err)
	}
	return ok
}

// fill appends n bytes to bev's output.
func fill(t testing.TB, bev *bufferevent.BufferEvent, n int) {
	t.Helper()
	if _, err := bev.Write(make([]byte, n)); err != nil {
		t.Fatal(err)
	}
}
