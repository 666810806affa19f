package backend

import (
	"errors"
	"net"
	"time"

	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
)

// Direction is a set of I/O directions: Read, Write or both. Its bit values
// are libevent's EV_READ and EV_WRITE. The bufferevent package aliases it as
// bufferevent.Direction.
// Values are immutable: safe for concurrent use.
type Direction uint8

// Directions.
// Constants, safe for concurrent use.
const (
	// Read is the input direction (libevent EV_READ, 0x02).
	Read Direction = 0x02
	// Write is the output direction (libevent EV_WRITE, 0x04).
	Write Direction = 0x04
	// ReadWrite is both directions.
	ReadWrite = Read | Write
)

// String returns "Read", "Write", "Read|Write" or "0".
// Safe for concurrent use.
func (d Direction) String() string {
	switch d & ReadWrite {
	case Read:
		return "Read"
	case Write:
		return "Write"
	case ReadWrite:
		return "Read|Write"
	}
	return "0"
}

// Events is the set of bits passed to a bufferevent's event callback. The bit
// values are libevent's BEV_EVENT_* values. The bufferevent package aliases it
// as bufferevent.Events.
// Values are immutable: safe for concurrent use.
type Events uint16

// Event bits.
// Constants, safe for concurrent use.
const (
	// Reading: the condition happened while reading (BEV_EVENT_READING).
	Reading Events = 0x01
	// Writing: the condition happened while writing (BEV_EVENT_WRITING).
	Writing Events = 0x02
	// EOF: the peer finished its stream (BEV_EVENT_EOF). The error passed
	// with it matches io.EOF.
	EOF Events = 0x10
	// Error: an I/O error (BEV_EVENT_ERROR). The error passed with it is
	// the cause.
	Error Events = 0x20
	// Timeout: a read or write timeout expired (BEV_EVENT_TIMEOUT). The
	// error passed with it matches os.ErrDeadlineExceeded.
	Timeout Events = 0x40
	// Connected: a connect completed (BEV_EVENT_CONNECTED). The error is nil.
	Connected Events = 0x80
)

// String lists the set bits, e.g. "Reading|EOF".
// Safe for concurrent use.
func (e Events) String() string {
	if e == 0 {
		return "0"
	}
	names := [...]struct {
		bit  Events
		name string
	}{{Reading, "Reading"}, {Writing, "Writing"}, {EOF, "EOF"}, {Error, "Error"}, {Timeout, "Timeout"}, {Connected, "Connected"}}
	var buf []byte
	rest := e
	for _, n := range names {
		if e&n.bit != 0 {
			if len(buf) > 0 {
				buf = append(buf, '|')
			}
			buf = append(buf, n.name...)
			rest &^= n.bit
		}
	}
	if rest != 0 {
		if len(buf) > 0 {
			buf = append(buf, '|')
		}
		buf = append(buf, "0x"...)
		const hex = "0123456789abcdef"
		var tmp [4]byte
		for i := 3; i >= 0; i-- {
			tmp[i] = hex[rest&0xf]
			rest >>= 4
		}
		buf = append(buf, tmp[:]...)
	}
	return string(buf)
}

// Options are the creation options of a bufferevent (libevent's
// BEV_OPT_*; same bit values). The bufferevent package aliases it as
// bufferevent.Options.
// Values are immutable: safe for concurrent use.
type Options uint16

// Options.
// Constants, safe for concurrent use.
const (
	// CloseOnFree: closing the bufferevent also closes what it owns (the
	// fd of a socket bufferevent, the underlying bufferevent of a filter).
	CloseOnFree Options = 1
	// ThreadSafe: every method of the bufferevent may be called from any
	// goroutine (a mutex guards its state). User callbacks always run on the
	// loop goroutine with the mutex released.
	ThreadSafe Options = 2
	// DeferCallbacks: user callbacks are queued on the base's deferred queue
	// instead of running inside the I/O that caused them, coalesced per
	// bufferevent and run in libevent's order: connected, read, write, other
	// events.
	DeferCallbacks Options = 4
	// UnlockCallbacks: run deferred callbacks without the lock. In bufev
	// callbacks never run with the lock held, so this only keeps libevent's
	// rule that it requires DeferCallbacks.
	UnlockCallbacks Options = 8

	allOptions = CloseOnFree | ThreadSafe | DeferCallbacks | UnlockCallbacks
)

// Valid reports whether o holds only known option bits and obeys libevent's
// rule that UnlockCallbacks requires DeferCallbacks.
// Safe for concurrent use.
func (o Options) Valid() bool {
	if o&^allOptions != 0 {
		return false
	}
	return o&UnlockCallbacks == 0 || o&DeferCallbacks != 0
}

// TriggerOptions modify Core.TriggerRead/TriggerWrite/TriggerEvent and the
// user-facing Trigger/TriggerEvent. The bufferevent package aliases it.
// Values are immutable: safe for concurrent use.
type TriggerOptions uint32

// Trigger options (libevent's BEV_TRIG_*; same bit values).
// Constants, safe for concurrent use.
const (
	// TriggerDefer queues the callback on the base's deferred queue even if
	// the bufferevent was not created with DeferCallbacks
	// (BEV_TRIG_DEFER_CALLBACKS, equal to the DeferCallbacks option bit).
	TriggerDefer TriggerOptions = TriggerOptions(DeferCallbacks)
	// IgnoreWatermarks runs the read or write callback whatever the
	// buffer lengths (BEV_TRIG_IGNORE_WATERMARKS, 1<<16).
	IgnoreWatermarks TriggerOptions = 1 << 16
)

// SuspendReason is a set of reasons for which the library (not the user) has
// stopped I/O in one direction (libevent's BEV_SUSPEND_*; same bit values for
// the shared ones). A direction performs I/O only when the user has enabled it
// and no reason is set.
// Values are immutable: safe for concurrent use.
type SuspendReason uint16

// Suspension reasons.
// Constants, safe for concurrent use.
const (
	// SuspendWatermark: the input reached the read high watermark (or the
	// default input limit), or a filter's underlying output is full.
	SuspendWatermark SuspendReason = 0x01
	// SuspendBandwidth: the bufferevent's own rate-limit bucket is empty.
	SuspendBandwidth SuspendReason = 0x02
	// SuspendGroup: the rate-limit group's bucket is empty.
	SuspendGroup SuspendReason = 0x04
	// SuspendLookup: a hostname lookup is in progress.
	SuspendLookup SuspendReason = 0x08
	// SuspendFilter: a filter or TLS layer on top is not reading from this
	// bufferevent.
	SuspendFilter SuspendReason = 0x10
	// SuspendBackendMask: bits a backend may use for its own reasons (for
	// example "connect in progress"); the core never sets them.
	SuspendBackendMask SuspendReason = 0xff00
)

// WriteTimerPolicy says when the core's generic write timer runs while
// writing is active and a write timeout is set (bufferevent.Config.WriteTimer).
// Values are immutable: safe for concurrent use.
type WriteTimerPolicy uint8

// Write timer policies.
// Constants, safe for concurrent use.
const (
	// WriteTimerWhilePending runs the write timer only while output is
	// waiting: ResetWriteTimer stops it once the output is empty (libevent's
	// generic timeouts, used by its pair; the default).
	WriteTimerWhilePending WriteTimerPolicy = iota
	// WriteTimerWhileEnabled runs it whenever writing is active, even with
	// an empty output, so an idle bufferevent with writing enabled times out
	// like a socket whose write event carries the timeout (libevent's filter,
	// "bufferevent_timeout_filter").
	WriteTimerWhileEnabled
)

// FlushMode tells Ops.Flush, and filters, how hard to push data
// (libevent's enum bufferevent_flush_mode). The bufferevent package aliases
// it as bufferevent.FlushMode.
// Values are immutable: safe for concurrent use.
type FlushMode int

// Flush modes.
// Constants, safe for concurrent use.
const (
	// Normal: process data as convenient, respecting watermarks (BEV_NORMAL).
	Normal FlushMode = 0
	// Flush: push everything possible now, ignoring high watermarks
	// (BEV_FLUSH).
	Flush FlushMode = 1
	// Finished: flush and signal end of stream (BEV_FINISHED); a pair
	// delivers EOF to its partner, a compressing filter writes its trailer,
	// a socket shuts down its write side once its output is sent.
	Finished FlushMode = 2
)

// String returns "Normal", "Flush", "Finished" or "FlushMode(n)".
// Safe for concurrent use.
func (m FlushMode) String() string {
	switch m {
	case Normal:
		return "Normal"
	case Flush:
		return "Flush"
	case Finished:
		return "Finished"
	}
	return "FlushMode(" + itoa(int(m)) + ")"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// DefaultMaxSingle is the default for a bufferevent's maximum single read
// and single write (libevent's MAX_SINGLE_READ_DEFAULT / WRITE_DEFAULT).
// A constant, safe for concurrent use.
const DefaultMaxSingle = 16384

// Ops is what a backend implements: the operations the core delegates to the
// type (libevent's struct bufferevent_ops without the ctrl union, whose
// requests became the optional interfaces FD, SetFD, Underlying, CancelAll and
// Addresser).
//
// Contract common to every method:
//   - The core calls it on the loop goroutine of the bufferevent's base (or,
//     while the base is not being dispatched, on the goroutine that owns the
//     bufferevent). For ThreadSafe bufferevents the core holds the core lock
//     (Core.Lock) during the call; the method must not take it again and must
//     not release it.
//   - It must not block and must not run user callbacks synchronously except
//     through Core.TriggerRead, Core.TriggerWrite and Core.TriggerEvent (which
//     is allowed: the core handles re-entrance).
//   - It is never called after Close.
//
// User code never calls Ops methods; it calls the BufferEvent methods, which
// keep the core state (enabled bits, suspension, timeouts) and then delegate.
// New behaviour will be added as new optional interfaces, never as new Ops
// methods. Loop-confined, as the first point says.
type Ops interface {
	// Enable starts I/O in the given directions. The core has already set
	// the user's enabled bits and calls Enable only for directions that are
	// not suspended. Enable may be called for a direction that is already
	// started; it must then be harmless (re-arming a timeout is fine: libevent
	// resets timeouts on enable). Called by BufferEvent.Enable and when the
	// last suspension reason of an enabled direction is cleared.
	Enable(dir Direction) error
	// Disable stops I/O in the given directions. It may be called for a
	// direction that is not started. Called by BufferEvent.Disable, when a
	// direction is first suspended, and before a timeout callback runs.
	Disable(dir Direction) error
	// Flush implements BufferEvent.Flush: push data in the directions dir
	// according to mode. It reports whether any data was produced or moved.
	// Types with nothing to flush return false, nil (as libevent's socket).
	Flush(dir Direction, mode FlushMode) (bool, error)
	// AdjustTimeouts re-applies the read and write timeouts (Core.Timeouts)
	// after the user changed them. Backends without their own fd events
	// implement it with Core.AdjustGenericTimeouts.
	AdjustTimeouts() error
	// Close releases the backend: detach from peers (libevent's unlink),
	// stop and free its events, and release type resources (libevent's
	// destruct), closing the fd or underlying bufferevent if the options
	// have CloseOnFree. It is called exactly once, when the last reference
	// to the bufferevent is dropped (after BufferEvent.Close and after any
	// callback that was running at that time returned). The core stops its
	// own generic timers and buffer callbacks itself. The returned error is
	// reported by BufferEvent.Close when finalisation happens inside it.
	Close() error
}

// FD is the optional interface of backends that have a file descriptor
// (libevent's BEV_CTRL_GET_FD). BufferEvent.FD returns errors.ErrUnsupported
// when the backend does not implement it. Called like an Ops method.
// Loop-confined, like Ops.
type FD interface {
	// FD returns the descriptor, or -1 if none is set yet.
	FD() int
}

// SetFD is the optional interface of backends whose descriptor can be
// replaced (libevent's BEV_CTRL_SET_FD). Called like an Ops method.
// Loop-confined, like Ops.
type SetFD interface {
	// SetFD makes fd the bufferevent's descriptor, re-arming the enabled
	// directions on it.
	SetFD(fd int) error
}

// Underlying is the optional interface of backends layered on another
// bufferevent (filters, TLS over a bufferevent; libevent's
// BEV_CTRL_GET_UNDERLYING). Called like an Ops method.
// Loop-confined, like Ops.
type Underlying interface {
	// Underlying returns the bufferevent this one is stacked on, typed as
	// any because this package cannot name *bufferevent.BufferEvent; the
	// value must be a *bufferevent.BufferEvent (or nil).
	Underlying() any
}

// CancelAll is the optional interface of backends with operations in flight
// that must be aborted when the user closes the bufferevent (libevent's
// BEV_CTRL_CANCEL_ALL, used by completion-based I/O). The core calls it from
// BufferEvent.Close, before dropping the user's reference. Called like an
// Ops method.
// Loop-confined, like Ops.
type CancelAll interface {
	CancelAll()
}

// Addresser is the optional interface of backends that know their endpoint
// addresses; bufferevent.NetConn uses it for LocalAddr and RemoteAddr.
// Called like an Ops method.
// Loop-confined, like Ops.
type Addresser interface {
	LocalAddr() net.Addr
	RemoteAddr() net.Addr
}

// Core is the handle the core gives a backend when the bufferevent is built
// (see bufferevent.New). It is implemented only by package bufferevent;
// backends use it and never implement it, so methods may be added to it.
//
// Concurrency: unless a method says otherwise it is loop-confined — call it
// on the loop goroutine (from the backend's event callbacks, evbuffer
// callbacks, or Ops methods) — and, for ThreadSafe bufferevents, with the
// core lock held. Backend event callbacks (fd readiness, timers) therefore
// start with Enter and end with Leave.
type Core interface {
	// Base returns the event base. Constant; safe for concurrent use.
	Base() *eventbase.Base
	// Input returns the input buffer: the backend appends what it reads.
	// Its end is frozen; unfreeze it with Buffer.Unfreeze(false) around the
	// append and freeze it again (Buffer.Freeze(false)). Constant; safe for
	// concurrent use (the buffer itself is not).
	Input() *evbuffer.Buffer
	// Output returns the output buffer: the backend drains what it writes.
	// Its front is frozen; unfreeze it with Buffer.Unfreeze(true) around the
	// drain and freeze it again. Constant; safe for concurrent use.
	Output() *evbuffer.Buffer
	// Options returns the creation options. Constant; safe for concurrent
	// use.
	Options() Options

	// Lock and Unlock guard the core state of a ThreadSafe bufferevent; for
	// other bufferevents they do nothing. The mutex is not reentrant: never
	// call Lock while holding it. Lock also marks the holder as loop code,
	// so that Core methods called under it touch the backend and its events
	// directly (see OnLoop): call it on the loop goroutine. Off the loop
	// (a constructor or an exported helper of the backend running on a user
	// goroutine) hold it only to read state (Closed, Options, Enabled) or to
	// call RunInLoop — never to call methods that may enable, disable,
	// suspend, trigger or arm timers.
	Lock()
	Unlock()
	// Enter is Lock plus taking a reference, so the bufferevent cannot be
	// finalised until the matching Leave; Leave drops the reference and
	// unlocks, finalising the bufferevent (calling Ops.Close) if that was the
	// last reference. Backend callbacks that touch the core begin with Enter
	// and end with Leave, and check Closed after any Trigger call.
	Enter()
	Leave()
	// Hold takes a reference without locking and Release drops one
	// (finalising if it was the last); the caller must already hold the
	// lock. For backends that share one lock between bufferevents (the two
	// ends of a pair) and must keep the peer alive while holding it.
	Hold()
	Release()
	// Closed reports whether the user has closed the bufferevent. A backend
	// may stop doing I/O for it; callbacks are already cleared.
	Closed() bool

	// Enabled returns the directions the user has enabled.
	Enabled() Direction
	// ReadSuspended and WriteSuspended return the suspension reasons of
	// each direction.
	ReadSuspended() SuspendReason
	WriteSuspended() SuspendReason
	// Active reports whether the direction is enabled and not suspended:
	// whether the backend should be doing I/O in it.
	Active(dir Direction) bool
	// DisableUser clears the user's enabled bits for dir and stops the
	// backend's I/O in dir (Ops.Disable), as BufferEvent.Disable does but
	// without releasing the lock: what libevent's backends do
	// (bufferevent_disable) before reporting EOF, an error or a timeout, so
	// that a user callback finds the direction disabled. Call it from loop
	// code (an fd or timer callback between Enter and Leave); the core calls
	// Ops.Disable(dir) synchronously, so the backend must be in a state
	// where that is harmless.
	DisableUser(dir Direction)
	// SuspendRead adds reasons to the read suspension. If reading was not
	// suspended before, the core calls Ops.Disable(Read). SuspendWrite is the
	// same for writing.
	SuspendRead(why SuspendReason)
	SuspendWrite(why SuspendReason)
	// UnsuspendRead clears reasons; if none remain and the user enabled
	// reading, the core calls Ops.Enable(Read). UnsuspendWrite likewise.
	UnsuspendRead(why SuspendReason)
	UnsuspendWrite(why SuspendReason)

	// TriggerRead runs (or, with deferral, schedules) the user's read
	// callback if the input holds at least the read low watermark, or
	// always with IgnoreWatermarks. TriggerWrite runs the write callback if
	// the output holds at most the write low watermark. With DeferCallbacks
	// (the option or TriggerDefer) the callback is queued and coalesced.
	// Otherwise it runs now: for ThreadSafe bufferevents the core releases
	// the lock for the duration of the callback and takes it again before
	// returning, so the backend must hold a reference (Enter) and re-check
	// its state afterwards — the user may have disabled, closed or written.
	TriggerRead(opts TriggerOptions)
	TriggerWrite(opts TriggerOptions)
	// TriggerEvent runs or schedules the event callback with what and err.
	// A nil err is filled in from what: EOF gives io.EOF, Timeout gives
	// os.ErrDeadlineExceeded. Deferral and locking as TriggerRead.
	TriggerEvent(what Events, err error, opts TriggerOptions)

	// Watermark returns the low and high watermark of a direction (0 means
	// unset).
	Watermark(dir Direction) (low, high int)
	// InputRoom returns how many bytes may be added to the input before it
	// reaches the read high watermark or, when none is set, the maximum
	// input size (bufferevent.DefaultMaxInput unless changed). Never
	// negative; 0 means the backend must not read now (reading is then
	// suspended with SuspendWatermark until the user drains).
	InputRoom() int
	// MaxToRead returns how many bytes the backend may read now: InputRoom
	// capped by the maximum single read and the rate-limit allowance.
	// MaxToWrite is the maximum single write capped by the rate limit.
	MaxToRead() int
	MaxToWrite() int
	// ChargeRead and ChargeWrite account n transferred bytes against the
	// rate limits (own bucket and group), suspending the direction with
	// SuspendBandwidth or SuspendGroup when a bucket runs dry. Call them after
	// every successful transfer of a rate-limited backend.
	ChargeRead(n int)
	ChargeWrite(n int)
	// ReserveRead and ReserveWrite charge n bytes for an operation that
	// starts now and will move at most n, the way libevent's IOCP backend
	// charges up front: the operations in flight together never overspend a
	// bucket. SettleRead and SettleWrite end such a reservation when the
	// operation completes having moved used bytes: the unused part is
	// refunded to the own bucket and the group's (never above their
	// bursts), the group's totals count only the bytes moved, and a
	// direction suspended for bandwidth resumes once its bucket holds enough
	// again. A bufferevent that leaves its group (Close does at once) gives
	// the group its outstanding reservations back then. Use either these or
	// ChargeRead/ChargeWrite for a transfer, not both.
	ReserveRead(n int)
	ReserveWrite(n int)
	SettleRead(reserved, used int)
	SettleWrite(reserved, used int)

	// Timeouts returns the read and write timeouts (0 means none).
	Timeouts() (read, write time.Duration)
	// AdjustGenericTimeouts arms or disarms the core's generic read and
	// write timers (libevent's bufferevent_generic_adj_timeouts_): the read
	// timer runs when reading is active and a read timeout is set; the
	// write timer when writing is active, a write timeout is set and the
	// output is not empty. For backends without fd events. Once a backend
	// has used the generic timers, the core also starts the write timer
	// itself when the output goes from empty to non-empty.
	AdjustGenericTimeouts() error
	// ResetReadTimer and ResetWriteTimer restart a running generic timer
	// after a successful transfer (and start it if AdjustGenericTimeouts
	// would); ResetWriteTimer stops the write timer when the output is
	// empty, unless the bufferevent was built with
	// Config.WriteTimer = WriteTimerWhileEnabled (then the write timer runs
	// whenever writing is active, here and in AdjustGenericTimeouts).
	// StopTimers stops the generic timers of dir. On expiry the core
	// disables the direction (Ops.Disable) and runs the event callback with
	// Timeout|Reading or Timeout|Writing and os.ErrDeadlineExceeded.
	ResetReadTimer()
	ResetWriteTimer()
	StopTimers(dir Direction)

	// OnLoop reports whether it is safe to touch loop-confined objects (the
	// backend's events) now: always true for bufferevents that are not
	// ThreadSafe; for ThreadSafe ones, true when the lock holder is loop code
	// (Ops methods, Core.Enter/Lock callers) and false when it is a user
	// goroutine (a Write whose buffer callback reached the backend). Call it
	// with the lock held, typically from the backend's buffer callbacks.
	OnLoop() bool
	// RunInLoop queues fn to run on the loop goroutine at its next turn,
	// with the core lock held and a reference taken; queued functions run in
	// order and are dropped once the bufferevent is finalised. Backends use
	// it to hand work to the loop from their buffer callbacks when OnLoop
	// reports false (a ThreadSafe bufferevent written by a user goroutine),
	// or from constructors running off the loop. Safe for concurrent use,
	// with or without the lock held. Pass a func value stored once (not a
	// fresh closure or method value) to keep it allocation-free.
	RunInLoop(fn func())

	// CallbacksGen returns a number that changes every time the user
	// callbacks are set (BufferEvent.SetCallbacks, from anyone). A layer
	// that takes over another bufferevent's callbacks (a filter, TLS) reads
	// it right after setting its own, and lets go with ClearCallbacksIf.
	CallbacksGen() uint64
	// ClearCallbacksIf clears the user callbacks if they have not been set
	// again since CallbacksGen returned gen, and reports whether it did:
	// libevent's filter clears its underlying's callbacks on close only "if
	// still ours", so that callbacks the user installed after taking the
	// underlying back are kept. Safe off the loop with the lock held (it
	// touches no loop objects).
	ClearCallbacksIf(gen uint64) bool

	// Handle returns the *bufferevent.BufferEvent this core belongs to, as
	// any (this package cannot name the type). Constant; safe for
	// concurrent use.
	Handle() any
}

// ErrUnsupported is errors.ErrUnsupported, returned (wrapped) when a backend
// lacks an optional interface.
// Never modified: safe for concurrent use.
var ErrUnsupported = errors.ErrUnsupported

// Prioritizer is the optional interface of backends whose events have a
// priority (libevent's bufferevent_priority_set works only for socket
// bufferevents). BufferEvent.SetPriority returns errors.ErrUnsupported when
// the backend does not implement it. Called like an Ops method.
// Loop-confined, like Ops.
type Prioritizer interface {
	// SetPriority sets the priority of the backend's events.
	SetPriority(p int) error
}
