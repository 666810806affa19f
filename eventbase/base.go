package eventbase

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Feature is a set of poller capabilities (libevent's EV_FEATURE_*). It is
// a plain value, safe for concurrent use.
type Feature uint8

// Poller features.
// Constants, safe for concurrent use.
const (
	// FeatureET: the poller supports edge-triggered events (ET).
	FeatureET Feature = 0x01
	// FeatureO1: adding, deleting and reporting one event is O(1).
	FeatureO1 Feature = 0x02
	// FeatureFDs: the poller accepts arbitrary fds (pipes, ttys), not only sockets.
	FeatureFDs Feature = 0x04
	// FeatureEarlyClose: the poller reports the peer closing (Closed) without reading.
	FeatureEarlyClose Feature = 0x08
)

// String returns the features by name joined with "|". Safe for concurrent
// use.
func (f Feature) String() string {
	if f == 0 {
		return "0"
	}
	s := ""
	for _, n := range [...]struct {
		f    Feature
		name string
	}{{FeatureET, "ET"}, {FeatureO1, "O1"}, {FeatureFDs, "FDs"}, {FeatureEarlyClose, "EarlyClose"}} {
		if f&n.f != 0 {
			if s != "" {
				s += "|"
			}
			s += n.name
		}
	}
	if f&^0x0f != 0 {
		if s != "" {
			s += "|"
		}
		s += fmt.Sprintf("%#x", uint8(f&^0x0f))
	}
	return s
}

// LoopFlags modify [Base.Loop]. They are plain values, safe for concurrent
// use.
type LoopFlags int

// Loop flags (libevent's EVLOOP_*).
// Constants, safe for concurrent use.
const (
	// LoopOnce blocks until something is active, runs the callbacks, and
	// returns once a turn ran at least one callback and nothing is left active.
	LoopOnce LoopFlags = 1
	// LoopNonBlock polls without blocking, runs what is ready, and returns.
	LoopNonBlock LoopFlags = 2
	// LoopNoExitOnEmpty keeps looping when no events are pending, until
	// LoopExit or LoopBreak.
	LoopNoExitOnEmpty LoopFlags = 4
)

// Config configures [New]. The zero value selects the best poller with one
// priority and no dispatch limits. New copies what it needs; the Config may
// be reused or changed afterwards. Not safe for concurrent use while New
// reads it.
type Config struct {
	// AvoidMethods names pollers not to use (see SupportedMethods).
	AvoidMethods []string
	// RequireFeatures lists features the poller must have.
	RequireFeatures Feature
	// Priorities is the number of priority levels, 1 to 256; 0 means 1.
	Priorities int
	// MaxDispatchInterval, when positive, makes the loop go back to polling
	// after a priority queue at or above LimitCallbacksAfterPriority ran
	// callbacks for this long (checked after each callback).
	MaxDispatchInterval time.Duration
	// MaxDispatchCallbacks, when positive, makes the loop go back to polling
	// after that many callbacks of one priority queue at or above
	// LimitCallbacksAfterPriority.
	MaxDispatchCallbacks int
	// LimitCallbacksAfterPriority is the first priority the two limits above
	// apply to; more urgent priorities always run to completion.
	LimitCallbacksAfterPriority int
	// NoCacheTime makes Now read the clock on every call instead of
	// returning the time cached once per loop turn.
	NoCacheTime bool
}

// maximum number of deferred callbacks run per loop turn (libevent's
// MAX_DEFERREDS_QUEUED).
const maxDeferredPerTurn = 32

// remote (cross-goroutine) requests.
type remoteAct struct {
	ev     *Event
	res    What
	ncalls int
	exit   bool          // LoopExit request (ev is nil)
	d      time.Duration // LoopExit delay
}

type remoteFn struct {
	fn func()
}

type evQueue struct{ head, tail *Event }

// Base is an event loop: libevent's event_base. It owns a poller, the
// registered events, the timers, and the queues of active callbacks.
//
// A Base is run by one goroutine, the one in Dispatch or Loop, and every
// callback runs on it. Methods are loop-confined unless their doc says
// "Safe for concurrent use": RunInLoop, Do, LoopExit, LoopBreak, GotExit,
// GotBreak, Method, Features, OnClose and Event.Active.
//
// The zero value is not usable; call New.
type Base struct {
	// Loop-confined state used on every turn, first so that it shares as
	// few cache lines as possible.
	poll       poller
	fds        []fdSlot
	active     []evQueue
	nActive    int // active callbacks, internal ones included
	nUser      int // non-internal events pending or active
	heap       []*Event
	deferQ     []func()
	deferHead  int
	deferRun   int // deferred callbacks run this turn
	runningPri int
	current    *Event
	running    bool
	cont       bool
	closeReq   bool
	closed     bool
	limits     bool // Config has max-dispatch limits
	directOK   bool // the poller and config allow direct dispatch (see ioReady)
	direct     bool // this poll's ready events may run directly
	directRan  bool // a callback ran from this poll (the time cache was refreshed for it)
	features   Feature
	nDirect    int      // non-internal callbacks run directly during this poll
	newIns     []*Event // events inserted during this poll's direct callbacks (flagged flPollAdded)

	// Read by other goroutines, written by the loop.
	polling  atomic.Bool
	inWait   atomic.Bool // the loop is in the poller before its first direct callback: readers do not fill the cache
	gotExit  atomic.Bool
	gotBreak atomic.Bool
	caching  atomic.Bool  // the loop runs and caches time
	cache    atomic.Int64 // cached ns since epoch for this turn, -1: none
	epoch    time.Time    // constant after New

	// Loop-confined, colder.
	late        evQueue
	fdMap       map[int]*fdInfo
	seq         uint64
	common      []*commonTimeout
	commonMap   map[int64]*commonTimeout
	virtual     int
	exitedEmpty bool
	nSigs       int
	spareA      []remoteAct
	spareF      []remoteFn
	cfg         Config // constant after New
	method      string // constant after New
	sigs        [maxSignal]*sigWatch
	closing     bool      // Close is running (close.go)
	nowT        time.Time // LoopNow's time.Time for nowTNS (now.go)
	nowTNS      int64     // the nowNS value nowT was built for, -1: none
	locals      sync.Map  // Local's values
	beforeBlock func()    // tests only: runs when a turn is about to publish polling and block
	waiter      Waiter    // blocks for the loop instead of the poller (SetWaiter), or nil
	waitEv      *Event    // run when waiter reports its own work

	// Written by other goroutines, on their own cache lines.
	_        [64]byte
	remoteN  atomic.Int32
	notified atomic.Bool
	sigPend  atomic.Bool
	mu       sync.Mutex
	rActs    []remoteAct
	rFns     []remoteFn
	rClosed  bool
	hooks    []closeHook // OnClose functions, in registration order (close.go)
	hookSeq  uint64
	hookDead int // stopped functions whose slots in hooks are not compacted yet
	_        [64]byte
}

// SupportedMethods lists the pollers compiled in for this platform, in
// preference order. Safe for concurrent use.
func SupportedMethods() []string {
	var names []string
	for _, p := range platformPollers() {
		names = append(names, p.name)
	}
	return names
}

// New creates a Base with the first poller, in preference order, that is
// not in cfg.AvoidMethods, has every feature of cfg.RequireFeatures and can
// be created. Safe for concurrent use.
func New(cfg Config) (*Base, error) {
	if cfg.Priorities == 0 {
		cfg.Priorities = 1
	}
	if cfg.Priorities < 1 || cfg.Priorities > 256 {
		return nil, fmt.Errorf("%w: %d priorities (want 1 to 256)", ErrBadPriority, cfg.Priorities)
	}
	var lastErr error
	for _, p := range platformPollers() {
		if slices.Contains(cfg.AvoidMethods, p.name) {
			continue
		}
		if p.features&cfg.RequireFeatures != cfg.RequireFeatures {
			continue
		}
		pl, err := p.create()
		if err != nil {
			lastErr = fmt.Errorf("eventbase: %s: %w", p.name, err)
			continue
		}
		b := &Base{
			cfg:        cfg,
			poll:       pl,
			method:     p.name,
			features:   p.features,
			epoch:      time.Now(),
			active:     make([]evQueue, cfg.Priorities),
			runningPri: -1,
			limits:     cfg.MaxDispatchCallbacks > 0 || cfg.MaxDispatchInterval > 0,
		}
		// Direct dispatch needs a poller whose ready list callbacks cannot
		// disturb (epoll's result array) and one priority without limits.
		b.directOK = p.name == "epoll" && cfg.Priorities == 1 && !b.limits
		b.cache.Store(-1)
		b.nowTNS = -1
		// Safety net for a Base dropped without Close: release the
		// poller's descriptors when it is collected. (A base watching
		// signals stays reachable from its forwarding goroutines; those
		// need Close.)
		runtime.AddCleanup(b, func(p poller) { _ = p.close() }, pl)
		return b, nil
	}
	if lastErr != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoMethod, lastErr)
	}
	return nil, ErrNoMethod
}

// Method returns the name of the base's poller ("epoll", "kqueue", "poll",
// "wsapoll"). Safe for concurrent use.
func (b *Base) Method() string { return b.method }

// Features returns the features of the base's poller. Safe for concurrent use.
func (b *Base) Features() Feature { return b.features }

// Priorities returns the number of priority levels. Loop-confined.
func (b *Base) Priorities() int { return len(b.active) }

// SetPriorities changes the number of priority levels to n, 1 to 256
// (libevent's event_base_priority_init). It fails while callbacks are
// active. Events created afterwards get priority n/2; existing events keep
// theirs, clamped to n-1. Loop-confined.
func (b *Base) SetPriorities(n int) error {
	if b.closed {
		return ErrClosed
	}
	if n < 1 || n > 256 {
		return fmt.Errorf("%w: %d priorities (want 1 to 256)", ErrBadPriority, n)
	}
	b.sync()
	if b.nActive > 0 {
		return ErrActive
	}
	b.active = make([]evQueue, n)
	_ = b.ForEachEvent(func(ev *Event) error {
		ev.pri = min(ev.pri, n-1)
		return nil
	})
	return nil
}

func (b *Base) newEvent(fd int, what What) *Event {
	return &Event{base: b, fd: fd, events: what, pri: len(b.active) / 2, heapIdx: -1}
}

// NewEvent creates an event for fd (a signal number when what has Signal,
// -1 for a pure timer or a user event triggered with Active) waiting for
// what; cb runs on the loop goroutine with the fd and the conditions that
// occurred. On Windows fd is a SOCKET handle converted to int. The event is
// not pending until Add or AddTimeout, which is also where a bad fd is
// reported. Its priority is Priorities()/2. Loop-confined.
func (b *Base) NewEvent(fd int, what What, cb func(fd int, what What)) (*Event, error) {
	if cb == nil {
		if b.closed {
			return nil, ErrClosed
		}
		return nil, ErrNilCallback
	}
	return b.NewHandlerEvent(fd, what, funcHandler(cb))
}

// A Handler receives an event's activations, as the function given to
// NewEvent does, through an interface: an owner that implements it on its
// own object (a socket bufferevent's backend) spares each activation the
// load of a function value, a separate object and, with thousands of
// connections, a likely cache miss. HandleEvent is called on the loop
// goroutine only, as event callbacks are: Loop-confined, so an
// implementation used by one base needs no locking.
type Handler interface {
	// HandleEvent runs on the loop goroutine with the event's fd and the
	// conditions that occurred, as NewEvent's callback.
	HandleEvent(fd int, what What)
}

// funcHandler adapts NewEvent's function. A func is pointer-shaped, so the
// conversion to Handler allocates nothing.
type funcHandler func(fd int, what What)

func (f funcHandler) HandleEvent(fd int, what What) { f(fd, what) }

// NewHandlerEvent is NewEvent with a Handler in place of the callback
// function; everything else is the same. A nil h gives ErrNilCallback.
// Loop-confined.
func (b *Base) NewHandlerEvent(fd int, what What, h Handler) (*Event, error) {
	if err := b.checkHandlerEvent(fd, what, h); err != nil {
		return nil, err
	}
	ev := b.newEvent(fd, what)
	ev.h = h
	ev.kind = kindIO
	return ev, nil
}

// InitHandlerEvent makes ev, which must be a zero Event that was never used,
// the event NewHandlerEvent(fd, what, h) would allocate: for an owner that
// embeds its events in its own object, so that a ready fd's event and the
// owner's fields share a page and neighbouring cache lines (a socket
// bufferevent's backend does). ev must not be copied afterwards; Free it as
// any event, and it cannot be initialised again (ErrInvalidEvents, as for a
// nil ev). The other errors are NewHandlerEvent's. Loop-confined.
func (b *Base) InitHandlerEvent(ev *Event, fd int, what What, h Handler) error {
	if ev == nil || ev.base != nil {
		return fmt.Errorf("%w: InitHandlerEvent needs a new zero Event", ErrInvalidEvents)
	}
	if err := b.checkHandlerEvent(fd, what, h); err != nil {
		return err
	}
	*ev = Event{base: b, fd: fd, events: what, pri: len(b.active) / 2, heapIdx: -1, h: h, kind: kindIO}
	return nil
}

// checkHandlerEvent validates NewHandlerEvent's and InitHandlerEvent's
// arguments.
func (b *Base) checkHandlerEvent(fd int, what What, h Handler) error {
	if b.closed {
		return ErrClosed
	}
	if h == nil {
		return ErrNilCallback
	}
	if what&^whatUser != 0 {
		return fmt.Errorf("%w: unknown bits %#x", ErrInvalidEvents, uint16(what&^whatUser))
	}
	switch {
	case what&Signal != 0:
		if what&whatIO != 0 {
			return fmt.Errorf("%w: Signal with %v", ErrInvalidEvents, what&whatIO)
		}
		if !validSignal(fd) {
			return fmt.Errorf("%w: signal %d", ErrInvalidEvents, fd)
		}
	case what&whatIO != 0:
		if what&Closed != 0 && b.features&FeatureEarlyClose == 0 {
			return fmt.Errorf("%w: Closed needs FeatureEarlyClose, which %s lacks", ErrUnsupported, b.method)
		}
	}
	return nil
}

// NewTimer creates a timer event: cb runs when the timeout given to
// AddTimeout expires. Loop-confined.
func (b *Base) NewTimer(cb func()) (*Event, error) {
	if b.closed {
		return nil, ErrClosed
	}
	if cb == nil {
		return nil, ErrNilCallback
	}
	ev := b.newEvent(-1, 0)
	ev.tcb = cb
	ev.kind = kindTimer
	return ev, nil
}

// NewSignal creates a persistent event for sig (a syscall.Signal such as
// syscall.SIGHUP, or os.Interrupt), delivered through os/signal: cb runs on
// the loop goroutine with the signal number, once per delivery (several
// deliveries between two turns are counted and the callback runs that many
// times). It is NewEvent(number, Signal|Persist, cb). Loop-confined.
func (b *Base) NewSignal(sig os.Signal, cb func(sig int, what What)) (*Event, error) {
	n, ok := signalNumber(sig)
	if !ok {
		return nil, fmt.Errorf("%w: signal %v has no number", ErrInvalidEvents, sig)
	}
	return b.NewEvent(n, Signal|Persist, cb)
}

// Once runs cb once, when fd becomes ready for what or after d, whichever
// comes first (libevent's event_base_once). For what without Read, Write or
// Closed it is a one-shot timer: d == 0 runs cb on the next turn, keeping the
// order of calls. For I/O, d == 0 means no timeout. Signal and Persist are
// rejected, as is d < 0. Loop-confined.
func (b *Base) Once(fd int, what What, d time.Duration, cb func(fd int, what What)) error {
	if what&(Signal|Persist) != 0 {
		return fmt.Errorf("%w: Once with %v", ErrInvalidEvents, what&(Signal|Persist))
	}
	if d < 0 {
		return ErrNegativeTimeout
	}
	if what&whatIO == 0 {
		fd = -1
		what &^= ET
	}
	ev, err := b.NewEvent(fd, what, cb)
	if err != nil {
		return err
	}
	if what&whatIO == 0 {
		if d == 0 {
			ev.res = Timeout
			ev.ncalls = 1
			b.queueInsertActive(ev)
			return nil
		}
		return ev.AddTimeout(d)
	}
	if d == 0 {
		return ev.Add()
	}
	return ev.AddTimeout(d)
}

// Now returns the loop's cached monotonic time: while the loop runs, the
// clock is read at most once per loop turn — by the first caller after
// polling (Now, timer processing, AddTimeout) — and every later call in the
// same turn returns that value. Outside the loop, or with
// Config.NoCacheTime, it returns the current time. Safe for concurrent use
// (another goroutine sees the loop's cached time). On the loop goroutine,
// LoopNow returns the same time more cheaply.
func (b *Base) Now() time.Time {
	return b.epoch.Add(time.Duration(b.nowNS()))
}

// UpdateCacheTime refreshes the cached time while the loop runs
// (libevent's event_base_update_cache_time). Loop-confined.
func (b *Base) UpdateCacheTime() {
	if b.caching.Load() {
		b.cache.Store(int64(time.Since(b.epoch)))
	}
}

// nowNS returns the cached time in ns since the epoch, filling the cache
// when the loop runs and the turn has none yet.
func (b *Base) nowNS() int64 {
	if v := b.cache.Load(); v >= 0 {
		return v
	}
	v := int64(time.Since(b.epoch))
	if b.caching.Load() && !b.inWait.Load() && b.cache.CompareAndSwap(-1, v) {
		return v
	}
	if c := b.cache.Load(); c >= 0 {
		return c
	}
	return v
}

// clearCache forgets the cached time (at each turn and when the loop ends).
func (b *Base) clearCache() {
	if b.cache.Load() >= 0 {
		b.cache.Store(-1)
	}
}

// ---- active queues ----

func (b *Base) recount(ev *Event) {
	want := !ev.intern && ev.flags&(flTimeout|flInserted|flActive|flActiveLate) != 0
	if want != ev.counted {
		ev.counted = want
		if want {
			b.nUser++
		} else {
			b.nUser--
		}
	}
}

func (q *evQueue) push(ev *Event) {
	ev.qNext = nil
	ev.qPrev = q.tail
	if q.tail != nil {
		q.tail.qNext = ev
	} else {
		q.head = ev
	}
	q.tail = ev
}

func (q *evQueue) remove(ev *Event) {
	if ev.qPrev != nil {
		ev.qPrev.qNext = ev.qNext
	} else {
		q.head = ev.qNext
	}
	if ev.qNext != nil {
		ev.qNext.qPrev = ev.qPrev
	} else {
		q.tail = ev.qPrev
	}
	ev.qPrev, ev.qNext = nil, nil
}

// queueInsertActive puts ev on its priority's active queue.
func (b *Base) queueInsertActive(ev *Event) {
	if ev.flags&flActiveLate != 0 {
		b.late.remove(ev)
		ev.flags &^= flActiveLate
		b.nActive--
	}
	ev.flags |= flActive
	b.active[ev.pri].push(ev)
	b.nActive++
	if b.runningPri >= 0 && ev.pri < b.runningPri {
		b.cont = true
	}
	b.recount(ev)
}

func (b *Base) queueRemoveActive(ev *Event) {
	if ev.flags&flActive != 0 {
		b.active[ev.pri].remove(ev)
		ev.flags &^= flActive
		b.nActive--
	} else if ev.flags&flActiveLate != 0 {
		b.late.remove(ev)
		ev.flags &^= flActiveLate
		b.nActive--
	}
}

// activate is libevent's event_active_nolock_.
func (b *Base) activate(ev *Event, res What, ncalls int) {
	if ev.flags&(flFinalizing|flFreed) != 0 {
		return
	}
	if ev.flags&flActive != 0 {
		ev.res |= res
		return
	}
	if ev.flags&flActiveLate != 0 {
		ev.res |= res
	} else {
		ev.res = res
	}
	if ev.events&Signal != 0 {
		ev.ncalls = ncalls
	} else {
		ev.ncalls = 1
	}
	b.queueInsertActive(ev)
}

// delEvent is libevent's event_del_nolock_.
func (b *Base) delEvent(ev *Event) {
	if ev.events&Signal != 0 && b.current == ev {
		ev.ncalls = 0 // abort a running multi-call delivery
	}
	if ev.flags&flTimeout != 0 {
		b.removeTimeout(ev)
	}
	if ev.flags&(flActive|flActiveLate) != 0 {
		b.queueRemoveActive(ev)
	}
	if ev.flags&flInserted != 0 {
		if ev.events&Signal != 0 {
			b.sigDel(ev)
		} else {
			b.ioDel(ev)
		}
		ev.flags &^= flInserted
	}
	b.recount(ev)
}

// insertIO registers ev's fd or signal if it is not yet inserted.
func (b *Base) insertIO(ev *Event) error {
	if ev.flags&flInserted != 0 || ev.events&(whatIO|Signal) == 0 {
		return nil
	}
	var err error
	if ev.events&Signal != 0 {
		err = b.sigAdd(ev)
	} else {
		err = b.ioAdd(ev)
	}
	if err != nil {
		return err
	}
	ev.flags |= flInserted
	b.recount(ev)
	if b.direct && ev.flags&flPollAdded == 0 {
		// Readiness the current poll reported for its fd predates it.
		ev.flags |= flPollAdded
		b.newIns = append(b.newIns, ev)
	}
	return nil
}

// ---- cross-goroutine entry points ----

func (b *Base) queueActive(ev *Event, res What, ncalls int) {
	b.mu.Lock()
	if b.rClosed {
		b.mu.Unlock()
		return
	}
	b.rActs = append(b.rActs, remoteAct{ev: ev, res: res, ncalls: ncalls})
	b.remoteN.Add(1)
	b.mu.Unlock()
	b.wakeup()
}

// RunInLoop queues fn to run on the loop goroutine at the next loop turn and
// wakes the loop. It never blocks and may be called from the loop goroutine
// itself (fn then runs after the current callback). Functions run in the
// order they were queued. It returns ErrClosed on a closed base; functions
// still queued when the base is closed run inside Close.
// Safe for concurrent use.
func (b *Base) RunInLoop(fn func()) error {
	if fn == nil {
		return ErrNilCallback
	}
	return b.queueFn(remoteFn{fn: fn})
}

func (b *Base) queueFn(r remoteFn) error {
	b.mu.Lock()
	if b.rClosed {
		b.mu.Unlock()
		return ErrClosed
	}
	b.rFns = append(b.rFns, r)
	b.remoteN.Add(1)
	b.mu.Unlock()
	b.wakeup()
	return nil
}

// Do runs fn on the loop goroutine and waits until it returned or ctx is
// done. If ctx ends first, fn may still run later. Do must not be called from
// the loop goroutine (it would wait for itself until ctx is done): there,
// call fn directly. Safe for concurrent use.
func (b *Base) Do(ctx context.Context, fn func()) error {
	if fn == nil {
		return ErrNilCallback
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	done := make(chan struct{})
	err := b.queueFn(remoteFn{fn: func() {
		defer close(done)
		fn()
	}})
	if err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// wakeup interrupts a blocked poll, coalescing wake-ups.
func (b *Base) wakeup() {
	if b.polling.Load() && b.notified.CompareAndSwap(false, true) {
		_ = b.poll.wake()
	}
}

// sync applies activations queued by Active; loop-confined.
func (b *Base) sync() {
	if b.remoteN.Load() != 0 {
		b.drainRemote(false)
	}
}

// drainRemote applies queued activations and, when runFns is set, runs the
// queued functions. It returns the number of functions run. A function may
// call loop-confined methods that sync again; the double buffers are
// handed over so that a nested drain never shares an array with the outer
// one.
func (b *Base) drainRemote(runFns bool) int {
	// spareA and spareF belong to the loop goroutine; only the swap with
	// the shared slices needs the lock.
	b.mu.Lock()
	acts := b.rActs
	b.rActs, b.spareA = b.spareA[:0], nil
	var fns []remoteFn
	if runFns {
		fns = b.rFns
		b.rFns, b.spareF = b.spareF[:0], nil
	}
	b.remoteN.Store(int32(len(b.rActs) + len(b.rFns)))
	b.mu.Unlock()

	for i := range acts {
		a := &acts[i]
		switch {
		case b.closed:
		case a.exit:
			b.loopExitNow(a.d)
		case a.ev.base == b:
			b.activate(a.ev, a.res, a.ncalls)
		}
		a.ev = nil
	}
	if b.spareA == nil {
		b.spareA = acts[:0]
	}
	n := 0
	for i := range fns {
		f := fns[i]
		fns[i] = remoteFn{}
		n++
		f.fn()
	}
	if runFns && b.spareF == nil {
		b.spareF = fns[:0]
	}
	return n
}

// LoopExit makes the loop return after d (libevent's
// event_base_loopexit): a one-shot internal timer of default priority
// expires after d, and the loop returns at the end of the turn that ran it,
// after the other callbacks active in that turn. d == 0 activates it at
// once. Requested while no loop runs, it takes effect in the next Loop.
// Safe for concurrent use.
func (b *Base) LoopExit(d time.Duration) error {
	if d < 0 {
		return ErrNegativeTimeout
	}
	b.mu.Lock()
	if b.rClosed {
		b.mu.Unlock()
		return ErrClosed
	}
	b.rActs = append(b.rActs, remoteAct{exit: true, d: d})
	b.remoteN.Add(1)
	b.mu.Unlock()
	b.wakeup()
	return nil
}

func (b *Base) loopExitNow(d time.Duration) {
	ev := b.newEvent(-1, 0)
	ev.kind = kindFunc
	ev.tcb = func() { b.gotExit.Store(true) }
	if d == 0 {
		ev.res = Timeout
		b.queueInsertActive(ev)
		return
	}
	b.addTimeout(ev, d, nil)
}

// LoopBreak makes the running loop return right after the current callback
// (a signal event's remaining calls are skipped). Like libevent, a break
// requested while no loop runs is forgotten when the next loop starts.
// Safe for concurrent use.
func (b *Base) LoopBreak() {
	b.gotBreak.Store(true)
	b.wakeup()
}

// LoopContinue makes the loop stop running active callbacks after the
// current one and go back to polling (libevent's event_base_loopcontinue):
// the callbacks still active run in the next turn, after a poll that does
// not block; the turn's deferred functions still run. It behaves the same
// whether the current callback ran from the active queue or straight from
// the poller (direct dispatch). It does nothing when no loop runs.
// Loop-confined.
func (b *Base) LoopContinue() {
	if b.running {
		b.cont = true
	}
}

// GotExit reports whether the last loop returned because of LoopExit; it is
// cleared when the next loop starts. Safe for concurrent use.
func (b *Base) GotExit() bool { return b.gotExit.Load() }

// GotBreak reports whether the last loop returned because of LoopBreak; it
// is cleared when the next loop starts. Safe for concurrent use.
func (b *Base) GotBreak() bool { return b.gotBreak.Load() }

// ExitedEmpty reports whether the last Loop or Dispatch returned because no
// events were pending or active (libevent's return value 1).
// Loop-confined.
func (b *Base) ExitedEmpty() bool { return b.exitedEmpty }

// AddVirtual adds n (which may be negative) to the count of "virtual"
// events: operations outstanding outside the poller (e.g. completion-based
// I/O) that keep Dispatch from returning for lack of events, like
// libevent's event_base_add_virtual_. The count never goes below zero.
// Loop-confined.
func (b *Base) AddVirtual(n int) {
	b.virtual += n
	if b.virtual < 0 {
		b.virtual = 0
	}
}

// Defer queues fn to run later in this loop turn, after the active
// callbacks (libevent's deferred callbacks, used by bufferevents and
// buffers). At most 32 deferred functions run per turn; the rest run in the
// following turns, so I/O is not starved. Functions run in order. Close
// runs the functions still queued; after Close, Defer drops fn.
// Loop-confined.
func (b *Base) Defer(fn func()) {
	if fn == nil || b.closed {
		return
	}
	b.deferQ = append(b.deferQ, fn)
}

func (b *Base) deferPending() bool { return b.deferHead < len(b.deferQ) }

func (b *Base) runDeferred() int {
	n := 0
	for b.deferRun < maxDeferredPerTurn && b.deferHead < len(b.deferQ) {
		fn := b.deferQ[b.deferHead]
		b.deferQ[b.deferHead] = nil
		b.deferHead++
		b.deferRun++
		n++
		fn()
		if b.remoteN.Load() != 0 {
			b.sync()
		}
		if b.gotBreak.Load() {
			break
		}
	}
	if b.deferHead == len(b.deferQ) {
		b.deferQ = b.deferQ[:0]
		b.deferHead = 0
	} else if b.deferHead > 1024 && b.deferHead > len(b.deferQ)/2 {
		k := copy(b.deferQ, b.deferQ[b.deferHead:])
		clear(b.deferQ[k:])
		b.deferQ = b.deferQ[:k]
		b.deferHead = 0
	}
	return n
}

// Dispatch runs the loop until no events are pending or active, or until
// LoopExit or LoopBreak (libevent's event_base_dispatch). Loop-confined:
// the calling goroutine becomes the loop goroutine.
func (b *Base) Dispatch() error { return b.Loop(0) }

func (b *Base) haveWork() bool {
	return b.nUser > 0 || b.virtual > 0 || b.deferPending() || b.remoteN.Load() != 0
}

// Loop runs the event loop (libevent's event_base_loop) until no events are
// pending or active (unless LoopNoExitOnEmpty), LoopExit, LoopBreak, or as
// flags say. It returns nil both after a normal exit and when nothing was
// pending (ExitedEmpty tells the two apart), ErrReentrant when the loop is
// already running, ErrClosed on a closed base, or the poller's error.
// Loop-confined: the calling goroutine becomes the loop goroutine.
func (b *Base) Loop(flags LoopFlags) (err error) {
	if b.closed {
		return ErrClosed
	}
	if b.running {
		return ErrReentrant
	}
	b.running = true
	if b.gotExit.Load() {
		b.gotExit.Store(false)
	}
	if b.gotBreak.Load() {
		b.gotBreak.Store(false)
	}
	b.exitedEmpty = false
	if !b.cfg.NoCacheTime {
		b.caching.Store(true)
	}
	defer func() {
		b.running = false
		b.current = nil
		b.runningPri = -1
		b.endPoll() // a callback run from the poller panicked
		b.caching.Store(false)
		b.clearCache()
		if b.closeReq {
			err = b.closeNow()
		}
	}()
	for {
		if b.gotExit.Load() || b.gotBreak.Load() || b.closeReq {
			return nil
		}
		if flags&LoopNoExitOnEmpty == 0 && !b.haveWork() {
			b.exitedEmpty = true
			return nil
		}
		b.cont = false
		b.deferRun = 0
		b.moveLater()

		b.clearCache() // readers during the poll get the current time
		var timeout int64
		mayBlock := b.nActive == 0 && !b.deferPending() && flags&LoopNonBlock == 0
		if mayBlock {
			if b.beforeBlock != nil {
				b.beforeBlock()
			}
			// About to block: publish it, then re-check everything another
			// goroutine may have asked for since the top of this turn: the
			// remote queues, signals and LoopBreak. Each of them stores its
			// request and then checks polling, so either it wakes us or we
			// see its request here. (LoopBreak was once missing from this
			// check: a break between the check at the top of the turn and
			// this point skipped the wake-up and the loop blocked for good.)
			b.polling.Store(true)
			timeout = -1
			if b.remoteN.Load() != 0 || b.sigPend.Load() || b.gotBreak.Load() {
				timeout = 0
			} else if len(b.heap) > 0 {
				timeout = max(b.heap[0].deadline-int64(time.Since(b.epoch)), 0)
			}
		}
		// With nothing active before the poll, a ready persistent I/O event
		// may run straight from the poller (ioReady).
		b.direct = b.directOK && b.nActive == 0 && b.remoteN.Load() == 0 && !b.sigPend.Load()
		b.nDirect = 0
		b.directRan = false
		b.inWait.Store(true)
		var perr error
		if w := b.waiter; w != nil {
			perr = b.waitWith(w, timeout)
		} else {
			perr = b.poll.wait(b, timeout)
		}
		b.inWait.Store(false)
		b.endPoll()
		if mayBlock {
			b.polling.Store(false)
		}
		if b.notified.Load() {
			b.notified.Store(false)
		}
		if perr != nil {
			return perr
		}
		b.clearCache() // refreshed lazily by the first reader this turn

		n := b.nDirect
		// cont was cleared before the poll, so only a direct callback set
		// it: that callback was the turn's first, and the queue must not
		// run this turn (processQueue stops after the callback that
		// continued).
		contDirect := b.cont
		if b.gotBreak.Load() || b.closeReq {
			// A directly run callback broke the loop: what became ready
			// after it stays active for the next Loop, as in libevent.
			continue
		}
		if b.sigPend.Load() {
			b.deliverSignals()
		}
		if b.remoteN.Load() != 0 {
			n += b.drainRemote(true)
		}
		b.expireTimers()
		if b.nActive > 0 || b.deferPending() {
			if !contDirect {
				n += b.processActive()
			}
			if !b.gotBreak.Load() {
				n += b.runDeferred()
			}
			if flags&LoopOnce != 0 && b.nActive == 0 && !b.deferPending() && n > 0 {
				return nil
			}
		} else if flags&LoopNonBlock != 0 {
			return nil
		}
		if flags&LoopOnce != 0 && n > 0 && b.nActive == 0 && !b.deferPending() {
			return nil
		}
	}
}

// moveLater moves "active later" callbacks onto the active queues.
func (b *Base) moveLater() {
	for ev := b.late.head; ev != nil; ev = b.late.head {
		b.late.remove(ev)
		ev.flags &^= flActiveLate
		b.nActive--
		ev.flags |= flActive
		b.active[ev.pri].push(ev)
		b.nActive++
	}
}

// processActive runs the most urgent non-empty priority queue (libevent's
// event_process_active) and returns the number of non-internal callbacks.
func (b *Base) processActive() int {
	total := 0
	for pri := range b.active {
		q := &b.active[pri]
		if q.head == nil {
			continue
		}
		b.runningPri = pri
		limited := b.limits && pri >= b.cfg.LimitCallbacksAfterPriority
		c, stop := b.processQueue(q, limited)
		total += c
		if stop || c > 0 {
			break
		}
	}
	b.runningPri = -1
	return total
}

func (b *Base) processQueue(q *evQueue, limited bool) (count int, stop bool) {
	maxCB := int(^uint(0) >> 1)
	var end int64
	if limited {
		if b.cfg.MaxDispatchCallbacks > 0 {
			maxCB = b.cfg.MaxDispatchCallbacks
		}
		if b.cfg.MaxDispatchInterval > 0 {
			end = int64(time.Since(b.epoch)) + int64(b.cfg.MaxDispatchInterval)
		}
	}
	for ev := q.head; ev != nil; ev = q.head {
		b.queueRemoveActive(ev)
		res := ev.res
		switch {
		case ev.kind == kindFinalize:
		case ev.events&Persist == 0:
			b.delEvent(ev)
		default:
			if ev.interval > 0 {
				b.persistRearm(ev, res)
			}
			b.recount(ev)
		}
		if !ev.intern {
			count++
		}
		b.current = ev
		b.invoke(ev, res)
		b.current = nil
		if b.remoteN.Load() != 0 {
			b.sync()
		}
		if b.gotBreak.Load() {
			return count, true
		}
		if count >= maxCB {
			return count, false
		}
		if end != 0 && int64(time.Since(b.epoch)) >= end {
			return count, false
		}
		if b.cont {
			return count, false
		}
	}
	return count, false
}

func (b *Base) invoke(ev *Event, res What) {
	switch ev.kind {
	case kindIO:
		if ev.events&Signal != 0 {
			for ev.ncalls > 0 {
				ev.ncalls--
				ev.h.HandleEvent(ev.fd, res)
				if b.gotBreak.Load() || ev.flags&flFreed != 0 {
					ev.ncalls = 0
					break
				}
			}
			return
		}
		ev.h.HandleEvent(ev.fd, res)
	case kindTimer, kindFunc:
		ev.tcb()
	case kindFinalize:
		ev.flags |= flFreed
		ev.flags &^= flFinalizing
		b.recount(ev)
		fn := ev.finalizer
		ev.finalizer, ev.h, ev.tcb = nil, nil, nil
		if fn != nil {
			fn(ev)
		}
	}
}
