package bufferevent

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/bufev/bufev/bufferevent/backend"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
)

var errTimeout = os.ErrDeadlineExceeded

// Type returns the registered type name of the bufferevent. Safe for
// concurrent use.
func (b *BufferEvent) Type() string { return b.typ }

// Base returns the event base the bufferevent runs on. Safe for concurrent
// use.
func (b *BufferEvent) Base() *eventbase.Base { return b.base }

// Options returns the creation options. Safe for concurrent use.
func (b *BufferEvent) Options() Options { return b.opts }

// Input returns the input buffer. Its end is frozen: the user may read and
// drain it but not add to it. Do not register callbacks on it that the
// bufferevent depends on you not to (libevent forbids evbuffer_setcb on
// it); adding your own is allowed. Loop-confined even for ThreadSafe
// bufferevents: from other goroutines use WithLock.
func (b *BufferEvent) Input() *evbuffer.Buffer { return b.in }

// Output returns the output buffer. Its front is frozen: the user may add
// to it but not drain it. Loop-confined even for ThreadSafe bufferevents:
// from other goroutines use WithLock or Write.
func (b *BufferEvent) Output() *evbuffer.Buffer { return b.out }

// SetCallbacks sets the read, write and event callbacks; any may be nil.
// They run on the loop goroutine with no lock held. It fails with ErrClosed
// after Close. Loop-confined unless ThreadSafe.
func (b *BufferEvent) SetCallbacks(read, write ReadFunc, event EventFunc) error {
	if err := b.enter(); err != nil {
		return err
	}
	b.setCallbacks(read, write, event)
	b.cbGen++
	b.leave()
	return nil
}

// Callbacks returns the callbacks set by SetCallbacks (libevent's
// bufferevent_getcb); all nil after Close. Loop-confined unless ThreadSafe.
func (b *BufferEvent) Callbacks() (read, write ReadFunc, event EventFunc) {
	if b.enter() != nil {
		return nil, nil, nil
	}
	defer b.leave()
	return b.readCb, b.writeCb, b.eventCb
}

// Enable enables I/O in the given directions (libevent's bufferevent_enable).
// Directions that are suspended by the library (watermark, rate limit, ...)
// start when the suspension ends. Enabling re-arms the timeouts. Loop-confined
// unless ThreadSafe; on a ThreadSafe bufferevent the enabled bits change at
// once and the backend is updated at the loop's next turn (from any
// goroutine, callbacks included), so backend errors are not reported.
func (b *BufferEvent) Enable(dir Direction) error {
	if dir&^ReadWrite != 0 {
		return fmt.Errorf("%w: %#x", ErrInvalidDirection, uint8(dir))
	}
	if err := b.enter(); err != nil {
		return err
	}
	defer b.leave()
	impl := dir
	if b.readSusp != 0 {
		impl &^= Read
	}
	if b.writeSusp != 0 {
		impl &^= Write
	}
	b.enabled |= dir
	if impl != 0 {
		return b.opsEnable(impl)
	}
	return nil
}

// Disable disables I/O in the given directions. Loop-confined unless
// ThreadSafe (see Enable).
func (b *BufferEvent) Disable(dir Direction) error {
	if dir&^ReadWrite != 0 {
		return fmt.Errorf("%w: %#x", ErrInvalidDirection, uint8(dir))
	}
	if err := b.enter(); err != nil {
		return err
	}
	defer b.leave()
	b.enabled &^= dir
	if dir != 0 {
		return b.opsDisable(dir)
	}
	return nil
}

// Enabled returns the directions the user has enabled (0 after Close). New
// bufferevents start with only Write enabled. Loop-confined unless
// ThreadSafe.
func (b *BufferEvent) Enabled() Direction {
	if b.enter() != nil {
		return 0
	}
	d := b.enabled
	b.leave()
	return d
}

// Write appends p to the output buffer; the backend sends it when writing
// is enabled. It returns len(p), or 0 and ErrClosed after Close. Writing
// is always non-blocking. Loop-confined unless ThreadSafe; a write from
// another goroutine wakes the loop to start the I/O.
func (b *BufferEvent) Write(p []byte) (int, error) {
	if err := b.enter(); err != nil {
		return 0, err
	}
	err := b.out.Add(p)
	b.leave()
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// WriteString is Write for a string. Loop-confined unless ThreadSafe, as
// Write.
func (b *BufferEvent) WriteString(s string) (int, error) {
	if err := b.enter(); err != nil {
		return 0, err
	}
	err := b.out.AddString(s)
	b.leave()
	if err != nil {
		return 0, err
	}
	return len(s), nil
}

// WriteBuffer moves all of buf to the end of the output buffer without
// copying (libevent's bufferevent_write_buffer); buf is left empty.
// Loop-confined unless ThreadSafe, as Write; buf must not be used
// concurrently.
func (b *BufferEvent) WriteBuffer(buf *evbuffer.Buffer) error {
	if buf == nil {
		return ErrNilBuffer
	}
	if err := b.enter(); err != nil {
		return err
	}
	err := b.out.AddBuffer(buf)
	b.leave()
	return err
}

// Read removes up to len(p) bytes from the input buffer into p. It never
// blocks: with nothing buffered it returns 0, nil (libevent's
// bufferevent_read), so BufferEvent is not an io.Reader for blocking use;
// see NetConn for that. Loop-confined unless ThreadSafe.
func (b *BufferEvent) Read(p []byte) (int, error) {
	if err := b.enter(); err != nil {
		return 0, err
	}
	n, err := b.in.Remove(p)
	b.leave()
	return n, err
}

// ReadBuffer moves all of the input buffer to the end of buf without
// copying (libevent's bufferevent_read_buffer). Loop-confined unless
// ThreadSafe; buf must not be used concurrently.
func (b *BufferEvent) ReadBuffer(buf *evbuffer.Buffer) error {
	if buf == nil {
		return ErrNilBuffer
	}
	if err := b.enter(); err != nil {
		return err
	}
	err := buf.AddBuffer(b.in)
	b.leave()
	return err
}

// WithLock calls fn with the input and output buffers while holding the
// bufferevent's lock, for direct buffer access from other goroutines on a
// ThreadSafe bufferevent (libevent's bufferevent_lock). fn must not call
// methods of this bufferevent (the lock is not reentrant) and must not
// keep the buffers. Backend work caused by fn (writing newly added output,
// resuming reads after a drain) is handed to the loop. For other
// bufferevents it simply calls fn and is loop-confined.
func (b *BufferEvent) WithLock(fn func(in, out *evbuffer.Buffer)) error {
	if fn == nil {
		return nil
	}
	if err := b.enter(); err != nil {
		return err
	}
	defer b.leave()
	fn(b.in, b.out)
	return nil
}

// SetWatermark sets the low and high watermarks of the directions in dir
// (libevent's bufferevent_setwatermark); 0 means unset.
//   - Read low: the read callback runs only when the input holds at least
//     low bytes.
//   - Read high: reading is suspended while the input holds high bytes or
//     more, and resumes when it is drained below. A read callback that
//     returns with the input still at or above high while reading is
//     enabled is called again, deferred (libevent's
//     bufferevent_inbuf_wm_check: a backend may overrun high, and the data
//     must not get stuck): a callback that holds data back on purpose must
//     Disable reading until it takes more, or the loop runs it over and
//     over.
//   - Write low: the write callback runs when the output has drained to low
//     bytes or fewer (0: fully drained).
//   - Write high: consulted by producers writing into this bufferevent (a
//     filter or TLS layer on top stops filling it at high).
//
// Negative values fail with ErrNegative, low > high > 0 with ErrWatermark.
// Loop-confined unless ThreadSafe.
func (b *BufferEvent) SetWatermark(dir Direction, low, high int) error {
	if dir&^ReadWrite != 0 {
		return fmt.Errorf("%w: %#x", ErrInvalidDirection, uint8(dir))
	}
	if low < 0 || high < 0 {
		return ErrNegative
	}
	if high > 0 && low > high {
		return ErrWatermark
	}
	if err := b.enter(); err != nil {
		return err
	}
	defer b.leave()
	if dir&Write != 0 {
		b.wlow, b.whigh = low, high
	}
	if dir&Read != 0 {
		b.setReadLimits(low, high, b.maxInput)
		b.recheckInputLimit()
	}
	return nil
}

// recheckInputLimit applies a changed read high watermark or maximum input
// at once. Lock held.
func (b *BufferEvent) recheckInputLimit() {
	hi := b.effectiveHigh()
	if hi > 0 && b.in.Len() >= hi {
		b.suspendRead(backend.SuspendWatermark)
	} else {
		b.unsuspendRead(backend.SuspendWatermark)
	}
}

// Watermark returns the low and high watermark of dir, which must be
// exactly Read or Write (ErrInvalidDirection otherwise, as libevent's
// bufferevent_getwatermark). Loop-confined unless ThreadSafe.
func (b *BufferEvent) Watermark(dir Direction) (low, high int, err error) {
	if dir != Read && dir != Write {
		return 0, 0, fmt.Errorf("%w: %v (want exactly Read or Write)", ErrInvalidDirection, dir)
	}
	if err := b.enter(); err != nil {
		return 0, 0, err
	}
	defer b.leave()
	if dir == Read {
		return b.rlow, b.rhigh, nil
	}
	return b.wlow, b.whigh, nil
}

// SetMaxInput sets the input size at which reading is suspended when no read
// high watermark is set (DefaultMaxInput initially); 0 removes the limit, as
// in libevent. Negative n fails with ErrNegative. Loop-confined unless
// ThreadSafe.
func (b *BufferEvent) SetMaxInput(n int) error {
	if n < 0 {
		return ErrNegative
	}
	if err := b.enter(); err != nil {
		return err
	}
	defer b.leave()
	b.setReadLimits(b.rlow, b.rhigh, n)
	b.recheckInputLimit()
	return nil
}

// MaxInput returns the limit set by SetMaxInput. Loop-confined unless
// ThreadSafe.
func (b *BufferEvent) MaxInput() int {
	if b.enter() != nil {
		return 0
	}
	defer b.leave()
	return b.maxInput
}

// SetTimeouts sets the read and write timeouts; 0 disables one (libevent's
// bufferevent_set_timeouts with NULL). A timeout counts the time since the
// last successful transfer while the bufferevent was trying to transfer in
// that direction (enabled and not suspended; for types without fds, writing
// only while output is pending). When it expires the direction is disabled
// and the event callback gets Timeout|Reading or Timeout|Writing with an
// error matching os.ErrDeadlineExceeded; Enable again to resume. Negative
// durations fail with ErrNegative. Loop-confined unless ThreadSafe.
func (b *BufferEvent) SetTimeouts(read, write time.Duration) error {
	if read < 0 || write < 0 {
		return ErrNegative
	}
	if err := b.enter(); err != nil {
		return err
	}
	defer b.leave()
	b.rto, b.wto = read, write
	if !b.onLoop() {
		b.queueSync(0, true)
		return nil
	}
	return b.ops.AdjustTimeouts()
}

// Timeouts returns the read and write timeouts (0: none). Loop-confined
// unless ThreadSafe.
func (b *BufferEvent) Timeouts() (read, write time.Duration) {
	if b.enter() != nil {
		return 0, 0
	}
	defer b.leave()
	return b.rto, b.wto
}

// Flush asks the backend to push data in the directions dir (libevent's
// bufferevent_flush): Normal as convenient, Flush ignoring watermarks,
// Finished also signalling end of stream (a pair delivers EOF to its
// partner; a socket shuts down its write side once its output is sent,
// where libevent's socket does nothing). It reports whether any data was
// produced or moved. Loop-confined unless ThreadSafe; on a ThreadSafe
// bufferevent (from any goroutine, callbacks included) the flush is handed
// to the loop, runs at its next turn, and Flush reports false, nil.
func (b *BufferEvent) Flush(dir Direction, mode FlushMode) (bool, error) {
	if dir&^ReadWrite != 0 {
		return false, fmt.Errorf("%w: %#x", ErrInvalidDirection, uint8(dir))
	}
	if mode < Normal || mode > Finished {
		return false, fmt.Errorf("%w: %d", ErrInvalidFlushMode, int(mode))
	}
	return b.onLoopRun(func() (bool, error) { return b.ops.Flush(dir, mode) })
}

// onLoopRun runs fn with the lock and a reference held. When loop-confined
// objects may be touched now (a bufferevent that is not ThreadSafe, or core
// code on the loop) fn runs at once and its results are returned. Otherwise
// fn is queued to run on the loop at its next turn and onLoopRun returns
// false, nil at once: the queued run discards fn's results, so fn must
// report through its return values only — never by writing variables of
// the caller, which has returned by then. It fails with ErrClosed after
// Close, and with the base's error if the base is closed.
func (b *BufferEvent) onLoopRun(fn func() (bool, error)) (bool, error) {
	if err := b.enter(); err != nil {
		return false, err
	}
	if b.onLoop() {
		did, err := fn()
		b.leave()
		return did, err
	}
	b.refs++ // for the queued run
	b.leave()
	err := b.base.RunInLoop(func() {
		b.lockLoop()
		if !b.dead {
			_, _ = fn()
		}
		b.decref()
		b.unlockLoop()
	})
	if err != nil {
		b.lock()
		b.decref()
		b.unlock()
		return false, err
	}
	return false, nil
}

// Trigger runs the read and/or write callbacks as if data had arrived or
// drained (libevent's bufferevent_trigger): the read callback if the input
// holds at least the read low watermark, the write callback if the output
// holds at most the write low watermark, or both regardless with
// IgnoreWatermarks. With TriggerDefer or DeferCallbacks the callbacks are
// queued on the base's deferred queue; otherwise they run before Trigger
// returns. Loop-confined unless ThreadSafe; on a ThreadSafe bufferevent
// (from any goroutine, callbacks included) they are always queued, since
// callbacks run only on the loop.
func (b *BufferEvent) Trigger(dir Direction, opts TriggerOptions) error {
	if dir&^ReadWrite != 0 {
		return fmt.Errorf("%w: %#x", ErrInvalidDirection, uint8(dir))
	}
	if err := b.enter(); err != nil {
		return err
	}
	b.trigger(dir, opts&(TriggerDefer|IgnoreWatermarks))
	b.leave()
	return nil
}

// trigger is libevent's bufferevent_trigger_nolock_. Lock held.
func (b *BufferEvent) trigger(dir Direction, opts TriggerOptions) {
	if dir&Read != 0 && (opts&IgnoreWatermarks != 0 || b.in.Len() >= b.rlow) {
		b.runRead(opts)
	}
	if dir&Write != 0 && (opts&IgnoreWatermarks != 0 || b.out.Len() <= b.wlow) {
		b.runWrite(opts)
	}
}

// TriggerEvent runs the event callback with what and err (libevent's
// bufferevent_trigger_event; err is passed as given). Deferral as Trigger.
// Loop-confined unless ThreadSafe.
func (b *BufferEvent) TriggerEvent(what Events, err error, opts TriggerOptions) error {
	if e := b.enter(); e != nil {
		return e
	}
	b.runEvent(what, err, opts&TriggerDefer)
	b.leave()
	return nil
}

// SetMaxSingleRead sets the most bytes one read may add (libevent's
// bufferevent_set_max_single_read); 0 restores DefaultMaxSingle, and values
// above math.MaxInt32 are clamped to it (no system call reads more at once).
// It also sets the input buffer's maximum read. Negative n fails with
// ErrNegative.
// Loop-confined unless ThreadSafe.
func (b *BufferEvent) SetMaxSingleRead(n int) error {
	if n < 0 {
		return ErrNegative
	}
	if n == 0 {
		n = DefaultMaxSingle
	}
	if err := b.enter(); err != nil {
		return err
	}
	defer b.leave()
	b.maxRead = clampInt32(n)
	b.in.SetMaxRead(n)
	return nil
}

// SetMaxSingleWrite sets the most bytes one write may send; 0 restores
// DefaultMaxSingle, and values above math.MaxInt32 are clamped to it.
// Negative n fails with ErrNegative. Loop-confined unless
// ThreadSafe.
func (b *BufferEvent) SetMaxSingleWrite(n int) error {
	if n < 0 {
		return ErrNegative
	}
	if n == 0 {
		n = DefaultMaxSingle
	}
	if err := b.enter(); err != nil {
		return err
	}
	defer b.leave()
	b.maxWrite = clampInt32(n)
	return nil
}

// MaxSingleRead returns the maximum single read. Loop-confined unless
// ThreadSafe.
func (b *BufferEvent) MaxSingleRead() int {
	if b.enter() != nil {
		return 0
	}
	defer b.leave()
	return int(b.maxRead)
}

// MaxSingleWrite returns the maximum single write. Loop-confined unless
// ThreadSafe.
func (b *BufferEvent) MaxSingleWrite() int {
	if b.enter() != nil {
		return 0
	}
	defer b.leave()
	return int(b.maxWrite)
}

// SetPriority sets the priority of the backend's events (libevent's
// bufferevent_priority_set). Types whose backend has no events of its own
// (pair, filter) fail with an error matching errors.ErrUnsupported, as in
// libevent (from any goroutine: the backend's capabilities are constant).
// Loop-confined unless ThreadSafe; on a ThreadSafe bufferevent it is handed
// to the loop like Flush, so off the loop a backend error is not reported.
func (b *BufferEvent) SetPriority(p int) error {
	if b == nil {
		return ErrClosed
	}
	// The backend's capabilities are constant: an unsupported call is an
	// argument error, reported from any goroutine.
	pr, ok := b.ops.(backend.Prioritizer)
	if !ok {
		if b.enter() != nil {
			return ErrClosed
		}
		b.leave()
		return fmt.Errorf("bufferevent: SetPriority on %s: %w", b.typ, ErrUnsupported)
	}
	_, err := b.onLoopRun(func() (bool, error) {
		if err := pr.SetPriority(p); err != nil {
			return false, err
		}
		b.priority = p
		return false, nil
	})
	return err
}

// Priority returns the priority last set with SetPriority, initially the
// base's middle priority (Priorities()/2, as libevent).
// Loop-confined unless ThreadSafe.
func (b *BufferEvent) Priority() int {
	if b.enter() != nil {
		return 0
	}
	defer b.leave()
	return b.priority
}

// FD returns the backend's file descriptor (-1 if it has none yet). Types
// without descriptors (pair, filter) return -1 and an error matching
// errors.ErrUnsupported. Loop-confined unless ThreadSafe.
func (b *BufferEvent) FD() (int, error) {
	if err := b.enter(); err != nil {
		return -1, err
	}
	defer b.leave()
	f, ok := b.ops.(backend.FD)
	if !ok {
		return -1, fmt.Errorf("bufferevent: FD of %s: %w", b.typ, ErrUnsupported)
	}
	return f.FD(), nil
}

// SetFD replaces the backend's descriptor (libevent's bufferevent_setfd);
// errors.ErrUnsupported for types without one (from any goroutine).
// Loop-confined unless ThreadSafe; on a ThreadSafe bufferevent it is handed
// to the loop like Flush, so off the loop a backend error (a bad fd) is not
// reported.
func (b *BufferEvent) SetFD(fd int) error {
	if b == nil {
		return ErrClosed
	}
	s, ok := b.ops.(backend.SetFD)
	if !ok {
		if b.enter() != nil {
			return ErrClosed
		}
		b.leave()
		return fmt.Errorf("bufferevent: SetFD on %s: %w", b.typ, ErrUnsupported)
	}
	_, err := b.onLoopRun(func() (bool, error) { return false, s.SetFD(fd) })
	return err
}

// Underlying returns the bufferevent this one is stacked on (a filter's or
// TLS layer's underlying), or nil. Loop-confined unless ThreadSafe.
func (b *BufferEvent) Underlying() *BufferEvent {
	if b.enter() != nil {
		return nil
	}
	defer b.leave()
	u, ok := b.ops.(backend.Underlying)
	if !ok {
		return nil
	}
	ub, _ := u.Underlying().(*BufferEvent)
	return ub
}

// Close releases the bufferevent (libevent's bufferevent_free): the
// callbacks are cleared at once, operations in flight are cancelled, and
// the backend is closed — closing the fd or underlying bufferevent with
// CloseOnFree — as soon as no callback of this bufferevent is running. So
// Close may be called from inside any callback; the bufferevent is
// finalised after the callback returns. Pending output is not flushed (use
// Flush or wait for the write callback first). Later calls of any method
// return ErrClosed (or a zero value); Close itself returns ErrClosed the
// second time. It returns the backend's close error when finalisation
// happens inside the call. Loop-confined unless ThreadSafe; on a ThreadSafe
// bufferevent the finalisation happens on the loop.
func (b *BufferEvent) Close() error {
	if b == nil {
		return ErrClosed
	}
	b.lock()
	if b.closed || b.dead {
		b.unlock()
		return ErrClosed
	}
	b.closed = true
	b.setCallbacks(nil, nil, nil)
	b.leaveGroupOnClose()
	if !b.onLoop() {
		if err := b.base.RunInLoop(b.closeFn); err == nil {
			b.unlock()
			return nil
		}
		// The base is closed and no loop will run: finish here.
	}
	if c, ok := b.ops.(backend.CancelAll); ok {
		c.CancelAll()
	}
	b.refs-- // the user's reference
	if b.refs <= 0 {
		b.refs = 0
		b.finalize()
	}
	err := b.closeErr
	b.closeErr = nil
	b.unlock()
	return err
}

// String returns the type name and state, for debugging. Loop-confined
// unless ThreadSafe.
func (b *BufferEvent) String() string {
	if b.enter() != nil {
		return "bufferevent(" + b.typ + ", closed)"
	}
	defer b.leave()
	return fmt.Sprintf("bufferevent(%s, enabled=%v, in=%d, out=%d)", b.typ, b.enabled, b.in.Len(), b.out.Len())
}

var _ io.Writer = (*BufferEvent)(nil)
var _ io.StringWriter = (*BufferEvent)(nil)
