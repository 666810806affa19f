package bevtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
)

// Caps declares what a backend cannot do, so that the suite reports the
// matching checks as not applicable (with t.Log) instead of failing them.
// The zero value claims every capability.
// A Caps is a plain value, safe for concurrent use; Break is called on the
// loop goroutine (Loop-confined).
type Caps struct {
	// NoFD: FD returns an error matching errors.ErrUnsupported (pairs,
	// filters). Otherwise FD must return a descriptor ≥ 0.
	NoFD bool
	// NoEOFOnClose: closing one end does not deliver EOF to the other
	// (libevent's pair). Otherwise the peer's event callback must get
	// Reading|EOF with io.EOF.
	NoEOFOnClose bool
	// NoHalfClose: Flush(Write, Finished) does not deliver EOF to the peer
	// (types whose flush is a no-op, as libevent's socket flush is).
	// Otherwise the peer's event callback must get EOF.
	NoHalfClose bool
	// NoThreadSafe: the type cannot be created with ThreadSafe; the
	// concurrency checks are not applicable.
	NoThreadSafe bool
	// ReadOverrun is how many bytes the backend may add beyond the read high
	// watermark in one go (TLS decrypts whole records); 0 for exact
	// backends.
	ReadOverrun int
	// Break, if set, breaks bev's transport (called on the loop goroutine)
	// so that its next write fails: a socket backend's test might shut the
	// socket down. The ErrorDelivery check then expects bev's event
	// callback to report Error (or EOF) with a non-nil error. Without it
	// that check is not applicable.
	Break func(bev *bufferevent.BufferEvent) error
	// Timeout bounds each check's loop run: a check that has not finished
	// by then fails (it never hangs). 0 means DefaultTimeout. Lower it to
	// make a suite that is expected to fail (a flawed backend) fail fast;
	// raise it for slow transports.
	Timeout time.Duration
}

// DefaultTimeout is the bound on each check's loop run when Caps.Timeout is
// 0.
// A constant, safe for concurrent use.
const DefaultTimeout = 20 * time.Second

// timeout is the bound for this env's runs.
func (e *env) timeout() time.Duration {
	if e.caps.Timeout > 0 {
		return e.caps.Timeout
	}
	return DefaultTimeout
}

// MakePair builds two connected bufferevents on base with the given options,
// with Write enabled and Read disabled as New leaves them, and declares the
// backend's capabilities. Data written to a must arrive at b and vice
// versa. It is called on the goroutine that later runs base's loop, before
// the loop runs (Loop-confined). The suite closes both bufferevents and the
// base.
type MakePair func(base *eventbase.Base, opts bufferevent.Options) (a, b *bufferevent.BufferEvent, caps Caps, err error)

// optionSets are the option combinations every data check runs with.
var optionSets = []struct {
	name string
	opts bufferevent.Options
}{
	{"Plain", 0},
	{"Deferred", bufferevent.DeferCallbacks},
	{"ThreadSafe", bufferevent.ThreadSafe},
	{"ThreadSafeDeferredUnlocked", bufferevent.ThreadSafe | bufferevent.DeferCallbacks | bufferevent.UnlockCallbacks},
}

// Run runs the conformance suite against the type built by mk, as named
// subtests: BasicIO, LargeTransfer, PingPong, Watermarks,
// ReadHighBoundsInput, Timeouts, FlushModes, CloseInCallback, EOFOnClose,
// EnableDisableChurn, DeferredOrder, Trigger, ErrorDelivery,
// CallbackCallsEverything, FD, BadInput, ThreadSafeStress,
// ThreadSafeConcurrentClose and ThreadSafeRandomOps, most under several option sets (plain,
// deferred, thread-safe, thread-safe with deferred unlocked callbacks). Run it under -race. Checks a backend declared unable to pass
// (see Caps) are logged as not applicable.
// Call it from the test goroutine; it runs each check's loop there. Run keeps
// no state between calls: it is safe for concurrent use by parallel tests if
// mk is.
func Run(t *testing.T, mk MakePair) {
	checks := []struct {
		name string
		fn   func(*env)
		all  bool // run under every option set, else plain only
	}{
		{"BasicIO", testBasicIO, true},
		{"LargeTransfer", testLargeTransfer, true},
		{"PingPong", testPingPong, true},
		{"Watermarks", testWatermarks, true},
		{"ReadHighBoundsInput", testReadHigh, true},
		{"Timeouts", testTimeouts, true},
		{"FlushModes", testFlushModes, true},
		{"CloseInCallback", testCloseInCallback, true},
		{"EOFOnClose", testEOFOnClose, true},
		{"EnableDisableChurn", testChurn, true},
		{"DeferredOrder", testDeferredOrder, false},
		{"Trigger", testTrigger, true},
		{"ErrorDelivery", testErrorDelivery, false},
		{"CallbackCallsEverything", testCallEverything, true},
		{"FD", testFD, false},
		{"BadInput", testBadInput, false},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			for _, o := range optionSets {
				if !c.all && o.opts != 0 {
					continue
				}
				t.Run(o.name, func(t *testing.T) {
					e := newEnv(t, mk, o.opts)
					if e == nil {
						return
					}
					c.fn(e)
				})
			}
		})
	}
	t.Run("ThreadSafeStress", func(t *testing.T) {
		e := newEnv(t, mk, bufferevent.ThreadSafe)
		if e == nil {
			return
		}
		testStress(e)
	})
	t.Run("ThreadSafeConcurrentClose", func(t *testing.T) {
		e := newEnv(t, mk, bufferevent.ThreadSafe)
		if e == nil {
			return
		}
		testConcurrentClose(e)
	})
	for _, o := range []struct {
		name string
		opts bufferevent.Options
	}{{"ThreadSafe", bufferevent.ThreadSafe}, {"ThreadSafeDeferred", bufferevent.ThreadSafe | bufferevent.DeferCallbacks}} {
		t.Run("ThreadSafeRandomOps/"+o.name, func(t *testing.T) {
			e := newEnv(t, mk, o.opts)
			if e == nil {
				return
			}
			testRandomOps(e)
		})
	}
}

// env is one check's world: a base, a pair and a loop driver.
type env struct {
	t    *testing.T
	base *eventbase.Base
	a, b *bufferevent.BufferEvent
	caps Caps
	opts bufferevent.Options
	mk   MakePair
	done bool
}

func newEnv(t *testing.T, mk MakePair, opts bufferevent.Options) *env {
	t.Helper()
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatalf("eventbase.New: %v", err)
	}
	a, b, caps, err := mk(base, opts)
	if err != nil {
		base.Close()
		if opts&bufferevent.ThreadSafe != 0 && caps.NoThreadSafe {
			t.Logf("not applicable: the type declares NoThreadSafe (%v)", err)
			return nil
		}
		t.Fatalf("MakePair(%#x): %v", uint16(opts), err)
	}
	if opts&bufferevent.ThreadSafe != 0 && caps.NoThreadSafe {
		a.Close()
		b.Close()
		base.Close()
		t.Log("not applicable: the type declares NoThreadSafe")
		return nil
	}
	e := &env{t: t, base: base, a: a, b: b, caps: caps, opts: opts, mk: mk}
	t.Cleanup(e.close)
	return e
}

func (e *env) close() {
	e.a.Close()
	e.b.Close()
	// Let finalisation and deferred work run, then close the base.
	for range 3 {
		_ = e.base.Loop(eventbase.LoopNonBlock)
	}
	e.base.Close()
}

// finish ends the current run.
func (e *env) finish() {
	e.done = true
	e.base.LoopBreak()
}

// errorf records a failure from a callback and ends the run.
func (e *env) errorf(format string, args ...any) {
	e.t.Helper()
	e.t.Errorf(format, args...)
	e.finish()
}

// run runs the loop until finish is called or Timeout passes (a failure).
func (e *env) run(what string) {
	e.t.Helper()
	d := e.timeout()
	e.runFor(d)
	if !e.done {
		e.t.Fatalf("%s: not finished after %v", what, d)
	}
	e.done = false
}

// runFor runs the loop for d at most (until finish).
func (e *env) runFor(d time.Duration) {
	e.t.Helper()
	timer, err := e.base.NewTimer(func() { e.base.LoopBreak() })
	if err != nil {
		e.t.Fatal(err)
	}
	if err := timer.AddTimeout(d); err != nil {
		e.t.Fatal(err)
	}
	if err := e.base.Loop(eventbase.LoopNoExitOnEmpty); err != nil {
		e.t.Fatalf("Loop: %v", err)
	}
	timer.Free()
}

func pattern(n int, seed byte) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7) + seed
	}
	return p
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// transfer sends data from src to dst (dst reads in its callback) and
// checks it arrives intact; src's write callback must see the output
// drained. Mirrors libevent test/regress_bufferevent.c "bufferevent" /
// "bufferevent_pair" (8333 bytes, read cb once all arrived, write cb on
// drain).
func (e *env) transfer(src, dst *bufferevent.BufferEvent, data []byte) {
	t := e.t
	t.Helper()
	var got bytes.Buffer
	wrote := false
	buf := make([]byte, 4096)
	check := func() {
		if got.Len() == len(data) && wrote {
			e.finish()
		}
	}
	must(t, dst.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		for {
			n, err := bev.Read(buf)
			if err != nil {
				e.errorf("Read: %v", err)
				return
			}
			if n == 0 {
				break
			}
			got.Write(buf[:n])
		}
		if got.Len() > len(data) {
			e.errorf("received %d bytes, sent %d", got.Len(), len(data))
		}
		check()
	}, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		e.errorf("reader event %v: %v", what, err)
	}))
	must(t, src.SetCallbacks(nil, func(bev *bufferevent.BufferEvent) {
		var n int
		_ = bev.WithLock(func(_, out *evbuffer.Buffer) { n = out.Len() })
		if n == 0 {
			wrote = true
			check()
		}
	}, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		e.errorf("writer event %v: %v", what, err)
	}))
	must(t, dst.Enable(bufferevent.Read))
	if _, err := src.Write(data); err != nil {
		t.Fatalf("Write: %v", err)
	}
	e.run("transfer")
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("received %d bytes that differ from the %d sent", got.Len(), len(data))
	}
	must(t, dst.SetCallbacks(nil, nil, nil))
	must(t, src.SetCallbacks(nil, nil, nil))
}

func testBasicIO(e *env) {
	if got := e.a.Enabled(); got != bufferevent.Write {
		e.t.Errorf("new bufferevent: Enabled() = %v; want Write only (as libevent)", got)
	}
	must(e.t, e.b.Disable(bufferevent.Read))
	must(e.t, e.b.Enable(bufferevent.Read))
	if got := e.b.Enabled(); got != bufferevent.ReadWrite {
		e.t.Errorf("after Enable(Read): Enabled() = %v; want Read|Write", got)
	}
	e.transfer(e.a, e.b, pattern(8333, 1))
	must(e.t, e.a.Enable(bufferevent.Read))
	e.transfer(e.b, e.a, pattern(8333, 2))
}

func testLargeTransfer(e *env) {
	e.transfer(e.a, e.b, pattern(4<<20, 3))
	must(e.t, e.a.Enable(bufferevent.Read))
	e.transfer(e.b, e.a, pattern(1<<20, 4))
}

func testPingPong(e *env) {
	const rounds = 200
	msg := []byte("ping-pong-message")
	buf := make([]byte, len(msg))
	n := 0
	// b echoes.
	must(e.t, e.b.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		tmp := evbuffer.New()
		if err := bev.ReadBuffer(tmp); err != nil {
			e.errorf("ReadBuffer: %v", err)
			return
		}
		if err := bev.WriteBuffer(tmp); err != nil {
			e.errorf("WriteBuffer: %v", err)
		}
	}, nil, nil))
	must(e.t, e.b.SetWatermark(bufferevent.Read, 0, 0))
	must(e.t, e.a.SetWatermark(bufferevent.Read, len(msg), 0))
	must(e.t, e.a.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		for {
			k, _ := bev.Read(buf)
			if k == 0 {
				return
			}
			if k != len(msg) || !bytes.Equal(buf, msg) {
				e.errorf("round %d: got %q", n, buf[:k])
				return
			}
			n++
			if n == rounds {
				e.finish()
				return
			}
			_, _ = bev.Write(msg)
		}
	}, nil, nil))
	must(e.t, e.a.Enable(bufferevent.ReadWrite))
	must(e.t, e.b.Enable(bufferevent.ReadWrite))
	_, _ = e.a.Write(msg)
	e.run("ping-pong")
	if n != rounds {
		e.t.Errorf("%d rounds; want %d", n, rounds)
	}
}

// Mirrors libevent test/regress_bufferevent.c "bufferevent_watermarks" and
// "bufferevent_pair_watermarks": reader with read watermarks (10, 20) sees
// 10..20 bytes per read callback; writer with write watermarks (100, 2000)
// sees its write callback only with at most 100 bytes pending; 65000 bytes
// arrive.
//
// How the bytes are cut into batches is the backend's business (a filter
// over a socket moves what one 16 KiB read brought, which need not be a
// multiple of anything), so the check asserts only the bounds that must
// hold — no read callback with fewer bytes than the low watermark unless
// they are the last ones, never more than the high watermark (plus
// Caps.ReadOverrun) in the input — and finishes once the bytes received plus
// those still buffered below the low watermark add up to what was sent.
func testWatermarks(e *env) {
	t := e.t
	for _, bev := range []*bufferevent.BufferEvent{e.a, e.b} {
		for _, d := range []bufferevent.Direction{bufferevent.Read, bufferevent.Write} {
			lo, hi, err := bev.Watermark(d)
			if err != nil || lo != 0 || hi != 0 {
				t.Errorf("default Watermark(%v) = %d, %d, %v; want 0, 0, nil", d, lo, hi, err)
			}
		}
	}
	if _, _, err := e.a.Watermark(bufferevent.ReadWrite); err == nil {
		t.Error("Watermark(Read|Write) succeeded; want an error (as libevent's getwatermark)")
	}
	const low, high = 10, 20
	must(t, e.b.SetWatermark(bufferevent.Read, low, high))
	must(t, e.a.SetWatermark(bufferevent.Write, 100, 2000))
	if lo, hi, _ := e.b.Watermark(bufferevent.Read); lo != low || hi != high {
		t.Errorf("Watermark(Read) = %d, %d; want %d, %d", lo, hi, low, high)
	}
	if lo, hi, _ := e.a.Watermark(bufferevent.Write); lo != 100 || hi != 2000 {
		t.Errorf("Watermark(Write) = %d, %d; want 100, 2000", lo, hi)
	}
	const total = 65000
	maxIn := high + e.caps.ReadOverrun
	data := pattern(total, 5)
	sent, recvd, reads := 0, 0, 0
	var got bytes.Buffer
	buf := make([]byte, 64+e.caps.ReadOverrun)
	writerDone := false
	buffered := func() int {
		var n int
		_ = e.b.WithLock(func(in, _ *evbuffer.Buffer) { n = in.Len() })
		return n
	}
	// check ends the run once everything sent is accounted for.
	check := func() {
		if e.done || !writerDone {
			return
		}
		n := buffered()
		if n > maxIn {
			e.errorf("input holds %d bytes; read high watermark %d", n, high)
			return
		}
		if recvd+n == total {
			e.finish()
		}
	}
	must(t, e.b.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		reads++
		n := buffered()
		if n > maxIn {
			e.errorf("read callback with %d bytes buffered; read high watermark %d", n, high)
			return
		}
		if n < low && recvd+n != total {
			e.errorf("read callback with %d bytes buffered (%d of %d received); read low watermark %d", n, recvd, total, low)
			return
		}
		k, _ := bev.Read(buf[:n])
		got.Write(buf[:k])
		recvd += k
		check()
	}, nil, nil))
	must(t, e.a.SetCallbacks(nil, func(bev *bufferevent.BufferEvent) {
		var n int
		_ = bev.WithLock(func(_, out *evbuffer.Buffer) { n = out.Len() })
		if n > 100 {
			e.errorf("write callback with %d bytes pending; want ≤ 100", n)
			return
		}
		if sent < total {
			k := min(1000, total-sent)
			_, _ = bev.Write(data[sent : sent+k])
			sent += k
			return
		}
		writerDone = true
		check()
	}, nil))
	// The last bytes may stay below the low watermark, where no read
	// callback comes: look at the input now and then.
	var poll *eventbase.Event
	poll, err := e.base.NewTimer(func() {
		check()
		_ = poll.AddTimeout(5 * time.Millisecond)
	})
	must(t, err)
	defer poll.Free()
	must(t, poll.AddTimeout(5*time.Millisecond))
	must(t, e.b.Enable(bufferevent.Read))
	_, _ = e.a.Write(data[:1000])
	sent = 1000
	e.run("watermarks")
	// Take what stayed below the low watermark.
	for {
		k, _ := e.b.Read(buf)
		if k == 0 {
			break
		}
		got.Write(buf[:k])
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Errorf("received %d bytes that differ from the %d sent", got.Len(), total)
	}
	if reads == 0 {
		t.Error("no read callback")
	}
}

// ReadHighBoundsInput: with a read high watermark and nobody reading, the
// input stops growing at the watermark; draining resumes the flow and
// nothing gets stuck below it (libevent's "bufferevent_filter_data_stuck"
// property, for the plain type).
func testReadHigh(e *env) {
	t := e.t
	const high = 4096
	must(t, e.b.SetWatermark(bufferevent.Read, 0, high))
	must(t, e.b.Enable(bufferevent.Read))
	data := pattern(64<<10, 6)
	_, _ = e.a.Write(data)
	e.runFor(100 * time.Millisecond)
	var n int
	_ = e.b.WithLock(func(in, _ *evbuffer.Buffer) { n = in.Len() })
	if n > high+e.caps.ReadOverrun {
		t.Fatalf("input holds %d bytes with read high watermark %d", n, high)
	}
	if n == 0 {
		t.Fatal("nothing arrived")
	}
	var got bytes.Buffer
	buf := make([]byte, 1000) // drain in small steps
	must(t, e.b.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		for {
			k, _ := bev.Read(buf)
			if k == 0 {
				break
			}
			got.Write(buf[:k])
		}
		if got.Len() == len(data) {
			e.finish()
		}
	}, nil, nil))
	// Drain what is buffered; the flow must resume by itself.
	k, _ := e.b.Read(buf)
	got.Write(buf[:k])
	must(t, e.b.Trigger(bufferevent.Read, bufferevent.TriggerDefer))
	e.run("drain after high watermark")
	if !bytes.Equal(got.Bytes(), data) {
		t.Error("data corrupted across the watermark")
	}
}

// Mirrors libevent test/regress_bufferevent.c "bufferevent_timeout" /
// "bufferevent_timeout_pair" (read side): an idle reader gets exactly one
// Timeout|Reading with os.ErrDeadlineExceeded, reading is then disabled, and
// re-enabling resumes with data.
func testTimeouts(e *env) {
	t := e.t
	var events []bufferevent.Events
	must(t, e.b.SetCallbacks(nil, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		events = append(events, what)
		if what != bufferevent.Timeout|bufferevent.Reading {
			e.errorf("event %v (%v); want Timeout|Reading", what, err)
			return
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			e.errorf("timeout error %v; want os.ErrDeadlineExceeded", err)
		}
		if bev.Enabled()&bufferevent.Read != 0 {
			e.errorf("reading still enabled after a read timeout")
		}
		e.finish()
	}))
	must(t, e.b.Enable(bufferevent.Read))
	must(t, e.b.SetTimeouts(30*time.Millisecond, 0))
	if r, w := e.b.Timeouts(); r != 30*time.Millisecond || w != 0 {
		t.Errorf("Timeouts() = %v, %v", r, w)
	}
	// Wait for the timeout however loaded the machine is, then watch a
	// while longer for a second one (reading is disabled, so none may come).
	e.run("read timeout")
	e.runFor(100 * time.Millisecond)
	if len(events) != 1 {
		t.Fatalf("got %d timeout events (%v); want exactly 1", len(events), events)
	}
	// Re-enable: data arrives and no further timeout while it flows.
	must(t, e.b.SetTimeouts(0, 0))
	e.transfer(e.a, e.b, []byte("after the timeout"))

	// Write side ("bufferevent_timeout", writer half): output that cannot
	// drain because the peer stopped reading gives exactly one
	// Timeout|Writing, and writing is disabled.
	var wevents []bufferevent.Events
	must(t, e.b.Disable(bufferevent.Read))
	must(t, e.a.SetCallbacks(nil, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		wevents = append(wevents, what)
		if what != bufferevent.Timeout|bufferevent.Writing || !errors.Is(err, os.ErrDeadlineExceeded) {
			e.errorf("event %v (%v); want Timeout|Writing with os.ErrDeadlineExceeded", what, err)
			return
		}
		if bev.Enabled()&bufferevent.Write != 0 {
			e.errorf("writing still enabled after a write timeout")
		}
		e.finish()
	}))
	must(t, e.a.SetTimeouts(0, 50*time.Millisecond))
	// More than any socket buffer holds, so output stays pending.
	_, _ = e.a.Write(make([]byte, 16<<20))
	e.run("write timeout")
	e.runFor(100 * time.Millisecond)
	if len(wevents) != 1 {
		t.Errorf("got %d write timeout events (%v); want exactly 1", len(wevents), wevents)
	}
}

// Mirrors libevent test/regress_bufferevent.c "bufferevent_flush_normal",
// "_flush", "_finished" and "bufferevent_pair_flush" / "_pair_flush_finished".
func testFlushModes(e *env) {
	t := e.t
	for _, m := range []bufferevent.FlushMode{bufferevent.Normal, bufferevent.Flush} {
		if _, err := e.a.Flush(bufferevent.Write, m); err != nil {
			t.Errorf("Flush(Write, %v) = %v", m, err)
		}
		e.transfer(e.a, e.b, pattern(1000, byte(m)))
	}
	if _, err := e.a.Flush(bufferevent.Write, bufferevent.FlushMode(7)); err == nil {
		t.Error("Flush with an invalid mode succeeded")
	}
	if e.caps.NoHalfClose {
		t.Log("Finished delivers EOF: not applicable (NoHalfClose)")
		return
	}
	var what bufferevent.Events
	var gotErr error
	must(t, e.b.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, w bufferevent.Events, err error) {
		what, gotErr = w, err
		e.finish()
	}))
	must(t, e.b.Enable(bufferevent.Read))
	runOnLoop(e, func() {
		if _, err := e.a.Flush(bufferevent.Write, bufferevent.Finished); err != nil {
			e.errorf("Flush(Write, Finished) = %v", err)
		}
	})
	e.run("flush finished")
	if what&bufferevent.EOF == 0 || !errors.Is(gotErr, io.EOF) {
		t.Errorf("peer event after Finished = %v, %v; want EOF with io.EOF", what, gotErr)
	}
}

// runOnLoop runs fn on the loop at its next turn.
func runOnLoop(e *env, fn func()) {
	if err := e.base.RunInLoop(fn); err != nil {
		e.t.Fatal(err)
	}
}

// CloseInCallback: closing from inside the read, write and event callbacks
// is safe; later method calls fail with an error matching net.ErrClosed.
func testCloseInCallback(e *env) {
	t := e.t
	for _, where := range []string{"read", "write", "event"} {
		t.Run(where, func(t *testing.T) {
			a, b := e.a, e.b
			closed := false
			closeIt := func(bev *bufferevent.BufferEvent) {
				if closed {
					return
				}
				closed = true
				if err := bev.Close(); err != nil {
					e.errorf("Close in %s callback: %v", where, err)
				}
				if err := bev.Close(); !errors.Is(err, bufferevent.ErrClosed) {
					e.errorf("second Close = %v; want ErrClosed", err)
				}
				if _, err := bev.Write([]byte("x")); !errors.Is(err, bufferevent.ErrClosed) {
					e.errorf("Write after Close = %v; want ErrClosed", err)
				}
				if err := bev.Enable(bufferevent.Read); !errors.Is(err, bufferevent.ErrClosed) {
					e.errorf("Enable after Close = %v; want ErrClosed", err)
				}
				e.finish()
			}
			switch where {
			case "read":
				must(t, b.SetCallbacks(func(bev *bufferevent.BufferEvent) { closeIt(bev) }, nil, nil))
				must(t, b.Enable(bufferevent.Read))
				_, _ = a.Write([]byte("data"))
			case "write":
				must(t, a.SetCallbacks(nil, func(bev *bufferevent.BufferEvent) { closeIt(bev) }, nil))
				must(t, b.Enable(bufferevent.Read))
				_, _ = a.Write([]byte("data"))
			case "event":
				must(t, b.SetCallbacks(nil, nil, func(bev *bufferevent.BufferEvent, _ bufferevent.Events, _ error) { closeIt(bev) }))
				must(t, b.TriggerEvent(bufferevent.Error, errors.New("injected"), bufferevent.TriggerDefer))
			}
			e.run("close in " + where + " callback")
			// Keep the loop turning so finalisation runs; nothing may panic.
			e.runFor(20 * time.Millisecond)
			// Fresh pair for the next case.
			newA, newB, _, err := remake(e)
			if err != nil {
				t.Fatal(err)
			}
			e.a, e.b = newA, newB
		})
	}
}

// remake replaces the env's pair (closing the old one).
func remake(e *env) (a, b *bufferevent.BufferEvent, caps Caps, err error) {
	e.a.Close()
	e.b.Close()
	e.runFor(10 * time.Millisecond)
	return e.mk(e.base, e.opts)
}

func testEOFOnClose(e *env) {
	t := e.t
	if e.caps.NoEOFOnClose {
		t.Log("EOF on close: not applicable (NoEOFOnClose)")
		return
	}
	var what bufferevent.Events
	var gotErr error
	var got []byte
	// Close a once b has everything (Close does not flush: a layered type's
	// output may sit in its underlying bufferevent until then).
	must(t, e.b.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		buf := make([]byte, 100)
		n, _ := bev.Read(buf)
		got = append(got, buf[:n]...)
		if len(got) == len("last words") {
			if err := e.a.Close(); err != nil {
				e.errorf("Close: %v", err)
			}
		}
	}, nil, func(_ *bufferevent.BufferEvent, w bufferevent.Events, err error) {
		what, gotErr = w, err
		e.finish()
	}))
	must(t, e.b.Enable(bufferevent.Read))
	_, _ = e.a.Write([]byte("last words"))
	e.run("EOF after close")
	if what != bufferevent.Reading|bufferevent.EOF || !errors.Is(gotErr, io.EOF) {
		t.Errorf("peer event = %v, %v; want Reading|EOF, io.EOF", what, gotErr)
	}
	if string(got) != "last words" {
		t.Errorf("data before EOF = %q", got)
	}
}

func testChurn(e *env) {
	t := e.t
	data := pattern(256<<10, 8)
	var got bytes.Buffer
	buf := make([]byte, 3000)
	calls := 0
	must(t, e.b.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		calls++
		for {
			n, _ := bev.Read(buf)
			if n == 0 {
				break
			}
			got.Write(buf[:n])
		}
		// Churn: disable and re-enable reading, sometimes via the loop.
		_ = bev.Disable(bufferevent.Read)
		if calls%2 == 0 {
			_ = bev.Enable(bufferevent.Read)
		} else {
			_ = e.base.RunInLoop(func() { _ = bev.Enable(bufferevent.Read) })
		}
		if got.Len() == len(data) {
			e.finish()
		}
	}, nil, nil))
	must(t, e.b.Enable(bufferevent.Read))
	_, _ = e.a.Write(data)
	e.run("enable/disable churn")
	if !bytes.Equal(got.Bytes(), data) {
		t.Error("data corrupted or reordered under enable/disable churn")
	}
}

// Mirrors libevent's deferred callback order (bufferevent.c
// bufferevent_run_deferred_callbacks_locked): connected, read, write, then
// the other events, coalesced into one run.
func testDeferredOrder(e *env) {
	t := e.t
	var order []string
	bev := e.b
	must(t, bev.SetCallbacks(
		func(*bufferevent.BufferEvent) { order = append(order, "read") },
		func(*bufferevent.BufferEvent) { order = append(order, "write") },
		func(_ *bufferevent.BufferEvent, w bufferevent.Events, _ error) {
			order = append(order, w.String())
			if w&bufferevent.Connected == 0 {
				e.finish()
			}
		}))
	runOnLoop(e, func() {
		d := bufferevent.TriggerDefer | bufferevent.IgnoreWatermarks
		_ = bev.TriggerEvent(bufferevent.EOF|bufferevent.Reading, nil, d)
		_ = bev.Trigger(bufferevent.Write, d)
		_ = bev.Trigger(bufferevent.Read, d)
		_ = bev.TriggerEvent(bufferevent.Connected, nil, d)
		_ = bev.TriggerEvent(bufferevent.Error, nil, d)
		if len(order) != 0 {
			e.errorf("deferred callbacks ran synchronously: %v", order)
		}
	})
	e.run("deferred callbacks")
	want := []string{"Connected", "read", "write", "Reading|EOF|Error"}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Errorf("order = %v; want %v", order, want)
	}
}

// Mirrors libevent test/regress_bufferevent.c "bufferevent_trigger" (and
// "_defer"): inside the read callback, raising the read low watermark above
// the input makes Trigger(Read) do nothing, Trigger(Read, IgnoreWatermarks)
// runs the callback again, which then triggers the event callback with all
// bits; two read callbacks in total.
func testTrigger(e *env) {
	t := e.t
	reads := 0
	var gotWhat bufferevent.Events
	const all = bufferevent.Events(0xffff)
	must(t, e.b.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		reads++
		var n int
		_ = bev.WithLock(func(in, _ *evbuffer.Buffer) { n = in.Len() })
		if reads == 1 {
			_ = bev.SetWatermark(bufferevent.Read, n+1, 0)
			_ = bev.Trigger(bufferevent.Read, 0)
			if reads != 1 {
				e.errorf("Trigger(Read) ran the callback below the low watermark")
			}
			_ = bev.Trigger(bufferevent.Read, bufferevent.IgnoreWatermarks)
			return
		}
		if reads == 2 {
			_ = bev.TriggerEvent(all, nil, 0)
		}
	}, nil, func(_ *bufferevent.BufferEvent, w bufferevent.Events, _ error) {
		gotWhat = w
		e.finish()
	}))
	must(t, e.b.Enable(bufferevent.Read))
	_, _ = e.a.Write([]byte("trigger"))
	e.run("trigger")
	if reads != 2 {
		t.Errorf("read callbacks = %d; want 2", reads)
	}
	if gotWhat != all {
		t.Errorf("event = %#x; want %#x", uint16(gotWhat), uint16(all))
	}
}

func testFD(e *env) {
	fd, err := e.a.FD()
	if e.caps.NoFD {
		if !errors.Is(err, errors.ErrUnsupported) || fd != -1 {
			e.t.Errorf("FD() = %d, %v; want -1 and errors.ErrUnsupported (NoFD declared)", fd, err)
		}
		if e.a.Underlying() != nil && e.a.Underlying() == e.a {
			e.t.Error("Underlying() returned the bufferevent itself")
		}
		return
	}
	if err != nil || fd < 0 {
		e.t.Errorf("FD() = %d, %v; want a descriptor", fd, err)
	}
}

func flushErr(bev *bufferevent.BufferEvent, m bufferevent.FlushMode, dir ...bufferevent.Direction) error {
	d := bufferevent.Write
	if len(dir) > 0 {
		d = dir[0]
	}
	_, err := bev.Flush(d, m)
	return err
}

func testBadInput(e *env) {
	t := e.t
	a := e.a
	checks := []struct {
		name string
		err  error
		want error
	}{
		{"SetWatermark negative", a.SetWatermark(bufferevent.Read, -1, 0), bufferevent.ErrNegative},
		{"SetWatermark low>high", a.SetWatermark(bufferevent.Read, 10, 5), bufferevent.ErrWatermark},
		{"SetWatermark bad dir", a.SetWatermark(0x80, 1, 2), bufferevent.ErrInvalidDirection},
		{"SetTimeouts negative", a.SetTimeouts(-time.Second, 0), bufferevent.ErrNegative},
		{"Enable bad dir", a.Enable(0x01), bufferevent.ErrInvalidDirection},
		{"Disable bad dir", a.Disable(0x40), bufferevent.ErrInvalidDirection},
		{"Trigger bad dir", a.Trigger(0x10, 0), bufferevent.ErrInvalidDirection},
		{"SetMaxSingleRead negative", a.SetMaxSingleRead(-5), bufferevent.ErrNegative},
		{"SetMaxSingleWrite negative", a.SetMaxSingleWrite(-5), bufferevent.ErrNegative},
		{"SetMaxInput negative", a.SetMaxInput(-1), bufferevent.ErrNegative},
		{"WriteBuffer nil", a.WriteBuffer(nil), bufferevent.ErrNilBuffer},
		{"ReadBuffer nil", a.ReadBuffer(nil), bufferevent.ErrNilBuffer},
		{"Flush bad mode", flushErr(a, bufferevent.FlushMode(9)), bufferevent.ErrInvalidFlushMode},
		{"Flush bad dir", flushErr(a, bufferevent.FlushMode(0), 0x40), bufferevent.ErrInvalidDirection},
	}
	for _, c := range checks {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: error %v; want %v", c.name, c.err, c.want)
		}
	}
	// nil callbacks are allowed; nil WithLock func is a no-op.
	must(t, a.SetCallbacks(nil, nil, nil))
	must(t, a.WithLock(nil))
	// After Close every method reports ErrClosed or a zero value.
	must(t, a.Close())
	closedChecks := map[string]error{
		"Close":        a.Close(),
		"Enable":       a.Enable(bufferevent.Read),
		"Disable":      a.Disable(bufferevent.Read),
		"SetCallbacks": a.SetCallbacks(nil, nil, nil),
		"SetWatermark": a.SetWatermark(bufferevent.Read, 1, 2),
		"SetTimeouts":  a.SetTimeouts(time.Second, 0),
		"Trigger":      a.Trigger(bufferevent.Read, 0),
		"TriggerEvent": a.TriggerEvent(bufferevent.EOF, nil, 0),
		"WithLock":     a.WithLock(func(_, _ *evbuffer.Buffer) {}),
		"WriteBuffer":  a.WriteBuffer(evbuffer.New()),
		"ReadBuffer":   a.ReadBuffer(evbuffer.New()),
	}
	_, closedChecks["Write"] = a.Write([]byte("x"))
	_, closedChecks["Read"] = a.Read(make([]byte, 1))
	_, closedChecks["Flush"] = a.Flush(bufferevent.Write, bufferevent.Flush)
	_, closedChecks["FD"] = a.FD()
	for name, err := range closedChecks {
		if !errors.Is(err, bufferevent.ErrClosed) {
			t.Errorf("%s after Close: %v; want ErrClosed", name, err)
		}
	}
	if a.Enabled() != 0 || a.Underlying() != nil {
		t.Error("Enabled/Underlying after Close returned non-zero values")
	}
}

// ThreadSafeStress: many goroutines write to a while b echoes everything
// back and a counts the echo; goroutines also poke other methods.
func testStress(e *env) {
	t := e.t
	const writers, perWriter, msgLen = 8, 1000, 100
	total := writers * perWriter * msgLen
	var recvd atomic.Int64
	must(t, e.b.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		tmp := evbuffer.New()
		_ = bev.ReadBuffer(tmp)
		_ = bev.WriteBuffer(tmp)
	}, nil, func(_ *bufferevent.BufferEvent, w bufferevent.Events, err error) {
		e.errorf("echo side event %v: %v", w, err)
	}))
	buf := make([]byte, 8192)
	must(t, e.a.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		for {
			n, _ := bev.Read(buf)
			if n == 0 {
				break
			}
			if recvd.Add(int64(n)) == int64(total) {
				e.finish()
			}
		}
	}, nil, nil))
	must(t, e.a.Enable(bufferevent.ReadWrite))
	must(t, e.b.Enable(bufferevent.ReadWrite))
	var wg sync.WaitGroup
	msg := bytes.Repeat([]byte{'s'}, msgLen)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				if _, err := e.a.Write(msg); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				switch i % 50 {
				case 7:
					_ = e.a.Enabled()
					_, _, _ = e.a.Watermark(bufferevent.Read)
				case 13:
					_ = e.a.WithLock(func(_, out *evbuffer.Buffer) { _ = out.Len() })
				case 29:
					_ = e.b.Disable(bufferevent.Read)
					_ = e.b.Enable(bufferevent.Read)
				}
			}
		}()
	}
	e.run("thread-safe stress")
	wg.Wait()
	if got := recvd.Load(); got != int64(total) {
		t.Errorf("echoed %d bytes; want %d", got, total)
	}
}

// CallbackCallsEverything: a read, write or event callback that calls every
// method, Close last, never deadlocks or panics.
func testCallEverything(e *env) {
	t := e.t
	for _, where := range []string{"read", "write", "event"} {
		t.Run(where, func(t *testing.T) {
			a, b := e.a, e.b
			cb := func(bev *bufferevent.BufferEvent) {
				callEverything(bev)
				e.finish()
			}
			switch where {
			case "read":
				must(t, b.SetCallbacks(cb, nil, nil))
				must(t, b.Enable(bufferevent.Read))
				_, _ = a.Write([]byte("go"))
			case "write":
				must(t, a.SetCallbacks(nil, cb, nil))
				must(t, b.Enable(bufferevent.Read))
				_, _ = a.Write([]byte("go"))
			case "event":
				must(t, b.SetCallbacks(nil, nil, func(bev *bufferevent.BufferEvent, _ bufferevent.Events, _ error) { cb(bev) }))
				must(t, b.TriggerEvent(bufferevent.EOF, io.EOF, bufferevent.TriggerDefer))
			}
			e.run("callback calling every method")
			e.runFor(10 * time.Millisecond)
			na, nb, _, err := remake(e)
			if err != nil {
				t.Fatal(err)
			}
			e.a, e.b = na, nb
		})
	}
}

// ErrorDelivery: after Caps.Break, a write reports Error (or EOF) with a
// non-nil error through the event callback.
func testErrorDelivery(e *env) {
	t := e.t
	if e.caps.Break == nil {
		t.Log("error delivery: not applicable (no Caps.Break hook)")
		return
	}
	var what bufferevent.Events
	var gotErr error
	must(t, e.a.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, w bufferevent.Events, err error) {
		if what == 0 {
			what, gotErr = w, err
		}
		e.finish()
	}))
	must(t, e.b.Enable(bufferevent.Read))
	runOnLoop(e, func() {
		if err := e.caps.Break(e.a); err != nil {
			e.errorf("Break: %v", err)
			return
		}
		_, _ = e.a.Write(pattern(100<<10, 9))
	})
	e.run("error delivery")
	if what&(bufferevent.Error|bufferevent.EOF) == 0 || gotErr == nil {
		t.Errorf("event after Break = %v, %v; want Error (or EOF) with an error", what, gotErr)
	}
}

// ThreadSafeConcurrentClose: goroutines keep writing while another closes
// the bufferevent; writers end with ErrClosed, nothing panics or leaks, and
// the peer sees EOF unless the type declares NoEOFOnClose.
func testConcurrentClose(e *env) {
	t := e.t
	gotEOF := false
	must(t, e.b.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		_ = bev.ReadBuffer(evbuffer.New())
	}, nil, func(_ *bufferevent.BufferEvent, w bufferevent.Events, err error) {
		if w&bufferevent.EOF != 0 {
			gotEOF = true
			e.finish()
		}
	}))
	must(t, e.b.Enable(bufferevent.Read))
	var wg sync.WaitGroup
	var closedSeen atomic.Int32
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := make([]byte, 512)
			for {
				if _, err := e.a.Write(msg); err != nil {
					if !errors.Is(err, bufferevent.ErrClosed) {
						t.Errorf("Write during Close: %v; want ErrClosed", err)
					}
					closedSeen.Add(1)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(20 * time.Millisecond)
		if err := e.a.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	if e.caps.NoEOFOnClose {
		t.Log("peer EOF after close: not applicable (NoEOFOnClose)")
		e.runFor(200 * time.Millisecond)
	} else {
		e.run("EOF after a concurrent Close")
	}
	wg.Wait()
	if closedSeen.Load() != 4 {
		t.Errorf("%d writers saw ErrClosed; want 4", closedSeen.Load())
	}
	if !e.caps.NoEOFOnClose && !gotEOF {
		t.Error("no EOF at the peer")
	}
}

func callEverything(bev *bufferevent.BufferEvent) {
	_ = bev.Type()
	_ = bev.Base()
	_ = bev.Options()
	_ = bev.Enabled()
	_ = bev.Enable(bufferevent.Read)
	_ = bev.Disable(bufferevent.Write)
	_ = bev.Enable(bufferevent.Write)
	_, _ = bev.Write([]byte("x"))
	_, _ = bev.WriteString("y")
	_ = bev.WriteBuffer(evbuffer.New())
	_, _ = bev.Read(make([]byte, 4))
	_ = bev.ReadBuffer(evbuffer.New())
	_ = bev.WithLock(func(in, out *evbuffer.Buffer) { _, _ = in.Len(), out.Len() })
	_ = bev.SetWatermark(bufferevent.Read, 0, 1<<20)
	_, _, _ = bev.Watermark(bufferevent.Read)
	_ = bev.SetMaxInput(bufferevent.DefaultMaxInput)
	_ = bev.MaxInput()
	_ = bev.SetTimeouts(time.Minute, time.Minute)
	_, _ = bev.Timeouts()
	_, _ = bev.Flush(bufferevent.Write, bufferevent.Normal)
	_ = bev.Trigger(bufferevent.Write, bufferevent.TriggerDefer)
	_ = bev.TriggerEvent(bufferevent.Connected, nil, bufferevent.TriggerDefer)
	_ = bev.SetMaxSingleRead(0)
	_ = bev.SetMaxSingleWrite(0)
	_, _ = bev.MaxSingleRead(), bev.MaxSingleWrite()
	_ = bev.SetPriority(0)
	_ = bev.Priority()
	_, _ = bev.FD()
	_ = bev.Underlying()
	_, _, _ = bev.Callbacks()
	_ = bev.SetCallbacks(nil, nil, nil)
	_ = bev.String()
	_ = bev.Close()
	_ = bev.Close()
}
