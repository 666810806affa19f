package bufferevent

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bufev/bufev/bufferevent/backend"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
	"github.com/bufev/bufev/ratelimit"
)

// Direction is a set of I/O directions (Read, Write); see backend.Direction.
// Values are immutable: safe for concurrent use.
type Direction = backend.Direction

// Directions (libevent's EV_READ and EV_WRITE values).
// Constants, safe for concurrent use.
const (
	Read      = backend.Read
	Write     = backend.Write
	ReadWrite = backend.ReadWrite
)

// Events is the set of bits passed to the event callback; see
// backend.Events.
// Values are immutable: safe for concurrent use.
type Events = backend.Events

// Event bits (libevent's BEV_EVENT_* values).
// Constants, safe for concurrent use.
const (
	Reading   = backend.Reading
	Writing   = backend.Writing
	EOF       = backend.EOF
	Error     = backend.Error
	Timeout   = backend.Timeout
	Connected = backend.Connected
)

// Options are creation options; see backend.Options.
// Values are immutable: safe for concurrent use.
type Options = backend.Options

// Options (libevent's BEV_OPT_* values).
// Constants, safe for concurrent use.
const (
	CloseOnFree     = backend.CloseOnFree
	ThreadSafe      = backend.ThreadSafe
	DeferCallbacks  = backend.DeferCallbacks
	UnlockCallbacks = backend.UnlockCallbacks
)

// TriggerOptions modify Trigger and TriggerEvent; see backend.TriggerOptions.
// Values are immutable: safe for concurrent use.
type TriggerOptions = backend.TriggerOptions

// Trigger options (libevent's BEV_TRIG_* values).
// Constants, safe for concurrent use.
const (
	TriggerDefer     = backend.TriggerDefer
	IgnoreWatermarks = backend.IgnoreWatermarks
)

// FlushMode tells Flush how hard to push data; see backend.FlushMode.
// Values are immutable: safe for concurrent use.
type FlushMode = backend.FlushMode

// Flush modes (libevent's BEV_NORMAL, BEV_FLUSH, BEV_FINISHED).
// Constants, safe for concurrent use.
const (
	Normal   = backend.Normal
	Flush    = backend.Flush
	Finished = backend.Finished
)

// DefaultMaxSingle is the default maximum single read and single write,
// 16 KiB as in libevent.
// A constant, safe for concurrent use.
const DefaultMaxSingle = backend.DefaultMaxSingle

// DefaultMaxInput is the default maximum input size: when no read high
// watermark is set, reading is suspended (as by a high watermark) once the
// input buffer holds this many bytes, and resumes when the user drains it
// below. libevent has no such limit (an input nobody drains grows until
// memory runs out); SetMaxInput changes or removes it.
// A constant, safe for concurrent use.
const DefaultMaxInput = 16 << 20

// ReadFunc is a read or write callback. It runs on the loop goroutine, never
// with the bufferevent's lock held: Loop-confined.
type ReadFunc = func(bev *BufferEvent)

// EventFunc is an event callback: what holds the event bits and err the
// cause (io.EOF for EOF, os.ErrDeadlineExceeded for Timeout, the I/O error
// for Error, nil for Connected). It runs on the loop goroutine, never with
// the bufferevent's lock held: Loop-confined.
type EventFunc = func(bev *BufferEvent, what Events, err error)

// Config is what a backend passes to New besides the base and build
// function.
// A Config is a plain value; New only reads it: safe for concurrent use as
// long as nobody writes it meanwhile.
type Config struct {
	// Type is the registered type name (see Register). Required.
	Type string
	// Options are the creation options.
	Options Options
	// ShareLock, if non-nil and both bufferevents are ThreadSafe, makes the
	// new bufferevent use ShareLock's mutex instead of its own, as libevent
	// shares a lock between the two ends of a pair and down a filter stack.
	// Backends that move data between two bufferevents inside one locked
	// region need this: the mutex is not reentrant.
	ShareLock *BufferEvent
	// WriteTimer says when the core's generic write timer runs (see
	// backend.WriteTimerPolicy): by default only while output is pending.
	WriteTimer backend.WriteTimerPolicy
}

// BufferEvent is a buffered connection: an input and an output buffer, an
// I/O backend that moves bytes between them and the outside (a socket, a
// partner, an underlying bufferevent), and user callbacks run on the base's
// loop goroutine when data arrived (read), when output drained (write) and
// on events (EOF, errors, timeouts, connect). It is libevent's struct
// bufferevent.
//
// A BufferEvent is created by a backend package (socket.New, pair.New,
// filter.New, ...) or by Open. The zero value is not usable.
//
// Concurrency: a BufferEvent is loop-confined — call its methods from its
// base's loop goroutine (callbacks, functions given to Base.RunInLoop), or
// while the loop is not running — unless it was created with ThreadSafe, in
// which case every method is safe for concurrent use. Each method's doc
// states it. Callbacks always run on the loop goroutine, never with the lock
// held, so a callback may call any method, including Close.
type BufferEvent struct {
	// Everything a read event, the read callback and an echoed write touch
	// is in one cache line, the last (TestLayoutHotLine keeps it so): with
	// thousands of connections each line a message walks is a likely miss
	// (bench/doc.go has the measurements). Not the first: every
	// bufferevent New allocates starts at a multiple of 512 bytes, so a
	// first line would share its cache sets with every other object whose
	// hot fields start it (sockets, buffers) and push them out of the
	// last-level cache. The last, so that a backend embedding the
	// bufferevent (Init) can put its own hot line right after it (the
	// socket backend does). Keep the struct at exactly 512 bytes: Go
	// prefixes larger objects with an 8-byte allocation header, which
	// shifts these lines.

	// The first line: the watermarks, limits and callbacks the common path
	// does not read (the hot line keeps what it needs of them, readHigh,
	// the int32 maximums, the wm bits and hasWrite, kept in step by the
	// setters). Guarded by the lock (loop-confined when there is none), as
	// all below unless said otherwise.
	writeCb     ReadFunc
	wpolicy     backend.WriteTimerPolicy // constant after New
	generic     bool                     // the backend uses the generic timers
	pendRead    bool                     // deferred callbacks (libevent's readcb_pending etc.)
	pendWrite   bool
	deferQueued bool
	pendEvents  Events
	rlow, rhigh int
	wlow, whigh int
	maxInput    int
	eventCb     EventFunc

	// rate limiting (read only when rlOn is set)
	rl ratelimit.Limiter

	rto, wto time.Duration
	ops      backend.Ops     // constant after New
	base     *eventbase.Base // constant after New

	rlTimer *eventbase.Event

	cbGen    uint64 // incremented by SetCallbacks
	priority int
	closeErr error
	wmCb     *evbuffer.Callback
	outCb    *evbuffer.Callback

	pendErr error // deferred event callback's error (pendEvents)

	// work handed from other goroutines to the loop (ThreadSafe only)
	syncDirs     Direction
	syncTimeouts bool
	syncQueued   bool

	// Constant after New.
	typ     string
	deferFn func() // b.runDeferred, allocated once
	syncFn  func() // b.syncOnLoop, allocated once
	dropFn  func() // b.dropUserRef, allocated once
	closeFn func() // b.closeOnLoop, allocated once

	// functions queued by Core.RunInLoop: created on first use (most
	// bufferevents never queue any), which keeps this struct within 512
	// bytes
	lq atomic.Pointer[loopQueue]

	// generic timers (created on first use)
	rtimer, wtimer *eventbase.Event

	// Pads the struct to 512 bytes, an aligned size class (TestLayoutSize
	// keeps it so), with the hot line last.
	_ [40]byte

	// The hot line.
	lk        *lockState // nil unless ThreadSafe; constant after New
	in, out   *evbuffer.Buffer
	readCb    ReadFunc
	readHigh  int // effectiveHigh(): rhigh if set, else maxInput (0: unlimited)
	refs      int32
	maxRead   int32   // SetMaxSingleRead, clamped to math.MaxInt32
	maxWrite  int32   // SetMaxSingleWrite, clamped to math.MaxInt32
	opts      Options // constant after New
	enabled   Direction
	wm        uint8 // wmRLow: rlow > 0; wmRHigh: rhigh > 0
	readSusp  backend.SuspendReason
	writeSusp backend.SuspendReason
	closed    bool // the user called Close
	dead      bool // finalised: Ops.Close ran
	rlOn      bool // the limiter has a config or a group (rlSync)
	hasWrite  bool // writeCb != nil
}

// New builds a bufferevent of the registered type cfg.Type on base: the
// core state (buffers, callbacks, watermarks, timeouts, deferral, rate-limit
// hooks) plus the backend's Ops, which build makes from the core handle. It
// is the constructor used by backend packages (like sql.OpenDB for drivers);
// users call the backend's own constructor or Open.
//
// The new bufferevent has Write enabled and Read disabled (as in libevent),
// its input's end and output's front frozen, maximum single read and write
// DefaultMaxSingle, maximum input DefaultMaxInput and no timeouts. build
// runs before New returns, on the calling goroutine; it must not trigger
// callbacks. If build fails, New returns its error and nothing is leaked.
//
// Safe for concurrent use (each call builds a new bufferevent and touches no
// shared state but the registry).
func New(base *eventbase.Base, cfg Config, build func(c backend.Core) (backend.Ops, error)) (*BufferEvent, error) {
	b := new(BufferEvent)
	if err := b.init(base, cfg, build); err != nil {
		return nil, err
	}
	return b, nil
}

// Init is New building the bufferevent in b, a zero BufferEvent that a
// backend embeds in its own object (its Ops, say), so that the two share an
// allocation and, with thousands of connections, the bufferevent's hot cache
// line can sit next to the backend's (the socket backend does this). b must
// never have been used (ErrNotZero otherwise, and for a nil b) and must not
// be copied afterwards; the *BufferEvent handed to users is b itself.
// Everything else is New's.
//
// What a failure leaves depends on where it happened. ErrNotZero leaves b as
// it was. An argument rejected before anything is built (ErrNilBase, a nil
// build function's ErrNilBuild, ErrUnknownType, ErrInvalidOptions) leaves b
// zero: Init may be called on it again. A failure of build itself (its
// error, or ErrNilBuild for a nil Ops) leaves b set up and finalised:
// unusable (a later Init fails with ErrNotZero) but holding nothing, so the
// object around it may simply be dropped, as New leaks nothing.
//
// Safe for concurrent use on distinct BufferEvents (it touches no shared
// state but the registry); two calls on the same b at once are a data race.
func Init(b *BufferEvent, base *eventbase.Base, cfg Config, build func(c backend.Core) (backend.Ops, error)) error {
	if b == nil || b.base != nil || b.in != nil {
		return ErrNotZero
	}
	return b.init(base, cfg, build)
}

// init is New and Init on a zero b.
func (b *BufferEvent) init(base *eventbase.Base, cfg Config, build func(c backend.Core) (backend.Ops, error)) error {
	if base == nil {
		return ErrNilBase
	}
	if build == nil {
		return ErrNilBuild
	}
	if _, err := lookup(cfg.Type); err != nil {
		return err
	}
	if !cfg.Options.Valid() {
		return fmt.Errorf("%w: %#x", ErrInvalidOptions, uint16(cfg.Options))
	}
	if cfg.WriteTimer > backend.WriteTimerWhileEnabled {
		return fmt.Errorf("%w: write timer policy %d", ErrInvalidOptions, cfg.WriteTimer)
	}
	b.base = base
	b.typ = cfg.Type
	b.opts = cfg.Options
	b.wpolicy = cfg.WriteTimer
	b.enabled = Write
	b.maxInput = DefaultMaxInput
	b.readHigh = DefaultMaxInput
	b.maxRead = DefaultMaxSingle
	b.maxWrite = DefaultMaxSingle
	b.priority = base.Priorities() / 2
	b.refs = 1
	b.in, b.out = evbuffer.New(), evbuffer.New()
	if cfg.Options&ThreadSafe != 0 {
		if s := cfg.ShareLock; s != nil && s.lk != nil {
			b.lk = s.lk
		} else {
			b.lk = new(lockState)
		}
	} else {
		// Loop-confined buffers share their base's chain cache: a read takes
		// the chain the last write freed, without the shared pools' atomics.
		cc := base.Local(chainCacheKey{}, newChainCache).(*evbuffer.ChainCache)
		b.in.SetChainCache(cc)
		b.out.SetChainCache(cc)
	}
	b.deferFn = b.runDeferred
	b.syncFn = b.syncOnLoop
	b.dropFn = b.dropUserRef
	b.closeFn = b.closeOnLoop
	b.in.SetMaxRead(DefaultMaxSingle)
	b.in.Freeze(false)
	b.out.Freeze(true)
	// Notifiers on the bufferevent itself: a change calls into the object
	// the loop is already touching, with no Callback or closure object in
	// between (evbuffer.Notifier).
	b.wmCb = b.in.AddNotifier((*inputNotifier)(b))
	b.syncWatermarkCb()
	b.outCb = b.out.AddNotifier((*outputNotifier)(b))
	// outputChanged has nothing to do until the backend uses the generic
	// timers (useGeneric): a disabled callback costs the output buffer no
	// call per change.
	b.outCb.SetEnabled(false)

	ops, err := build((*core)(b))
	if err == nil && ops == nil {
		err = ErrNilBuild
	}
	if err != nil {
		b.dead = true
		b.freeTimers()
		return err
	}
	b.ops = ops
	return nil
}

// ---- locking and references ----

// lockState is the lock of a ThreadSafe bufferevent, possibly shared with
// others (Config.ShareLock).
type lockState struct {
	mu sync.Mutex
	// loopCtx is true while the holder of mu is the loop goroutine running
	// core or backend code (not user code): backend operations may then be
	// called directly. Any other holder hands them to the loop. Only the
	// holder of mu reads or writes it, and it is cleared before mu is
	// released.
	loopCtx bool
}

func (b *BufferEvent) lock() {
	if b.lk != nil {
		b.lk.mu.Lock()
	}
}

func (b *BufferEvent) unlock() {
	if b.lk != nil {
		b.lk.mu.Unlock()
	}
}

// lockLoop locks on behalf of loop-only code (timers, deferred runs, queued
// work, backend callbacks through Core.Lock/Enter) and marks the holder as
// loop code; unlockLoop clears the mark and unlocks.
func (b *BufferEvent) lockLoop() {
	if b.lk != nil {
		b.lk.mu.Lock()
		b.lk.loopCtx = true
	}
}

func (b *BufferEvent) unlockLoop() {
	if b.lk != nil {
		b.lk.loopCtx = false
		b.lk.mu.Unlock()
	}
}

// release and reacquire drop the lock around a user callback, keeping the
// loop-context flag of the holder.
func (b *BufferEvent) release() bool {
	if b.lk == nil {
		return false
	}
	ctx := b.lk.loopCtx
	b.lk.loopCtx = false
	b.lk.mu.Unlock()
	return ctx
}

func (b *BufferEvent) reacquire(ctx bool) {
	if b.lk != nil {
		b.lk.mu.Lock()
		b.lk.loopCtx = ctx
	}
}

// decref drops a reference; the lock is held. At zero the bufferevent is
// finalised (on the loop: a ThreadSafe bufferevent dropping its last
// reference on another goroutine hands the finalisation to the loop).
func (b *BufferEvent) decref() {
	b.refs--
	if b.refs > 0 {
		return
	}
	if b.refs < 0 {
		b.refs = 0
		return
	}
	if !b.onLoop() {
		// Keep one reference for the hand-off; dropUserRef drops it on
		// the loop.
		b.refs = 1
		if err := b.base.RunInLoop(b.dropFn); err == nil {
			return
		}
		// The base is closed: no loop will run again, so nothing else
		// touches the backend's events; finalise here.
		b.refs = 0
	}
	b.finalize()
}

// dropUserRef runs on the loop to drop a reference handed over by decref.
func (b *BufferEvent) dropUserRef() {
	b.lockLoop()
	b.decref()
	b.unlockLoop()
}

// closeOnLoop finishes a Close made outside the loop context: cancel
// operations in flight, then drop the user's reference.
func (b *BufferEvent) closeOnLoop() {
	b.lockLoop()
	if c, ok := b.ops.(backend.CancelAll); ok && !b.dead {
		c.CancelAll()
	}
	b.decref()
	b.unlockLoop()
}

// finalize releases everything; the lock is held and no reference remains.
func (b *BufferEvent) finalize() {
	if b.dead {
		return
	}
	b.dead = true
	b.setCallbacks(nil, nil, nil)
	b.pendRead, b.pendWrite, b.pendEvents, b.pendErr = false, false, 0, nil
	b.freeTimers()
	if b.wmCb != nil {
		_ = b.in.RemoveCallback(b.wmCb)
		b.wmCb = nil
	}
	if b.outCb != nil {
		_ = b.out.RemoveCallback(b.outCb)
		b.outCb = nil
	}
	b.rl.LeaveGroup()
	b.rlSync()
	if b.ops != nil {
		b.closeErr = b.ops.Close()
	}
	// The buffers may outlive the bufferevent and leave the loop: from now
	// on they use the shared pools.
	b.in.SetChainCache(nil)
	b.out.SetChainCache(nil)
}

// chainCacheKey is the eventbase.Local key of a base's evbuffer.ChainCache,
// shared by the buffers of its bufferevents without ThreadSafe.
type chainCacheKey struct{}

func newChainCache() any { return evbuffer.NewChainCache() }

func (b *BufferEvent) freeTimers() {
	for _, t := range []**eventbase.Event{&b.rtimer, &b.wtimer, &b.rlTimer} {
		if *t != nil {
			(*t).Free()
			*t = nil
		}
	}
}

// enter locks and takes a reference; it fails with ErrClosed after Close.
func (b *BufferEvent) enter() error {
	if b == nil {
		return ErrClosed
	}
	b.lock()
	if b.closed || b.dead {
		b.unlock()
		return ErrClosed
	}
	b.refs++
	return nil
}

// leave drops the reference taken by enter and unlocks.
func (b *BufferEvent) leave() {
	b.decref()
	b.unlock()
}

// ---- running callbacks ----

// callRead runs the read callback now, unlocked; the lock is held and a
// reference is taken by the caller.
func (b *BufferEvent) callRead() {
	cb := b.readCb
	if cb == nil {
		return
	}
	ctx := b.release()
	cb(b)
	b.reacquire(ctx)
	b.inbufWatermarkCheck()
}

func (b *BufferEvent) callWrite() {
	cb := b.writeCb
	if cb == nil {
		return
	}
	ctx := b.release()
	cb(b)
	b.reacquire(ctx)
}

func (b *BufferEvent) callEvent(what Events, err error) {
	cb := b.eventCb
	if cb == nil {
		return
	}
	ctx := b.release()
	cb(b, what, err)
	b.reacquire(ctx)
}

// inbufWatermarkCheck re-triggers the read callback (deferred) when the
// user's read callback left the input at or above the read high watermark
// while reading is enabled: a backend that overran the watermark (TLS reads
// whole records) would otherwise never call it again (libevent's
// bufferevent_inbuf_wm_check).
func (b *BufferEvent) inbufWatermarkCheck() {
	if b.wm&wmRHigh == 0 || b.enabled&Read == 0 || b.in.Len() < b.rhigh {
		return
	}
	b.runRead(TriggerDefer)
}

// runRead runs or schedules the read callback (libevent's
// bufferevent_run_readcb_). Lock held.
func (b *BufferEvent) runRead(opts TriggerOptions) {
	if b.readCb == nil {
		return
	}
	if b.mustDefer(opts) {
		b.pendRead = true
		b.scheduleDeferred()
		return
	}
	b.refs++
	b.callRead()
	b.decref()
}

func (b *BufferEvent) runWrite(opts TriggerOptions) {
	if !b.hasWrite {
		return
	}
	if b.mustDefer(opts) {
		b.pendWrite = true
		b.scheduleDeferred()
		return
	}
	b.refs++
	b.callWrite()
	b.decref()
}

func (b *BufferEvent) runEvent(what Events, err error, opts TriggerOptions) {
	if b.eventCb == nil {
		return
	}
	if b.mustDefer(opts) {
		b.pendEvents |= what
		if b.pendErr == nil {
			b.pendErr = err
		}
		b.scheduleDeferred()
		return
	}
	b.refs++
	b.callEvent(what, err)
	b.decref()
}

// mustDefer reports whether a callback must be queued: the option or the
// trigger asks for it, or we are not on the loop goroutine (callbacks only
// ever run on the loop).
func (b *BufferEvent) mustDefer(opts TriggerOptions) bool {
	return (TriggerOptions(b.opts)|opts)&TriggerDefer != 0 || !b.onLoop()
}

// scheduleDeferred queues runDeferred once. Lock held. It takes no
// reference: a deferred function may never run (the base's Close runs its
// deferred queue but drops what keeps re-queueing itself, and Defer after
// Close drops its function), and a reference held there would keep a closed
// bufferevent from ever being finalised (its fd never closed). A run that
// finds the bufferevent finalised does nothing; Close clears the callbacks
// anyway.
func (b *BufferEvent) scheduleDeferred() {
	if b.deferQueued || b.dead {
		return
	}
	if b.onLoop() {
		b.base.Defer(b.deferFn)
	} else if err := b.base.RunInLoop(b.deferFn); err != nil {
		return // base closed: the callbacks can never run
	}
	b.deferQueued = true
}

// runDeferred runs the coalesced callbacks in libevent's order: connected,
// read, write, other events.
func (b *BufferEvent) runDeferred() {
	b.lockLoop()
	b.deferQueued = false
	if b.dead {
		b.pendRead, b.pendWrite, b.pendEvents, b.pendErr = false, false, 0, nil
		b.unlockLoop()
		return
	}
	b.refs++
	if b.pendEvents&Connected != 0 {
		b.pendEvents &^= Connected
		b.callEvent(Connected, nil)
	}
	if b.pendRead {
		b.pendRead = false
		b.callRead()
	}
	if b.pendWrite {
		b.pendWrite = false
		b.callWrite()
	}
	if b.pendEvents != 0 {
		what, err := b.pendEvents, b.pendErr
		b.pendEvents, b.pendErr = 0, nil
		b.callEvent(what, err)
	}
	b.decref()
	b.unlockLoop()
}

// ---- suspension and the watermark callback ----

// inputChanged is the input buffer's callback: it enforces the read high
// watermark (or the maximum input) by suspending reading at or above it and
// resuming below it (libevent's bufferevent_inbuf_wm_cb). It runs inside the
// buffer operation, with the lock held by whoever changed the input.
// inputNotifier and outputNotifier are the bufferevent seen as the
// evbuffer.Notifier of its input (inputChanged) and output (outputChanged).
type (
	inputNotifier  BufferEvent
	outputNotifier BufferEvent
)

func (n *inputNotifier) BufferChanged(buf *evbuffer.Buffer, info evbuffer.CallbackInfo) {
	(*BufferEvent)(n).inputChanged(buf, info)
}

func (n *outputNotifier) BufferChanged(buf *evbuffer.Buffer, info evbuffer.CallbackInfo) {
	(*BufferEvent)(n).outputChanged(buf, info)
}

func (b *BufferEvent) inputChanged(buf *evbuffer.Buffer, _ evbuffer.CallbackInfo) {
	if b.dead {
		return
	}
	hi := b.effectiveHigh()
	if hi > 0 && buf.Len() >= hi {
		b.suspendRead(backend.SuspendWatermark)
	} else if b.readSusp&backend.SuspendWatermark != 0 {
		b.unsuspendRead(backend.SuspendWatermark)
	}
}

// outputChanged starts the generic write timer when the output becomes
// non-empty (writing is "trying" from then on), for backends that use the
// generic timers. It runs inside the buffer operation, lock held.
func (b *BufferEvent) outputChanged(_ *evbuffer.Buffer, info evbuffer.CallbackInfo) {
	if !b.generic || b.dead || b.wto <= 0 || info.Added == 0 || info.OrigSize != 0 || !b.active(Write) {
		return
	}
	if !b.onLoop() {
		b.queueSync(0, true)
		return
	}
	if b.ensureTimers() != nil {
		return
	}
	if p, _ := b.wtimer.Pending(eventbase.Timeout); p == 0 {
		_ = b.wtimer.AddTimeout(b.wto)
	}
}

// effectiveHigh is the read high watermark, or the maximum input when none
// is set (0 means unlimited).
func (b *BufferEvent) effectiveHigh() int { return b.readHigh }

// Bits of BufferEvent.wm.
const (
	wmRLow  = 1 << iota // rlow > 0
	wmRHigh             // rhigh > 0
)

// setReadLimits sets the read watermarks and the maximum input, and what
// the first cache line keeps of them. Lock held.
func (b *BufferEvent) setReadLimits(low, high, maxInput int) {
	b.rlow, b.rhigh, b.maxInput = low, high, maxInput
	b.wm = 0
	if low > 0 {
		b.wm |= wmRLow
	}
	b.readHigh = maxInput
	if high > 0 {
		b.wm |= wmRHigh
		b.readHigh = high
	}
}

// setCallbacks sets the three user callbacks. Lock held.
func (b *BufferEvent) setCallbacks(read, write ReadFunc, event EventFunc) {
	b.readCb, b.writeCb, b.eventCb = read, write, event
	b.hasWrite = write != nil
}

// clampInt32 bounds a maximum single read or write to what the first cache
// line keeps (no system call moves more than 2 GiB at once anyway).
func clampInt32(n int) int32 { return int32(min(n, math.MaxInt32)) }

func (b *BufferEvent) suspendRead(why backend.SuspendReason) {
	was := b.readSusp
	b.readSusp |= why
	if why&backend.SuspendWatermark != 0 {
		b.syncWatermarkCb()
	}
	if was == 0 && b.readSusp != 0 {
		b.opsDisable(Read)
	}
}

func (b *BufferEvent) unsuspendRead(why backend.SuspendReason) {
	if b.readSusp == 0 {
		return
	}
	b.readSusp &^= why
	if why&backend.SuspendWatermark != 0 {
		b.syncWatermarkCb()
	}
	if b.readSusp == 0 && b.enabled&Read != 0 {
		b.opsEnable(Read)
	}
}

// syncWatermarkCb makes the input's watermark callback (inputChanged) skip
// removals unless reading is suspended by the watermark. Only an addition
// can take the input to the limit (SetWatermark and SetMaxInput recheck at
// once), and only a removal can release a suspension, so an echo's drains of
// its input cost one test instead of a callback run.
func (b *BufferEvent) syncWatermarkCb() {
	if b.wmCb != nil {
		b.wmCb.SetAddsOnly(b.readSusp&backend.SuspendWatermark == 0)
	}
}

func (b *BufferEvent) suspendWrite(why backend.SuspendReason) {
	was := b.writeSusp
	b.writeSusp |= why
	if was == 0 && b.writeSusp != 0 {
		b.opsDisable(Write)
	}
}

func (b *BufferEvent) unsuspendWrite(why backend.SuspendReason) {
	if b.writeSusp == 0 {
		return
	}
	b.writeSusp &^= why
	if b.writeSusp == 0 && b.enabled&Write != 0 {
		b.opsEnable(Write)
	}
}

// opsEnable and opsDisable call the backend on the loop, or hand the call to
// the loop when running elsewhere (ThreadSafe bufferevents used from other
// goroutines). Lock held.
func (b *BufferEvent) opsEnable(dir Direction) error {
	if b.dead || b.ops == nil {
		return nil
	}
	if !b.onLoop() {
		b.queueSync(dir, false)
		return nil
	}
	return b.ops.Enable(dir)
}

func (b *BufferEvent) opsDisable(dir Direction) error {
	if b.dead || b.ops == nil {
		return nil
	}
	if !b.onLoop() {
		b.queueSync(dir, false)
		return nil
	}
	return b.ops.Disable(dir)
}

// queueSync records that the backend must be brought in line with the core
// state for dirs (and the timeouts) and wakes the loop once to do it.
func (b *BufferEvent) queueSync(dirs Direction, timeouts bool) {
	b.syncDirs |= dirs
	b.syncTimeouts = b.syncTimeouts || timeouts
	if b.syncQueued {
		return
	}
	if err := b.base.RunInLoop(b.syncFn); err != nil {
		return
	}
	b.syncQueued = true
	b.refs++
}

// disableUser clears the user's enabled bits for dir and stops the backend
// in dir (Core.DisableUser). Lock held.
func (b *BufferEvent) disableUser(dir Direction) {
	dir &= ReadWrite
	b.enabled &^= dir
	if dir != 0 {
		_ = b.opsDisable(dir)
	}
}

// syncOnLoop applies, on the loop, the enable/disable/timeout changes made
// on other goroutines.
func (b *BufferEvent) syncOnLoop() {
	b.lockLoop()
	b.syncQueued = false
	dirs, tmo := b.syncDirs, b.syncTimeouts
	b.syncDirs, b.syncTimeouts = 0, false
	if !b.dead && b.ops != nil {
		for _, d := range [2]Direction{Read, Write} {
			if dirs&d == 0 {
				continue
			}
			if b.active(d) {
				_ = b.ops.Enable(d)
			} else {
				_ = b.ops.Disable(d)
			}
		}
		if tmo {
			_ = b.ops.AdjustTimeouts()
		}
	}
	b.decref()
	b.unlockLoop()
}

func (b *BufferEvent) active(d Direction) bool {
	if b.enabled&d == 0 {
		return false
	}
	if d == Read {
		return b.readSusp == 0
	}
	return b.writeSusp == 0
}

// onLoop reports whether loop-confined objects (the backend, its events,
// the generic timers) may be touched now: always for bufferevents that are
// not ThreadSafe (their methods are loop-confined by contract), and for
// ThreadSafe ones when the lock holder is loop-only code. Lock held.
func (b *BufferEvent) onLoop() bool {
	return b.lk == nil || b.lk.loopCtx
}

// ---- generic timers ----

func (b *BufferEvent) ensureTimers() error {
	if b.rtimer != nil {
		return nil
	}
	rt, err := b.base.NewTimer(b.readTimeout)
	if err != nil {
		return err
	}
	wt, err := b.base.NewTimer(b.writeTimeout)
	if err != nil {
		rt.Free()
		return err
	}
	b.rtimer, b.wtimer = rt, wt
	return nil
}

func (b *BufferEvent) readTimeout()  { b.timedOut(Read, Timeout|Reading) }
func (b *BufferEvent) writeTimeout() { b.timedOut(Write, Timeout|Writing) }

// timedOut is libevent's bufferevent_generic_{read,write}_timeout_cb:
// disable the direction, then report the timeout.
func (b *BufferEvent) timedOut(dir Direction, what Events) {
	b.lockLoop()
	if b.dead {
		b.unlockLoop()
		return
	}
	b.refs++
	b.disableUser(dir)
	b.stopTimers(dir)
	b.runEvent(what, errTimeout, 0)
	b.decref()
	b.unlockLoop()
}

func (b *BufferEvent) adjustGenericTimeouts() error {
	if b.dead {
		return nil
	}
	b.useGeneric()
	var err error
	if b.active(Read) && b.rto > 0 {
		if err = b.ensureTimers(); err == nil {
			err = b.rtimer.AddTimeout(b.rto)
		}
	} else if b.rtimer != nil {
		err = b.rtimer.Del()
	}
	var err2 error
	if b.active(Write) && b.wto > 0 && (b.out.Len() > 0 || b.wpolicy == backend.WriteTimerWhileEnabled) {
		if err2 = b.ensureTimers(); err2 == nil {
			err2 = b.wtimer.AddTimeout(b.wto)
		}
	} else if b.wtimer != nil {
		err2 = b.wtimer.Del()
	}
	return errors.Join(err, err2)
}

// useGeneric records that the backend uses the generic timers and turns on
// outputChanged, which starts the write timer when output appears.
func (b *BufferEvent) useGeneric() {
	if b.generic {
		return
	}
	b.generic = true
	if b.outCb != nil {
		b.outCb.SetEnabled(true)
	}
}

func (b *BufferEvent) stopTimers(dir Direction) {
	if dir&Read != 0 && b.rtimer != nil {
		_ = b.rtimer.Del()
	}
	if dir&Write != 0 && b.wtimer != nil {
		_ = b.wtimer.Del()
	}
}
