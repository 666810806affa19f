package dialertest

import (
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
)

// Backend describes a connect-capable bufferevent type to the scenarios. A plain value,
// safe for concurrent use; the scenarios call its functions on their test goroutine,
// which runs the loop.
type Backend struct {
	// New creates a bufferevent without a socket on base (socket.New(base, -1, opts),
	// async.New(base, -1, opts)).
	New func(base *eventbase.Base, opts bufferevent.Options) (*bufferevent.BufferEvent, error)
	// Connect starts a connect of bev to addr (socket.Connect, async.Connect).
	Connect func(bev *bufferevent.BufferEvent, addr net.Addr) error
	// NewFD, if not nil, creates a bufferevent on an existing connected socket
	// (socket.New(base, fd, opts)); FinishedThenWrite needs it.
	NewFD func(base *eventbase.Base, fd int, opts bufferevent.Options) (*bufferevent.BufferEvent, error)
	// Setup, if not nil, runs first in every subtest, before the scenario creates
	// anything: a descriptor-leak check registered with t.Cleanup, say.
	Setup func(t *testing.T)
}

// OptionName names a set of options for subtest names: "plain", "defer", "lock",
// "lock_defer", "unlocked_cbs" or "opts". Safe for concurrent use.
func OptionName(o bufferevent.Options) string {
	switch o {
	case 0:
		return "plain"
	case bufferevent.DeferCallbacks:
		return "defer"
	case bufferevent.ThreadSafe:
		return "lock"
	case bufferevent.ThreadSafe | bufferevent.DeferCallbacks:
		return "lock_defer"
	case bufferevent.ThreadSafe | bufferevent.DeferCallbacks | bufferevent.UnlockCallbacks:
		return "unlocked_cbs"
	}
	return "opts"
}

// ConnectRefused checks a connect to a loopback port that is bound but not listening,
// with no options, DeferCallbacks and ThreadSafe (each with CloseOnFree): Connect
// returns nil and runs no callback inside the call; dispatching then delivers exactly
// one event callback, Error alone (no direction bit) with a dial *net.OpError wrapping
// ECONNREFUSED, and no read or write callback.
//
// Mirrors libevent test/regress_bufferevent.c "bufferevent_connect_fail",
// "bufferevent_connect_fail_eventcb" and "bufferevent_connect_fail_eventcb_defer".
//
// Safe for concurrent use (each call has its own bases and port).
func ConnectRefused(t *testing.T, b Backend) {
	for _, opts := range []bufferevent.Options{0, bufferevent.DeferCallbacks, bufferevent.ThreadSafe} {
		t.Run(OptionName(opts), func(t *testing.T) {
			if b.Setup != nil {
				b.Setup(t)
			}
			base := NewBase(t)
			addr := ClosedPort(t)
			bev, err := b.New(base, opts|bufferevent.CloseOnFree)
			if err != nil {
				t.Fatal(err)
			}
			defer bev.Close()
			events, reads := 0, 0
			var gotWhat bufferevent.Events
			var gotErr error
			bev.SetCallbacks(func(*bufferevent.BufferEvent) { reads++ }, func(*bufferevent.BufferEvent) { reads++ },
				func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
					events++
					gotWhat, gotErr = what, err
				})
			bev.Enable(bufferevent.ReadWrite)
			if err := b.Connect(bev, addr); err != nil {
				t.Fatalf("Connect = %v; want nil (failures are asynchronous)", err)
			}
			if events != 0 || reads != 0 {
				t.Fatal("a callback ran inside Connect")
			}
			Dispatch(t, base, 5*time.Second)
			if events != 1 || reads != 0 {
				t.Fatalf("event callbacks %d, read/write callbacks %d; want 1, 0", events, reads)
			}
			if gotWhat != bufferevent.Error {
				t.Fatalf("what = %v; want Error alone", gotWhat)
			}
			var op *net.OpError
			if !Refused(gotErr) || !errors.As(gotErr, &op) || op.Op != "dial" {
				t.Fatalf("err = %v; want a dial *net.OpError wrapping ECONNREFUSED", gotErr)
			}
		})
	}
}

// NewBase returns a new event base closed at the end of the test. Safe for concurrent
// use.
func NewBase(t testing.TB) *eventbase.Base {
	t.Helper()
	b, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// Dispatch runs b's loop until it has nothing left to do, with a watchdog that breaks it
// and fails the test after limit, so a broken test fails instead of hanging. The
// watchdog lives outside the base, so it does not keep the loop alive. Loop-confined:
// call it where you would call b.Dispatch, from the one goroutine that runs b's loop (it
// blocks until the loop returns); the watchdog's LoopBreak is the only call made from
// another goroutine.
func Dispatch(t testing.TB, b *eventbase.Base, limit time.Duration) {
	t.Helper()
	var fired atomic.Bool
	wd := time.AfterFunc(limit, func() {
		fired.Store(true)
		b.LoopBreak()
	})
	err := b.Dispatch()
	wd.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if fired.Load() {
		t.Fatalf("loop still running after %v", limit)
	}
}
