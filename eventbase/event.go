package eventbase

import (
	"errors"
	"strings"
	"time"
)

// What is a set of event conditions: the interest passed to [Base.NewEvent]
// and the result passed to a callback. The bit values are libevent's. It is
// a plain value, safe for concurrent use.
type What uint16

// Event condition bits (libevent's EV_* values).
// Constants, safe for concurrent use.
const (
	// Timeout is reported when the event's timeout expired. It is never
	// needed at creation: [Event.AddTimeout] arms a timeout on any event.
	Timeout What = 0x01
	// Read asks for (and reports) readability of the fd.
	Read What = 0x02
	// Write asks for (and reports) writability of the fd.
	Write What = 0x04
	// Signal makes the fd a signal number; it cannot be combined with Read,
	// Write or Closed.
	Signal What = 0x08
	// Persist keeps the event pending after it fired; a persistent event with
	// a timeout is re-armed on every activation without drift.
	Persist What = 0x10
	// ET asks for edge-triggered readiness where the poller supports it
	// ([FeatureET]); results carry ET when it was delivered edge-triggered.
	ET What = 0x20
	// Closed asks for (and reports) the peer closing the connection, which
	// needs a poller with [FeatureEarlyClose].
	Closed What = 0x80

	whatIO   = Read | Write | Closed
	whatUser = Timeout | Read | Write | Signal | Persist | ET | Closed
)

// String returns the set bits by name joined with "|", e.g. "Read|Persist",
// or "0" for the empty set. Safe for concurrent use.
func (w What) String() string {
	if w == 0 {
		return "0"
	}
	names := [...]struct {
		bit  What
		name string
	}{{Timeout, "Timeout"}, {Read, "Read"}, {Write, "Write"}, {Signal, "Signal"},
		{Persist, "Persist"}, {ET, "ET"}, {0x40, "0x40"}, {Closed, "Closed"}}
	var sb strings.Builder
	rest := w
	for _, n := range names {
		if w&n.bit != 0 {
			if sb.Len() > 0 {
				sb.WriteByte('|')
			}
			sb.WriteString(n.name)
			rest &^= n.bit
		}
	}
	if rest != 0 {
		if sb.Len() > 0 {
			sb.WriteByte('|')
		}
		sb.WriteString("0x")
		const hex = "0123456789abcdef"
		var buf [4]byte
		for i := 3; i >= 0; i-- {
			buf[i] = hex[rest&0xf]
			rest >>= 4
		}
		s := strings.TrimLeft(string(buf[:]), "0")
		sb.WriteString(s)
	}
	return sb.String()
}

// Errors returned by this package. They are sentinels: use errors.Is.
// Sentinel values, never modified: safe for concurrent use.
var (
	// ErrClosed is returned by operations on a closed Base or its events.
	ErrClosed = errors.New("eventbase: base closed")
	// ErrFreed is returned by operations on an event after Free or a finalizer.
	ErrFreed = errors.New("eventbase: event freed")
	// ErrFinalizing is returned when adding an event that is being finalized.
	ErrFinalizing = errors.New("eventbase: event is being finalized")
	// ErrInvalidEvents is returned for a What combination that makes no sense
	// (Signal with Read/Write/Closed, unknown bits, I/O bits on fd -1, ...).
	ErrInvalidEvents = errors.New("eventbase: invalid event flags")
	// ErrBadFD is returned for a negative or otherwise unusable fd.
	ErrBadFD = errors.New("eventbase: bad file descriptor")
	// ErrNegativeTimeout is returned by AddTimeout and LoopExit for d < 0.
	ErrNegativeTimeout = errors.New("eventbase: negative timeout")
	// ErrNilCallback is returned when a constructor gets a nil callback.
	ErrNilCallback = errors.New("eventbase: nil callback")
	// ErrReentrant is returned by Loop when the base's loop is already running.
	ErrReentrant = errors.New("eventbase: loop already running")
	// ErrBadPriority is returned by SetPriority for a priority out of range.
	ErrBadPriority = errors.New("eventbase: priority out of range")
	// ErrActive is returned by SetPriority on an active event.
	ErrActive = errors.New("eventbase: event is active")
	// ErrETMismatch is returned when edge-triggered and level-triggered events
	// are mixed on one fd.
	ErrETMismatch = errors.New("eventbase: edge-triggered and level-triggered events mixed on one fd")
	// ErrNoMethod is returned by New when no poller satisfies the Config.
	ErrNoMethod = errors.New("eventbase: no poller satisfies the configuration")
	// ErrUnsupported wraps errors.ErrUnsupported for features the chosen
	// poller or platform lacks (e.g. Closed without FeatureEarlyClose).
	ErrUnsupported = errUnsupported{}
	// ErrOtherBase is returned when a base is given an event that belongs
	// to another base (SetWaiter).
	ErrOtherBase = errors.New("eventbase: event belongs to another base")
	// ErrTooManyCommon is returned when more than 256 common timeouts are
	// registered on one base (libevent's limit).
	ErrTooManyCommon = errors.New("eventbase: too many common timeouts")
)

type errUnsupported struct{}

func (errUnsupported) Error() string        { return "eventbase: unsupported operation" }
func (errUnsupported) Is(target error) bool { return target == errors.ErrUnsupported }

// event list flags (libevent's EVLIST_*).
const (
	flTimeout    = 0x01
	flInserted   = 0x02
	flActive     = 0x08
	flActiveLate = 0x20
	flFinalizing = 0x40
	flFreed      = 0x100
	// flPollAdded: inserted by a callback run from the current poll
	// (Base.newIns); that poll's readiness predates it.
	flPollAdded = 0x200
)

// kinds of callback closure.
const (
	kindIO       = iota // cb(fd, res)
	kindTimer           // tcb()
	kindFinalize        // finalizer(ev)
	kindFunc            // fn() (internal helpers: loopexit)
)

// Event is one registration with a [Base]: an fd (or signal, or nothing for
// a timer), the conditions it waits for and the callback to run.
//
// The zero value is not usable; create events with [Base.NewEvent],
// [Base.NewTimer] or [Base.NewSignal].
//
// Event methods are loop-confined (call them only from the loop goroutine:
// in callbacks, in functions passed to [Base.RunInLoop], or while no loop
// runs), except [Event.Active], which is safe for concurrent use.
type Event struct {
	// What the loop reads and writes for every ready I/O event comes first,
	// so that activating and running one touches as few cache lines as
	// possible (with many connections these are cache misses).
	base    *Base
	fd      int
	events  What
	res     What
	flags   uint16
	kind    uint8
	intern  bool // internal: does not keep the loop alive
	counted bool // included in base.nUser
	// interval is read by direct dispatch (fdmap.go's ioReady) with the
	// fields above: in the first line, so a ready fd's event costs one.
	interval int64 // persistent timeout interval, 0 when none
	pri      int
	h        Handler // the I/O or signal callback (funcHandler for NewEvent's)

	// active queue links
	qPrev  *Event
	qNext  *Event
	ncalls int

	tcb       func()
	finalizer func(*Event)

	// timer state
	heapIdx  int   // index in the min-heap, -1 when not in it
	deadline int64 // absolute expiry, ns since base epoch
	seq      uint64
	ct       *commonTimeout
	ctPrev   *Event
	ctNext   *Event
	ctMarker *commonTimeout // set on a common timeout's heap marker

	// Pads the struct to 192 bytes, an aligned size class: at 160 bytes
	// (size class 160) every other Event starts in the middle of a cache
	// line and its first line of fields above spans two (TestEventLayout).
	_ [32]byte
}

// FD returns the event's fd (the signal number for a signal event, -1 for
// a timer). Loop-confined.
func (ev *Event) FD() int { return ev.fd }

// Events returns the conditions the event was created with. Loop-confined.
func (ev *Event) Events() What { return ev.events }

// Priority returns the event's priority. Loop-confined.
func (ev *Event) Priority() int { return ev.pri }

// Base returns the base the event belongs to. Safe for concurrent use.
func (ev *Event) Base() *Base { return ev.base }

func (ev *Event) check() error {
	if ev == nil || ev.base == nil {
		return ErrInvalidEvents
	}
	if ev.flags&flFreed != 0 {
		return ErrFreed
	}
	if ev.base.closed {
		return ErrClosed
	}
	return nil
}

// Add makes the event pending without changing its timeout: a timeout set
// earlier by AddTimeout stays armed, none is added otherwise. Adding a
// pending event again is harmless. Loop-confined.
func (ev *Event) Add() error {
	if err := ev.check(); err != nil {
		return err
	}
	if ev.flags&flFinalizing != 0 {
		return ErrFinalizing
	}
	ev.base.sync()
	return ev.base.insertIO(ev)
}

// AddTimeout makes the event pending and (re)arms its timeout to d from
// now (the cached loop time inside callbacks). d == 0 fires on the next loop
// turn; d < 0 is an error. For a Persist event, d also becomes the interval
// at which the timeout re-arms. If d was registered with
// [Base.CommonTimeout], the O(1) common-timeout queue is used.
// Loop-confined.
func (ev *Event) AddTimeout(d time.Duration) error {
	if err := ev.check(); err != nil {
		return err
	}
	if d < 0 {
		return ErrNegativeTimeout
	}
	if ev.flags&flFinalizing != 0 {
		return ErrFinalizing
	}
	b := ev.base
	b.sync()
	if err := b.insertIO(ev); err != nil {
		return err
	}
	b.addTimeout(ev, d, b.lookupCommon(int64(d)))
	return nil
}

// Del makes the event non-pending and non-active: it removes the fd or
// signal registration, the timeout and any pending activation. Deleting an
// event that is not pending returns nil. During a signal event's repeated
// calls, Del stops the remaining calls. Loop-confined.
func (ev *Event) Del() error {
	if ev == nil || ev.base == nil {
		return ErrInvalidEvents
	}
	if ev.flags&flFreed != 0 {
		return ErrFreed
	}
	if ev.flags&flFinalizing != 0 || ev.base.closed {
		return nil
	}
	ev.base.sync()
	ev.base.delEvent(ev)
	return nil
}

// RemoveTimer removes only the event's timeout (and its persistent
// interval); an fd or signal registration stays pending. Loop-confined.
func (ev *Event) RemoveTimer() error {
	if err := ev.check(); err != nil {
		return err
	}
	b := ev.base
	b.sync()
	ev.interval = 0
	if ev.flags&flTimeout != 0 {
		b.removeTimeout(ev)
		b.recount(ev)
	}
	return nil
}

// Pending reports which of the conditions in what are pending or active on
// the event (Timeout, Read, Write, Closed, Signal), and the time at which the
// timeout expires when Timeout is pending (zero time otherwise).
// Loop-confined.
func (ev *Event) Pending(what What) (What, time.Time) {
	if ev == nil || ev.base == nil || ev.flags&flFreed != 0 {
		return 0, time.Time{}
	}
	b := ev.base
	b.sync()
	var flags What
	if ev.flags&flInserted != 0 {
		flags |= ev.events & (whatIO | Signal)
	}
	if ev.flags&(flActive|flActiveLate) != 0 {
		flags |= ev.res
	}
	if ev.flags&flTimeout != 0 {
		flags |= Timeout
	}
	flags &= what & (Timeout | whatIO | Signal)
	var at time.Time
	if flags&Timeout != 0 {
		at = b.epoch.Add(time.Duration(ev.deadline))
	}
	return flags, at
}

// Active makes the event active with result res as if its condition had
// occurred, whether or not it is pending; for a signal event the callback
// runs ncalls times. Activating an already active event ORs res into its
// result. Active on a freed or finalizing event, or on a closed base, does
// nothing.
//
// Safe for concurrent use: from another goroutine it queues the activation
// and wakes the loop. From the loop goroutine the activation is applied
// before the next callback runs (and before Pending or Del look at the
// event).
func (ev *Event) Active(res What, ncalls int) {
	if ev == nil || ev.base == nil {
		return
	}
	ev.base.queueActive(ev, res, ncalls)
}

// SetPriority sets the event's priority, 0 (most urgent) to
// Config.Priorities-1. It fails on an active event. Loop-confined.
func (ev *Event) SetPriority(p int) error {
	if err := ev.check(); err != nil {
		return err
	}
	b := ev.base
	b.sync()
	if ev.flags&(flActive|flActiveLate) != 0 {
		return ErrActive
	}
	if p < 0 || p >= len(b.active) {
		return ErrBadPriority
	}
	ev.pri = p
	return nil
}

// Free deletes the event and marks it unusable: later Add, AddTimeout and
// SetPriority return ErrFreed, Active is ignored. Freeing twice is harmless.
// Free does not close the fd. Loop-confined.
func (ev *Event) Free() {
	if ev == nil || ev.base == nil || ev.flags&flFreed != 0 {
		return
	}
	b := ev.base
	if !b.closed && ev.flags&flFinalizing == 0 {
		b.sync()
		b.delEvent(ev)
	}
	ev.flags |= flFreed
	ev.h, ev.tcb = nil, nil
}

// Finalize deletes the event and schedules fn(ev) to run on the loop
// goroutine (libevent's event_finalize). Only fn runs — never the event's
// own callback — even if the event was active. After Finalize, Add fails,
// Active is ignored and Del is a no-op; once fn has run the event is freed.
// Pending finalizers run in Close if the loop does not run again. fn may be
// nil. Loop-confined.
func (ev *Event) Finalize(fn func(*Event)) error {
	if ev == nil || ev.base == nil {
		return ErrInvalidEvents
	}
	if ev.flags&flFreed != 0 {
		return ErrFreed
	}
	if ev.flags&flFinalizing != 0 {
		return ErrFinalizing
	}
	b := ev.base
	if b.closed {
		return ErrClosed
	}
	b.sync()
	b.delEvent(ev)
	ev.flags |= flFinalizing
	ev.finalizer = fn
	ev.kind = kindFinalize
	ev.res = 0
	b.queueInsertActive(ev)
	return nil
}
