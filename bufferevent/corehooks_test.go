package bufferevent_test

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/backend"
	"github.com/bufev/bufev/eventbase"
)

func newRecorderCfg(base *eventbase.Base, cfg bufferevent.Config) (*bufferevent.BufferEvent, *recorder, error) {
	r := &recorder{}
	cfg.Type = "recorder"
	bev, err := bufferevent.New(base, cfg, func(c backend.Core) (backend.Ops, error) {
		r.c = c
		return r, nil
	})
	return bev, r, err
}

// Core.DisableUser clears the user's enabled bits and stops the backend
// while the backend keeps the lock, so the event callback it then triggers
// sees the direction disabled (libevent's backends call bufferevent_disable
// before reporting EOF or an error).
func TestCoreDisableUser(t *testing.T) {
	for _, opts := range []bufferevent.Options{0, bufferevent.ThreadSafe} {
		base := newBase(t)
		bev, r, err := newRecorder(base, opts)
		must(t, err)
		must(t, bev.Enable(bufferevent.ReadWrite))
		var seen bufferevent.Direction = 0xff
		must(t, bev.SetCallbacks(nil, nil, func(b *bufferevent.BufferEvent, what bufferevent.Events, err error) {
			seen = b.Enabled()
		}))
		r.disables = nil
		r.c.Enter()
		r.c.DisableUser(bufferevent.Read)
		if got := r.c.Enabled(); got != bufferevent.Write {
			t.Errorf("opts %#x: Enabled after DisableUser(Read) = %v; want Write", uint16(opts), got)
		}
		if len(r.disables) != 1 || r.disables[0] != bufferevent.Read {
			t.Errorf("opts %#x: Ops.Disable calls = %v; want [Read]", uint16(opts), r.disables)
		}
		r.c.TriggerEvent(bufferevent.Reading|bufferevent.EOF, nil, 0)
		r.c.DisableUser(0) // no direction: nothing happens
		r.c.Leave()
		if seen != bufferevent.Write {
			t.Errorf("opts %#x: event callback saw Enabled = %v; want Write", uint16(opts), seen)
		}
		if len(r.disables) != 1 {
			t.Errorf("opts %#x: DisableUser(0) called Ops.Disable: %v", uint16(opts), r.disables)
		}
		must(t, bev.Close())
		must(t, base.Loop(eventbase.LoopNonBlock)) // finalise a ThreadSafe one
		if r.closes != 1 {
			t.Fatalf("opts %#x: not finalised", uint16(opts))
		}
		r.disables = nil
		r.c.Lock()
		r.c.DisableUser(bufferevent.Write) // after finalisation: no effect, no panic
		r.c.Unlock()
		if len(r.disables) != 0 {
			t.Errorf("DisableUser after Close called Ops.Disable: %v", r.disables)
		}
	}
}

// With Config.WriteTimer = WriteTimerWhileEnabled the generic write timer
// runs while writing is enabled even with nothing to write (libevent's
// filter: "bufferevent_timeout_filter"); with the default it does not.
func TestWriteTimerPolicy(t *testing.T) {
	for _, c := range []struct {
		policy backend.WriteTimerPolicy
		want   int
	}{
		{backend.WriteTimerWhilePending, 0},
		{backend.WriteTimerWhileEnabled, 1},
	} {
		base := newBase(t)
		bev, r, err := newRecorderCfg(base, bufferevent.Config{WriteTimer: c.policy})
		must(t, err)
		var events []bufferevent.Events
		must(t, bev.SetCallbacks(nil, nil, func(b *bufferevent.BufferEvent, what bufferevent.Events, err error) {
			events = append(events, what)
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("timeout error %v", err)
			}
			if b.Enabled()&bufferevent.Write != 0 {
				t.Error("writing still enabled in the timeout callback")
			}
		}))
		must(t, bev.SetTimeouts(0, 20*time.Millisecond))
		r.c.Enter()
		r.c.ResetWriteTimer() // after a transfer that emptied the output
		r.c.Leave()
		tm, err := base.NewTimer(func() { base.LoopBreak() })
		must(t, err)
		must(t, tm.AddTimeout(150*time.Millisecond))
		must(t, base.Loop(eventbase.LoopNoExitOnEmpty))
		tm.Free()
		if len(events) != c.want {
			t.Errorf("policy %d: %d timeout events (%v); want %d", c.policy, len(events), events, c.want)
		}
		if c.want == 1 && events[0] != bufferevent.Timeout|bufferevent.Writing {
			t.Errorf("event %v; want Timeout|Writing", events[0])
		}
		must(t, bev.Close())
	}
	if _, _, err := newRecorderCfg(newBase(t), bufferevent.Config{WriteTimer: 7}); !errors.Is(err, bufferevent.ErrInvalidOptions) {
		t.Errorf("New with an unknown write timer policy = %v; want ErrInvalidOptions", err)
	}
}

// BackendOps gives a backend its own Ops back from the bufferevent.
func TestBackendOps(t *testing.T) {
	base := newBase(t)
	bev, r, err := newRecorder(base, 0)
	must(t, err)
	if got, ok := bufferevent.BackendOps(bev).(*recorder); !ok || got != r {
		t.Errorf("BackendOps = %v; want the recorder", bufferevent.BackendOps(bev))
	}
	if bufferevent.BackendOps(nil) != nil {
		t.Error("BackendOps(nil) != nil")
	}
	must(t, bev.Close())
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// ClearCallbacksIf clears the callbacks only if nobody set them since the
// generation was read (a filter letting go of its underlying).
func TestClearCallbacksIf(t *testing.T) {
	base := newBase(t)
	bev, r, err := newRecorder(base, bufferevent.ThreadSafe)
	must(t, err)
	defer bev.Close()
	read := func(*bufferevent.BufferEvent) {}
	must(t, bev.SetCallbacks(read, nil, nil))
	r.c.Lock()
	gen := r.c.CallbacksGen()
	r.c.Unlock()
	must(t, bev.SetCallbacks(read, read, nil)) // someone else's
	r.c.Lock()
	if r.c.ClearCallbacksIf(gen) {
		t.Error("ClearCallbacksIf cleared callbacks set after gen")
	}
	gen = r.c.CallbacksGen()
	r.c.Unlock()
	if rd, w, _ := bev.Callbacks(); rd == nil || w == nil {
		t.Fatal("callbacks lost")
	}
	r.c.Lock()
	ok := r.c.ClearCallbacksIf(gen)
	r.c.Unlock()
	if !ok {
		t.Error("ClearCallbacksIf with the current generation did nothing")
	}
	if rd, w, e := bev.Callbacks(); rd != nil || w != nil || e != nil {
		t.Error("callbacks not cleared")
	}
}
