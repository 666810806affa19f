package bufferevent_test

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/backend"
	"github.com/bufev/bufev/bufferevent/bevtest/pipe"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
	"github.com/bufev/bufev/ratelimit"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// recorder is a test backend that records the core's calls and gives the
// test its Core handle.
type recorder struct {
	c        backend.Core
	enables  []bufferevent.Direction
	disables []bufferevent.Direction
	closes   int
	onClose  func()
}

func init() {
	bufferevent.Register("recorder", func(base *eventbase.Base, opts bufferevent.Options) (*bufferevent.BufferEvent, error) {
		bev, _, err := newRecorder(base, opts)
		return bev, err
	})
}

func newRecorder(base *eventbase.Base, opts bufferevent.Options) (*bufferevent.BufferEvent, *recorder, error) {
	r := &recorder{}
	bev, err := bufferevent.New(base, bufferevent.Config{Type: "recorder", Options: opts}, func(c backend.Core) (backend.Ops, error) {
		r.c = c
		return r, nil
	})
	return bev, r, err
}

func (r *recorder) Enable(d bufferevent.Direction) error {
	r.enables = append(r.enables, d)
	return r.c.AdjustGenericTimeouts()
}
func (r *recorder) Disable(d bufferevent.Direction) error {
	r.disables = append(r.disables, d)
	r.c.StopTimers(d)
	return nil
}
func (r *recorder) Flush(bufferevent.Direction, bufferevent.FlushMode) (bool, error) {
	return false, nil
}
func (r *recorder) AdjustTimeouts() error { return r.c.AdjustGenericTimeouts() }
func (r *recorder) Close() error {
	r.closes++
	if r.onClose != nil {
		r.onClose()
	}
	return nil
}

// deliver appends p to the input as a backend read would, and triggers the
// read callback.
func (r *recorder) deliver(p []byte) {
	r.c.Enter()
	in := r.c.Input()
	in.Unfreeze(false)
	_ = in.Add(p)
	in.Freeze(false)
	r.c.TriggerRead(0)
	r.c.Leave()
}

func TestOptionsValidation(t *testing.T) {
	base := newBase(t)
	for _, o := range []bufferevent.Options{bufferevent.UnlockCallbacks, 0x100, bufferevent.ThreadSafe | bufferevent.UnlockCallbacks} {
		if _, _, err := newRecorder(base, o); !errors.Is(err, bufferevent.ErrInvalidOptions) {
			t.Errorf("options %#x: err = %v; want ErrInvalidOptions", uint16(o), err)
		}
	}
	if _, _, err := newRecorder(base, bufferevent.DeferCallbacks|bufferevent.UnlockCallbacks); err != nil {
		t.Errorf("Defer|Unlock: %v", err)
	}
	boom := errors.New("boom")
	if _, err := bufferevent.New(base, bufferevent.Config{Type: "recorder"}, func(backend.Core) (backend.Ops, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("build error: %v", err)
	}
	if _, err := bufferevent.New(base, bufferevent.Config{Type: "recorder"}, func(backend.Core) (backend.Ops, error) { return nil, nil }); !errors.Is(err, bufferevent.ErrNilBuild) {
		t.Errorf("nil ops: %v", err)
	}
	if _, err := bufferevent.New(base, bufferevent.Config{Type: "recorder"}, nil); !errors.Is(err, bufferevent.ErrNilBuild) {
		t.Errorf("nil build: %v", err)
	}
	if _, err := bufferevent.New(nil, bufferevent.Config{Type: "recorder"}, nil); !errors.Is(err, bufferevent.ErrNilBase) {
		t.Errorf("nil base: %v", err)
	}
}

// Closing inside a callback finalises (Ops.Close) only after the callback
// returned, exactly once.
func TestCloseInsideCallbackFinalisesAfter(t *testing.T) {
	base := newBase(t)
	bev, r, err := newRecorder(base, 0)
	if err != nil {
		t.Fatal(err)
	}
	inCb := false
	r.onClose = func() {
		if inCb {
			t.Error("Ops.Close ran inside the callback")
		}
	}
	bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		inCb = true
		if err := bev.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if r.closes != 0 {
			t.Error("finalised while the callback runs")
		}
		inCb = false
	}, nil, nil)
	bev.Enable(bufferevent.Read)
	r.deliver([]byte("x"))
	if r.closes != 1 {
		t.Errorf("Ops.Close calls = %d; want 1", r.closes)
	}
}

// Mirrors libevent test/regress_bufferevent.c "bufferevent_read_failed":
// reading 8 of 9 bytes leaves one; with the input's front frozen Read fails
// (libevent returns 0).
func TestReadFailed(t *testing.T) {
	base := newBase(t)
	bev, r, _ := newRecorder(base, 0)
	defer bev.Close()
	r.deliver([]byte("test data"))
	buf := make([]byte, 8)
	if n, err := bev.Read(buf); n != 8 || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	bev.Input().Freeze(true)
	if n, err := bev.Read(buf); n != 0 || !errors.Is(err, evbuffer.ErrFrozen) {
		t.Errorf("Read with frozen front = %d, %v; want 0, ErrFrozen", n, err)
	}
	bev.Input().Unfreeze(true)
}

// Suspension reasons are independent of the user's enabled bits, and the
// backend is told only about effective changes (libevent's
// bufferevent_suspend_read_ / unsuspend_read_).
func TestSuspendUnsuspend(t *testing.T) {
	base := newBase(t)
	bev, r, _ := newRecorder(base, 0)
	defer bev.Close()
	bev.Enable(bufferevent.Read)
	r.enables, r.disables = nil, nil
	r.c.Lock()
	r.c.SuspendRead(backend.SuspendLookup)
	r.c.SuspendRead(backend.SuspendBandwidth)
	r.c.UnsuspendRead(backend.SuspendLookup)
	if len(r.disables) != 1 || len(r.enables) != 0 {
		t.Errorf("after two suspends and one unsuspend: disables %v enables %v", r.disables, r.enables)
	}
	r.c.UnsuspendRead(backend.SuspendBandwidth)
	r.c.Unlock()
	if len(r.enables) != 1 || r.enables[0] != bufferevent.Read {
		t.Errorf("enables = %v; want [Read]", r.enables)
	}
	// Enable while suspended only records the intent.
	bev.Disable(bufferevent.Read)
	r.c.Lock()
	r.c.SuspendRead(backend.SuspendFilter)
	r.c.Unlock()
	r.enables = nil
	bev.Enable(bufferevent.Read)
	if len(r.enables) != 0 || bev.Enabled()&bufferevent.Read == 0 {
		t.Errorf("Enable while suspended: backend enables %v, Enabled %v", r.enables, bev.Enabled())
	}
	r.c.Lock()
	r.c.UnsuspendRead(backend.SuspendFilter)
	r.c.Unlock()
	if len(r.enables) != 1 {
		t.Errorf("unsuspend after Enable: enables %v", r.enables)
	}
}

// The default maximum input works like a read high watermark when none is
// set; SetMaxInput(0) removes it.
func TestMaxInput(t *testing.T) {
	base := newBase(t)
	bev, r, _ := newRecorder(base, 0)
	defer bev.Close()
	bev.Enable(bufferevent.Read)
	if err := bev.SetMaxInput(1000); err != nil {
		t.Fatal(err)
	}
	r.c.Lock()
	if got := r.c.InputRoom(); got != 1000 {
		t.Errorf("InputRoom = %d; want 1000", got)
	}
	r.c.Unlock()
	r.deliver(make([]byte, 1000))
	if r.c.ReadSuspended()&backend.SuspendWatermark == 0 {
		t.Fatal("input at the maximum did not suspend reading")
	}
	bev.Read(make([]byte, 1))
	if r.c.ReadSuspended() != 0 {
		t.Fatal("draining below the maximum did not resume reading")
	}
	r.deliver(make([]byte, 1))
	bev.SetMaxInput(0)
	if r.c.ReadSuspended() != 0 {
		t.Error("SetMaxInput(0) did not lift the limit")
	}
	if bev.MaxInput() != 0 {
		t.Error("MaxInput() != 0")
	}
	// A read high watermark takes precedence.
	bev.SetMaxInput(bufferevent.DefaultMaxInput)
	bev.SetWatermark(bufferevent.Read, 0, 500)
	if r.c.ReadSuspended()&backend.SuspendWatermark == 0 {
		t.Error("high watermark below the input did not suspend")
	}
}

// Mirrors libevent test/regress_bufferevent.c "bufferevent_timeout_pair":
// a bufferevent with pending output and read and write timeouts gets one
// read and one write timeout; one with empty output and reading disabled
// gets none (generic timers need pending output).
func TestTimeoutPair(t *testing.T) {
	base := newBase(t)
	a, b, err := pipe.New(base, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	var aEvents, bEvents []bufferevent.Events
	a.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, w bufferevent.Events, err error) {
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("timeout error = %v", err)
		}
		aEvents = append(aEvents, w)
	})
	b.SetCallbacks(func(*bufferevent.BufferEvent) { t.Error("read callback") },
		func(*bufferevent.BufferEvent) { t.Error("write callback") },
		func(_ *bufferevent.BufferEvent, w bufferevent.Events, _ error) { bEvents = append(bEvents, w) })
	a.Write([]byte("ABCDEFG")) // stays pending: b does not read
	a.Enable(bufferevent.ReadWrite)
	a.SetTimeouts(60*time.Millisecond, 40*time.Millisecond)
	b.Disable(bufferevent.Read)
	b.Enable(bufferevent.Write)
	b.SetTimeouts(40*time.Millisecond, 80*time.Millisecond)
	base.LoopExit(200 * time.Millisecond)
	base.Loop(eventbase.LoopNoExitOnEmpty)
	rt, wt := 0, 0
	for _, w := range aEvents {
		switch w {
		case bufferevent.Timeout | bufferevent.Reading:
			rt++
		case bufferevent.Timeout | bufferevent.Writing:
			wt++
		default:
			t.Errorf("unexpected event %v", w)
		}
	}
	if rt != 1 || wt != 1 {
		t.Errorf("a: %d read and %d write timeouts; want 1 and 1 (events %v)", rt, wt, aEvents)
	}
	if len(bEvents) != 0 {
		t.Errorf("b: events %v; want none", bEvents)
	}
}

// Rate limits: an empty bucket suspends the direction (SuspendBandwidth),
// the refill timer resumes it.
func TestRateLimitSuspends(t *testing.T) {
	base := newBase(t)
	bev, r, _ := newRecorder(base, 0)
	defer bev.Close()
	cfg, err := ratelimit.NewConfig(100, 100, 100, 100, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	bev.Enable(bufferevent.Read)
	if err := bev.SetRateLimit(cfg); err != nil {
		t.Fatal(err)
	}
	if bev.RateLimit() != cfg {
		t.Error("RateLimit() did not return the config")
	}
	r.c.Enter()
	if got := r.c.MaxToRead(); got != 100 {
		t.Errorf("MaxToRead = %d; want the rate 100", got)
	}
	r.c.ChargeRead(150)
	if r.c.ReadSuspended()&backend.SuspendBandwidth == 0 {
		t.Error("overdrawn bucket did not suspend reading")
	}
	if r.c.MaxToRead() != 0 {
		t.Error("MaxToRead > 0 with an overdrawn bucket")
	}
	r.c.Leave()
	if bev.ReadLimit() >= 0 {
		t.Errorf("ReadLimit = %d; want negative", bev.ReadLimit())
	}
	base.LoopExit(100 * time.Millisecond)
	base.Loop(eventbase.LoopNoExitOnEmpty)
	if r.c.ReadSuspended() != 0 {
		t.Errorf("after refills: suspended %#x", r.c.ReadSuspended())
	}
	if err := bev.SetRateLimit(nil); err != nil || bev.RateLimit() != nil {
		t.Errorf("removing the limit: %v", err)
	}
	if err := bev.DecrementReadLimit(1); !errors.Is(err, ratelimit.ErrNoConfig) {
		t.Errorf("DecrementReadLimit without a config = %v", err)
	}
}

func TestRateLimitGroup(t *testing.T) {
	base := newBase(t)
	cfg, _ := ratelimit.NewConfig(100, 100, 100, 100, 20*time.Millisecond)
	g, err := bufferevent.NewRateLimitGroup(base, cfg)
	if err != nil {
		t.Fatal(err)
	}
	bev, r, _ := newRecorder(base, 0)
	bev.Enable(bufferevent.Read)
	if err := bev.JoinGroup(g); err != nil {
		t.Fatal(err)
	}
	if gg, err := bev.Group(); err != nil || gg != g.Group() {
		t.Errorf("Group() = %v, %v", gg, err)
	}
	charge := func() {
		r.c.Enter()
		r.c.ChargeRead(300)
		r.c.Leave()
		base.Loop(eventbase.LoopNonBlock) // deliver the group notification
		if r.c.ReadSuspended()&backend.SuspendGroup == 0 {
			t.Fatal("empty group bucket did not suspend the member")
		}
	}
	charge()
	// The group's refill timer resumes the member after enough ticks.
	for deadline := time.Now().Add(5 * time.Second); r.c.ReadSuspended() != 0 && time.Now().Before(deadline); {
		base.LoopExit(20 * time.Millisecond)
		base.Loop(eventbase.LoopNoExitOnEmpty)
	}
	if r.c.ReadSuspended() != 0 {
		t.Fatal("the group refill did not resume the member")
	}
	charge()
	if err := g.Close(); !errors.Is(err, ratelimit.ErrGroupHasMembers) {
		t.Errorf("Close with members = %v", err)
	}
	bev.LeaveGroup()
	if r.c.ReadSuspended() != 0 {
		t.Error("leaving the group did not lift its suspension")
	}
	bev.Close()
	if err := g.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
}

// Mirrors libevent test/regress_bufferevent.c "bufferevent_trigger",
// "bufferevent_trigger_defer", "bufferevent_trigger_postpone" and
// "bufferevent_trigger_defer_postpone": inside the read callback, with the
// read low watermark raised above the input, Trigger(Read) does nothing and
// Trigger(Read, IgnoreWatermarks) runs the read callback again — nested
// (synchronously) unless the bufferevent defers callbacks or the trigger asks
// for TriggerDefer ("postpone"); that second callback triggers the event
// callback with all bits. Two read callbacks in total.
func TestTriggerVariants(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     bufferevent.Options
		trig     bufferevent.TriggerOptions
		deferred bool
	}{
		{"trigger", 0, 0, false},
		{"trigger_defer", bufferevent.DeferCallbacks, 0, true},
		{"trigger_postpone", 0, bufferevent.TriggerDefer, true},
		{"trigger_defer_postpone", bufferevent.DeferCallbacks, bufferevent.TriggerDefer, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := newBase(t)
			a, b, err := pipe.New(base, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			defer b.Close()
			reads, depth, maxDepth := 0, 0, 0
			var what bufferevent.Events
			const all = bufferevent.Events(0xffff)
			b.SetCallbacks(func(bev *bufferevent.BufferEvent) {
				reads++
				depth++
				maxDepth = max(maxDepth, depth)
				defer func() { depth-- }()
				if reads == 1 {
					bev.SetWatermark(bufferevent.Read, bev.Input().Len()+1, 0)
					bev.Trigger(bufferevent.Read, tc.trig)
					if reads != 1 {
						t.Error("Trigger(Read) ran the callback below the low watermark")
					}
					bev.Trigger(bufferevent.Read, tc.trig|bufferevent.IgnoreWatermarks)
					if tc.deferred == (reads == 2) {
						t.Errorf("after Trigger(IgnoreWatermarks): %d read callbacks; deferred=%v", reads, tc.deferred)
					}
					return
				}
				bev.TriggerEvent(all, nil, tc.trig)
			}, nil, func(_ *bufferevent.BufferEvent, w bufferevent.Events, _ error) {
				what = w
				base.LoopBreak()
			})
			b.Enable(bufferevent.Read)
			a.Write([]byte("trigger"))
			base.LoopExit(5 * time.Second)
			base.Loop(eventbase.LoopNoExitOnEmpty)
			if reads != 2 || what != all {
				t.Errorf("reads = %d, event = %#x; want 2, %#x", reads, uint16(what), uint16(all))
			}
			if wantDepth := map[bool]int{false: 2, true: 1}[tc.deferred]; maxDepth != wantDepth {
				t.Errorf("callback nesting depth = %d; want %d", maxDepth, wantDepth)
			}
		})
	}
}

// Mirrors libevent test/regress_bufferevent.c "bufferevent_pair_flush":
// Flush(Write, Finished) with nothing buffered gives the partner exactly
// Reading|EOF after one loop turn.
func TestPairFlushFinished(t *testing.T) {
	base := newBase(t)
	a, b, _ := pipe.New(base, 0)
	defer a.Close()
	defer b.Close()
	var got []bufferevent.Events
	b.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, w bufferevent.Events, _ error) { got = append(got, w) })
	if _, err := a.Flush(bufferevent.Write, bufferevent.Finished); err != nil {
		t.Fatal(err)
	}
	base.Loop(eventbase.LoopOnce)
	if len(got) != 1 || got[0] != bufferevent.Reading|bufferevent.EOF {
		t.Errorf("partner events = %v; want [Reading|EOF]", got)
	}
}

// Mirrors libevent test/regress_bufferevent.c "bufferevent" (the legacy
// checks): Callbacks returns what SetCallbacks set; Disable/Enable(Read)
// give Enabled() == Write then Read|Write.
func TestCallbacksAndEnabled(t *testing.T) {
	base := newBase(t)
	bev, _, _ := newRecorder(base, 0)
	defer bev.Close()
	rd := func(*bufferevent.BufferEvent) {}
	ev := func(*bufferevent.BufferEvent, bufferevent.Events, error) {}
	bev.SetCallbacks(rd, nil, ev)
	r, w, e := bev.Callbacks()
	if r == nil || w != nil || e == nil {
		t.Errorf("Callbacks() = %v, %v, %v", r != nil, w != nil, e != nil)
	}
	bev.Disable(bufferevent.Read)
	if bev.Enabled() != bufferevent.Write {
		t.Errorf("Enabled() = %v", bev.Enabled())
	}
	bev.Enable(bufferevent.Read)
	if bev.Enabled() != bufferevent.ReadWrite {
		t.Errorf("Enabled() = %v", bev.Enabled())
	}
}

// Capabilities a backend lacks answer errors.ErrUnsupported; the default
// priority is the base's middle one (libevent's bufferevent_get_priority).
func TestUnsupportedCapabilities(t *testing.T) {
	base, err := eventbase.New(eventbase.Config{Priorities: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	bev, _, _ := newRecorder(base, 0)
	defer bev.Close()
	if got := bev.Priority(); got != 2 {
		t.Errorf("default Priority() = %d; want 2 of 4", got)
	}
	if err := bev.SetPriority(1); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("SetPriority = %v; want ErrUnsupported", err)
	}
	if fd, err := bev.FD(); fd != -1 || !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("FD() = %d, %v", fd, err)
	}
	if err := bev.SetFD(3); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("SetFD = %v", err)
	}
	if bev.Underlying() != nil {
		t.Error("Underlying() != nil")
	}
}

// A bufferevent closed while its deferred callbacks are pending is
// finalised even if the loop never runs again (the base drops its deferred
// queue on Close): nothing keeps the backend, and its fd, alive.
func TestCloseWithPendingDeferred(t *testing.T) {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	bev, r, _ := newRecorder(base, bufferevent.DeferCallbacks)
	ran := false
	bev.SetCallbacks(func(*bufferevent.BufferEvent) { ran = true }, nil, nil)
	r.deliver([]byte("x")) // queues the read callback
	if err := bev.Close(); err != nil {
		t.Fatal(err)
	}
	if r.closes != 1 {
		t.Errorf("Ops.Close calls = %d right after Close; want 1", r.closes)
	}
	base.Loop(eventbase.LoopNonBlock)
	base.Close()
	if ran {
		t.Error("the read callback ran after Close")
	}
}
