package evbuffer

// CallbackInfo describes how a buffer changed since its callbacks last ran.
// The new length is OrigSize + Added - Deleted. It is a plain value, safe
// for concurrent use.
type CallbackInfo struct {
	OrigSize int // length when the callbacks last ran
	Added    int // bytes added since then
	Deleted  int // bytes removed since then
}

// Callback is a registered buffer callback, returned by AddCallback and
// AddNotifier. Like its Buffer it is not safe for concurrent use.
type Callback struct {
	n        Notifier
	buf      *Buffer // the buffer it is registered on, for its count of enabled callbacks
	enabled  bool
	removed  bool
	addsOnly bool
}

// A Notifier is a buffer callback in interface form, registered with
// AddNotifier. It behaves exactly as a function registered with
// AddCallback; the difference is the cost of the call. A function value
// that captures state (a method value, a closure) is a separate object
// that each call loads, and so is the Callback itself; a buffer whose only
// enabled callback is a Notifier calls it straight from the buffer, so an
// owner that implements Notifier on its own object (a bufferevent) adds no
// object to what a change touches. With thousands of connections, each
// such object is a likely cache miss per change.
//
// Implementations are called on the goroutine that modifies the buffer,
// one call at a time for a buffer used as its contract says (a Buffer is not
// safe for concurrent use): an implementation registered on one buffer need
// not be safe for concurrent use; one shared by buffers modified on
// different goroutines must be.
type Notifier interface {
	// BufferChanged is called after changes to b; info says what changed
	// since the last call.
	BufferChanged(b *Buffer, info CallbackInfo)
}

// funcNotifier adapts a function given to AddCallback. A func is
// pointer-shaped, so the conversion to Notifier allocates nothing.
type funcNotifier func(b *Buffer, info CallbackInfo)

func (f funcNotifier) BufferChanged(b *Buffer, info CallbackInfo) { f(b, info) }

// SetEnabled enables or disables c. A disabled callback is skipped; the
// changes it misses are not replayed later (the counters belong to the
// buffer, not to each callback, as in libevent). A callback enabled while
// the callbacks run may first be called in the next run.
// Not safe for concurrent use; call it where the buffer is used.
func (c *Callback) SetEnabled(on bool) {
	if c.enabled == on {
		return
	}
	c.enabled = on
	if c.removed || c.buf == nil {
		return
	}
	if on {
		c.buf.cbOn++
	} else {
		c.buf.cbOn--
	}
	c.buf.findSole()
}

// SetAddsOnly makes c skip the runs in which bytes were only removed
// (CallbackInfo.Added == 0), for callbacks that only care about data
// arriving: a socket's output writing what was added, a watermark that only
// an addition can cross. A buffer whose only enabled callback is AddsOnly
// pays one test, not a call, for each removal. The counters belong to the
// buffer: removals c skipped are reported in the next run's Deleted (and
// OrigSize) unless another callback's run came in between or the callbacks
// changed (one registered, enabled, disabled or its AddsOnly set), since
// those are never reported to a callback that could not run then.
// Not safe for concurrent use; call it where the buffer is used.
func (c *Callback) SetAddsOnly(on bool) {
	if c.addsOnly == on {
		return
	}
	c.addsOnly = on
	if !c.removed && c.buf != nil {
		c.buf.findSole()
	}
}

// AddsOnly reports whether c skips removals (SetAddsOnly).
// Not safe for concurrent use; call it where the buffer is used.
func (c *Callback) AddsOnly() bool { return c.addsOnly }

// Buffer.cbRun values: which changes run the callbacks, decided by inlined
// tests in invokeCallbacks. The zero value suits a buffer without callbacks.
const (
	runNone = 0 // no enabled callback and nothing is deferred
	runAdds = 1 // the only enabled callback is AddsOnly and nothing is deferred
	runAll  = 2 // every change runs the callbacks (or schedules a deferred run)
)

// findSole caches the only enabled callback when there is exactly one, so
// that runCallbacks calls it without walking the list, and recomputes
// cbRun. Every change to the callbacks, their state or the deferral calls
// it.
func (b *Buffer) findSole() {
	b.cbSole, b.soleAdds = nil, false
	if b.cbOn == 1 {
		for _, c := range b.ext.cbs {
			if c.enabled && !c.removed {
				b.cbSole, b.soleAdds = c.n, c.addsOnly
				break
			}
		}
	}
	if b.cbRun != runAll {
		// Changes made without callbacks, and removals counted for a sole
		// AddsOnly callback, are not reported to callbacks that join now
		// (registered, enabled, or no longer AddsOnly): each callback sees
		// the changes made since it could run, as in libevent.
		b.nAdd, b.nDel = 0, 0
	}
	switch {
	case b.deferred:
		b.cbRun = runAll
	case b.cbOn == 0:
		b.cbRun = runNone
	case b.soleAdds:
		b.cbRun = runAdds
	default:
		b.cbRun = runAll
	}
}

// Enabled reports whether c is enabled.
// Not safe for concurrent use; call it where the buffer is used.
func (c *Callback) Enabled() bool { return c.enabled && !c.removed }

// Deferrer runs functions later. The event base implements it as "run fn on
// the loop goroutine in a later step of the loop". A Buffer calls Defer from
// the goroutine that modifies it (the loop goroutine, for a loop-confined
// buffer), so an implementation need only be safe for use there.
type Deferrer interface {
	// Defer arranges for fn to be called later. It must not call fn
	// synchronously.
	Defer(fn func())
}

// AddCallback registers fn to run after each change to b (or, in deferred
// mode, once per batch of changes). Callbacks run in reverse order of
// registration; each sees the same CallbackInfo. A callback may modify b
// (the changes run the callbacks again, recursively unless deferred), add
// callbacks, and remove any callback, itself included. A nil fn registers a
// callback that does nothing.
// Not safe for concurrent use.
func (b *Buffer) AddCallback(fn func(b *Buffer, info CallbackInfo)) *Callback {
	if fn == nil {
		fn = func(*Buffer, CallbackInfo) {}
	}
	return b.AddNotifier(funcNotifier(fn))
}

// AddNotifier registers n as AddCallback registers a function: the same
// order, the same CallbackInfo, the same rules for changes made inside the
// call, the same Callback handle to enable, disable or remove it. See
// Notifier for why an owner would prefer it. A nil n registers a callback
// that does nothing.
// Not safe for concurrent use.
func (b *Buffer) AddNotifier(n Notifier) *Callback {
	if n == nil {
		n = funcNotifier(func(*Buffer, CallbackInfo) {})
	}
	c := &Callback{n: n, buf: b, enabled: true}
	x := b.x()
	x.cbs = append(x.cbs, c)
	b.cbOn++
	b.findSole()
	return c
}

// RemoveCallback unregisters c. It returns ErrNoCallback if c is not
// registered on b.
// Not safe for concurrent use.
func (b *Buffer) RemoveCallback(c *Callback) error {
	if b.ext == nil {
		return ErrNoCallback
	}
	e := b.ext
	for i, x := range e.cbs {
		if x == c && !x.removed {
			x.removed = true
			if x.enabled {
				b.cbOn--
				b.findSole()
			}
			if b.cbDepth == 0 {
				e.cbs = append(e.cbs[:i], e.cbs[i+1:]...)
				clearTail(e.cbs)
			} else {
				b.cbDirty = true
			}
			return nil
		}
	}
	return ErrNoCallback
}

// clearTail zeroes the slots between len and cap so removed callbacks can be
// collected.
func clearTail(s []*Callback) {
	t := s[len(s):cap(s)]
	for i := range t {
		t[i] = nil
	}
}

// DeferCallbacks makes b's callbacks run through d instead of inline: a
// change schedules one run (coalesced: at most one pending run per buffer)
// and the run reports everything that changed since the last one. A nil d
// returns to inline callbacks.
// Not safe for concurrent use.
func (b *Buffer) DeferCallbacks(d Deferrer) {
	if d == nil && b.ext == nil {
		return
	}
	x := b.x()
	x.deferrer = d
	b.deferred = d != nil
	if d != nil && x.deferFn == nil {
		x.deferFn = b.runDeferred
	}
	b.findSole()
}

// invokeCallbacks runs or schedules the callbacks after a change.
// It is small enough to be inlined: buffers without enabled callbacks, and
// removals under a sole AddsOnly callback, pay one test (a deferred run is
// still scheduled for disabled ones, which may be enabled before it runs),
// others one call.
func (b *Buffer) invokeCallbacks() {
	// Without callbacks the counters just accumulate (findSole clears them
	// when callbacks come back); removals alone are counted for an AddsOnly
	// callback's next run.
	if b.cbRun == runNone || b.cbRun == runAdds && b.nAdd == 0 {
		return
	}
	b.runCallbacks(false)
}

// schedule arranges one deferred run of the callbacks, if there are any.
func (b *Buffer) schedule() {
	x := b.ext // set: b.deferred
	if len(x.cbs) == 0 {
		b.nAdd, b.nDel = 0, 0
		return
	}
	if !x.deferPending && (b.nAdd != 0 || b.nDel != 0) {
		x.deferPending = true
		x.deferrer.Defer(x.deferFn)
	}
}

func (b *Buffer) runDeferred() {
	b.ext.deferPending = false
	b.runCallbacks(true)
}

// runCallbacks calls every enabled callback with the changes since the last
// run and resets the counters. Unless deferred (the deferred run itself), a
// buffer with a Deferrer schedules the run instead.
func (b *Buffer) runCallbacks(deferred bool) {
	if b.deferred && !deferred {
		b.schedule()
		return
	}
	nAdd, nDel := b.nAdd, b.nDel
	if b.cbOn == 0 {
		b.nAdd, b.nDel = 0, 0
		return
	}
	if nAdd == 0 && (nDel == 0 || b.soleAdds) {
		return // nothing changed, or removals only for an AddsOnly callback
	}
	info := CallbackInfo{
		OrigSize: b.total + nDel - nAdd,
		Added:    nAdd,
		Deleted:  nDel,
	}
	b.nAdd, b.nDel = 0, 0
	if n := b.cbSole; n != nil {
		// One enabled callback (a bufferevent's buffers): no walk.
		b.cbDepth++
		n.BufferChanged(b, info)
		b.cbDepth--
		if b.cbDepth == 0 && b.cbDirty {
			b.compactCallbacks()
		}
		return
	}
	b.cbDepth++
	// Newest first. Callbacks added during the run are appended after n and
	// are not called in this run.
	x := b.ext // set: there are enabled callbacks
	for i := len(x.cbs) - 1; i >= 0; i-- {
		if i >= len(x.cbs) {
			continue
		}
		c := x.cbs[i]
		if c.enabled && !c.removed && (nAdd != 0 || !c.addsOnly) {
			c.n.BufferChanged(b, info)
		}
	}
	b.cbDepth--
	if b.cbDepth == 0 && b.cbDirty {
		b.compactCallbacks()
	}
}

// compactCallbacks drops the callbacks removed during a run.
func (b *Buffer) compactCallbacks() {
	b.cbDirty = false
	x := b.ext
	j := 0
	for _, c := range x.cbs {
		if !c.removed {
			x.cbs[j] = c
			j++
		}
	}
	x.cbs = x.cbs[:j]
	clearTail(x.cbs)
}
