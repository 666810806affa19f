package filter

import (
	"errors"
	"fmt"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/backend"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
)

// TypeName is the name under which the filter type is registered with
// bufferevent.Register.
// A constant, safe for concurrent use.
const TypeName = "filter"

func init() {
	bufferevent.Register(TypeName, open)
}

// errOpen is what bufferevent.Open(base, "filter", opts) returns.
var errOpen = fmt.Errorf("filter: a filter bufferevent filters another one and cannot be built from a base alone; use filter.New(underlying, in, out, opts): %w", errors.ErrUnsupported)

func open(*eventbase.Base, bufferevent.Options) (*bufferevent.BufferEvent, error) {
	return nil, errOpen
}

// filt is the backend state of one filter bufferevent.
//
// Locks: the filter and its underlying keep their own locks (each nil unless
// ThreadSafe); when both are needed the filter's is taken first, the
// underlying's second (lockU), and user callbacks always run with neither
// held. Fields marked "loop" are touched only by loop code (the goroutine
// running the base, or the owner before it runs), which is what makes the
// re-entrance flags race-free without the lock: the underlying's callbacks
// read them on the same goroutine.
type filt struct {
	c       backend.Core
	bev     *bufferevent.BufferEvent
	in, out *evbuffer.Buffer // own input and output
	u       *bufferevent.BufferEvent
	uc      backend.Core
	uIn     *evbuffer.Buffer
	uOut    *evbuffer.Buffer
	inF     Func
	outF    Func
	outCb   *evbuffer.Callback
	uHeld   bool // loop: lockU holds the underlying's lock
	nest    int  // loop: > 0 while calling into the underlying
	outBusy bool // loop: processOutput is running
	gotEOF  bool // the underlying reported EOF while reading
	// finishing: after that EOF, the input Func still has to consume the
	// underlying's input in Finished mode (within the read watermark, so
	// possibly over several turns as the user drains); the EOF event
	// (heldWhat, heldErr) waits for it. Loop.
	finishing bool
	heldWhat  bufferevent.Events
	heldErr   error
	uCbGen    uint64                // the underlying's CallbacksGen after we took them over
	pendMode  bufferevent.FlushMode // loop: strongest Flush asked during processOutput
	pendU     bool                  // loop: the underlying must be flushed after processOutput
	pendUM    bufferevent.FlushMode // loop: mode of that flush

	// deferred work (loop)
	inKicked, outKicked, evKicked bool
	inKickFn, outKickFn, evKickFn func()
	pendEv                        bufferevent.Events
	pendErr                       error
	// work handed over from goroutines writing to a ThreadSafe filter
	// (guarded by the filter's lock)
	outRemote   bool
	outRemoteFn func()

	// lingering close of the underlying (loop)
	lingerT    *eventbase.Event
	lingerStop func() bool // unregisters endLinger from the base's OnClose functions
	lingerDone bool

	// the underlying's maximum input while the filter owns it (loop)
	uMaxSet    bool // the filter lowered it (and restores uMaxSaved)
	uMaxSaved  int
	uMax       int // the value set
	uMaxWant   int // the value uMaxFn sets
	uMaxQueued bool
	uMaxFn     func()

	cleanup func() error                      // WithCleanup; nil once called
	cause   func(bufferevent.Direction) error // WithCause
	aborted bool                              // New failed: leave the underlying alone
}

// testHook, when set by a test, makes taking over the underlying's
// callbacks in New fail with what it returns.
var testHook func() error

// Linger bounds how long a filter closed with CloseOnFree keeps its
// underlying open so that output already handed to it can drain (see
// Close). After it the underlying is closed with whatever it still holds.
// While the underlying lingers, its events and the linger timer keep the
// base's loop running, as any bufferevent with output to write does.
// A constant, safe for concurrent use.
const Linger = 10 * time.Second

// withFD adds the FD and SetFD capabilities, delegated to the underlying,
// when the underlying has a descriptor.
type withFD struct{ *filt }

var (
	_ backend.Ops        = (*filt)(nil)
	_ backend.Underlying = (*filt)(nil)
	_ backend.FD         = withFD{}
	_ backend.SetFD      = withFD{}
)

// New creates a bufferevent that filters underlying (libevent's
// bufferevent_filter_new): bytes read by underlying pass through in before
// they reach the new bufferevent's input; bytes written to the new
// bufferevent pass through out before they reach underlying's output. A nil
// Func passes bytes through unchanged (PassThrough). extra options add a
// cleanup function run when the filter is finalised (WithCleanup) and a
// source for the Funcs' errors (WithCause).
//
// The filter takes over underlying's callbacks (set none on it while the
// filter exists), enables its reading and writing, and holds a reference on
// it. Reading from underlying is suspended while the filter's own reading is
// disabled (new bufferevents start with only Write enabled). Closing the
// filter with CloseOnFree in opts closes underlying too; without it, the
// filter clears underlying's callbacks (unless the user has set new ones
// since: closing the filter inside its own callback and at once calling
// underlying.SetCallbacks keeps the new ones, although the filter is
// finalised after the callback returns), resumes its reading and lets it go.
//
// On error New takes nothing, whatever opts says: underlying is not closed
// and keeps its callbacks and enabled directions, the cleanup function is
// not called, and both stay the caller's.
//
// opts are the filter's own options; the filter runs on underlying's base.
// Each layer keeps its own lock. Filters stack: the underlying may itself be
// a filter. Loop-confined unless both opts and underlying are ThreadSafe (a
// filter over a loop-confined underlying must be created on the loop); the
// new bufferevent is loop-confined unless opts has ThreadSafe.
func New(underlying *bufferevent.BufferEvent, in, out Func, opts bufferevent.Options, extra ...Option) (*bufferevent.BufferEvent, error) {
	if underlying == nil {
		return nil, ErrNilUnderlying
	}
	_, fdErr := underlying.FD()
	if errors.Is(fdErr, bufferevent.ErrClosed) {
		return nil, fmt.Errorf("filter: underlying %s: %w", underlying.Type(), fdErr)
	}
	var st settings
	for _, o := range extra {
		if o != nil {
			o(&st)
		}
	}
	f := &filt{u: underlying, uc: bufferevent.BackendCore(underlying), inF: in, outF: out, cleanup: st.cleanup, cause: st.cause}
	if f.inF == nil {
		f.inF = PassThrough
	}
	if f.outF == nil {
		f.outF = PassThrough
	}
	f.uIn, f.uOut = f.uc.Input(), f.uc.Output()
	var ops backend.Ops = f
	if fdErr == nil {
		ops = withFD{f}
	}
	// libevent's filter re-arms its write timeout on every enable and after
	// every productive output round, so an idle filter with writing enabled
	// times out like a socket does (bufferevent_timeout_filter): the core's
	// generic write timer with the WhileEnabled policy.
	cfg := bufferevent.Config{Type: TypeName, Options: opts, WriteTimer: backend.WriteTimerWhileEnabled}
	bev, err := bufferevent.New(underlying.Base(), cfg, func(c backend.Core) (backend.Ops, error) {
		f.build(c)
		return ops, nil
	})
	if err != nil {
		return nil, err
	}
	// Keep the underlying alive until the filter is finalised, as libevent
	// does (bufferevent_incref_).
	f.uc.Lock()
	f.uc.Hold()
	f.uc.Unlock()
	if testHook != nil {
		err = testHook()
	}
	if err == nil {
		err = underlying.SetCallbacks(f.uRead, f.uWrite, f.uEvent)
	}
	if err != nil {
		// Nothing of the underlying was changed: finalise the filter
		// without closing it or calling the cleanup.
		f.aborted = true
		f.cleanup = nil
		_ = bev.Close()
		return nil, fmt.Errorf("filter: taking over the underlying: %w", err)
	}
	f.uc.Lock()
	f.uCbGen = f.uc.CallbacksGen()
	f.uc.Unlock()
	// Bound what the underlying reads ahead of the input Func (see
	// flowWindow), unless the user bounded it more tightly.
	if m := underlying.MaxInput(); m == 0 || m > flowWindow {
		if underlying.SetMaxInput(flowWindow) == nil {
			f.uMaxSet, f.uMaxSaved, f.uMax = true, m, flowWindow
		}
	}
	// Stop reading from the underlying until the filter's Read is enabled.
	if opts&bufferevent.ThreadSafe != 0 {
		// We may be on any goroutine: do it on the loop, ahead of any
		// Enable queued after us.
		f.uc.RunInLoop(f.suspendU)
	} else {
		f.uc.Lock()
		f.suspendU()
		f.uc.Unlock()
	}
	_ = underlying.Enable(bufferevent.ReadWrite)
	return bev, nil
}

func (f *filt) build(c backend.Core) {
	f.c = c
	f.bev = c.Handle().(*bufferevent.BufferEvent)
	f.in, f.out = c.Input(), c.Output()
	f.outCb = f.out.AddCallback(f.outputChanged)
	f.inKickFn = f.inKick
	f.outKickFn = f.outKick
	f.evKickFn = f.evKick
	f.outRemoteFn = f.outRemoteRun
	f.uMaxFn = f.uMaxRun
}

// flowWindow is the maximum input the filter gives an underlying that has
// no read high watermark (and a larger or no maximum input) while the filter
// owns it: the underlying stops reading when its input holds that much the
// input Func has not consumed. An underlying whose callbacks are deferred (a
// pair) would otherwise take everything its partner writes, up to its
// maximum input (16 MiB by default), before the filter sees any of it, so
// the filter's own read watermark would bound nothing and the bytes in
// flight would outgrow the CPU caches. When the Func needs more than that to
// make progress (NeedMore on a full window: a large frame), the maximum
// grows to what it holds plus a window (from the deferred queue) and
// shrinks back once the Func consumed it. The value the user had is
// restored when the filter is closed without CloseOnFree.
const flowWindow = 64 << 10

// wantUMax asks for the underlying's maximum input to become n. It is set
// from the deferred queue, without the underlying's lock held (the lock
// BufferEvent.SetMaxInput takes). Filter lock held.
func (f *filt) wantUMax(n int) {
	f.uMaxWant = n
	if !f.uMaxQueued {
		f.uMaxQueued = true
		f.c.Base().Defer(f.uMaxFn)
	}
}

func (f *filt) uMaxRun() {
	f.c.Enter()
	f.uMaxQueued = false
	if f.uMaxSet && !f.c.Closed() && f.uMax != f.uMaxWant {
		f.uMax = f.uMaxWant
		f.nest++
		_ = f.u.SetMaxInput(f.uMax)
		f.nest--
	}
	f.c.Leave()
}

// suspendU suspends the underlying's reading for the filter; the
// underlying's lock is held.
func (f *filt) suspendU() { f.uc.SuspendRead(backend.SuspendFilter) }

// lockU takes the underlying's lock unless this goroutine (the loop) already
// holds it; it reports whether it took it, for unlockU.
func (f *filt) lockU() bool {
	if f.uHeld {
		return false
	}
	f.uc.Lock()
	f.uHeld = true
	return true
}

func (f *filt) unlockU(took bool) {
	if took {
		f.uHeld = false
		f.uc.Unlock()
	}
}

// ---- the underlying's callbacks (loop goroutine, no lock held) ----

// uRead: the underlying read data (libevent's be_filter_readcb).
func (f *filt) uRead(*bufferevent.BufferEvent) {
	if f.nest > 0 {
		// Called synchronously from inside our own call into the
		// underlying (whose callbacks are not deferred): our lock is held
		// by this very goroutine; do it afterwards.
		f.kickIn()
		return
	}
	f.c.Enter()
	if !f.c.Closed() {
		f.readAndNotify(bufferevent.Normal)
	}
	f.c.Leave()
}

// uWrite: the underlying's output drained to its write low watermark
// (libevent's be_filter_writecb).
func (f *filt) uWrite(*bufferevent.BufferEvent) {
	if f.nest > 0 || f.outBusy {
		f.kickOut()
		return
	}
	f.c.Enter()
	if !f.c.Closed() {
		f.writeAndNotify(bufferevent.Normal, 0)
	}
	f.c.Leave()
}

// uEvent: the underlying reported EOF, an error, a timeout or a connection
// (libevent's be_filter_eventcb, which forwards it verbatim).
func (f *filt) uEvent(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
	if f.nest > 0 {
		f.pendEv |= what
		if f.pendErr == nil {
			f.pendErr = err
		}
		if !f.evKicked {
			f.evKicked = true
			f.c.Base().Defer(f.evKickFn)
		}
		return
	}
	f.c.Enter()
	f.handleEvent(what, err)
	f.c.Leave()
}

// handleEvent forwards an event of the underlying. On EOF while reading it
// first runs the input Func once in Finished mode, so that a stream filter
// can emit what it still holds (a decompressor's last block) before the
// user sees EOF. libevent declares a got_eof flag for this but never sets
// it, so its input filters never see BEV_FINISHED from the stream; we do.
// Lock held.
func (f *filt) handleEvent(what bufferevent.Events, err error) {
	if f.c.Closed() {
		return
	}
	if what&bufferevent.EOF != 0 && what&bufferevent.Reading != 0 && !f.gotEOF {
		// The Finished pass keeps to the read watermark like any input
		// (a decompressor fed a bomb must not fill memory because the
		// peer closed); the event waits until the Func has used up the
		// underlying's input, which may take the user's draining over
		// several turns (readAndNotify delivers it).
		f.gotEOF = true
		f.finishing = true
		f.heldWhat, f.heldErr = what, err
		f.readAndNotify(bufferevent.Normal)
		return
	}
	f.c.TriggerEvent(what, err, 0)
}

// ---- deferred work ----

func (f *filt) kickIn() {
	if !f.inKicked {
		f.inKicked = true
		f.c.Base().Defer(f.inKickFn)
	}
}

func (f *filt) kickOut() {
	if !f.outKicked {
		f.outKicked = true
		f.c.Base().Defer(f.outKickFn)
	}
}

func (f *filt) inKick() {
	f.c.Enter()
	f.inKicked = false
	if !f.c.Closed() {
		f.readAndNotify(bufferevent.Normal)
	}
	f.c.Leave()
}

func (f *filt) outKick() {
	f.c.Enter()
	f.outKicked = false
	if !f.c.Closed() {
		f.writeAndNotify(bufferevent.Normal, 0)
	}
	f.c.Leave()
}

func (f *filt) evKick() {
	f.c.Enter()
	f.evKicked = false
	what, err := f.pendEv, f.pendErr
	f.pendEv, f.pendErr = 0, nil
	if what != 0 {
		f.handleEvent(what, err)
	}
	f.c.Leave()
}

// outRemoteRun is the output processing handed to the loop by a goroutine
// that wrote to a ThreadSafe filter; RunInLoop holds the lock and a
// reference.
func (f *filt) outRemoteRun() {
	f.outRemote = false
	f.writeAndNotify(bufferevent.Normal, 0)
}

// ---- own output buffer callback ----

// outputChanged runs inside whatever added to the filter's output, with the
// filter's lock held (libevent's bufferevent_filtered_outbuf_cb). While the
// output is being filtered (outBusy) it does nothing: the running loop picks
// the new bytes up, so a Func or a write callback that writes to the filter
// never re-enters the output Func (libevent's filters_disable case).
// Otherwise it filters at once, as libevent does, so that the bytes reach the
// underlying (and, through a stack of filters, the bottom) inside the write
// call; but the write and event callbacks this causes are deferred, where
// libevent runs them inside the user's own Write.
func (f *filt) outputChanged(_ *evbuffer.Buffer, info evbuffer.CallbackInfo) {
	if info.Added == 0 || f.outBusy {
		return
	}
	if !f.c.OnLoop() {
		if !f.outRemote {
			f.outRemote = true
			f.c.RunInLoop(f.outRemoteFn)
		}
		return
	}
	if f.nest > 0 {
		f.kickOut()
		return
	}
	f.writeAndNotify(bufferevent.Normal, bufferevent.TriggerDefer)
}

// ---- filtering ----

// readAndNotify filters input in mode and runs the read callback if the
// filter's input grew, then reports a failure. After the underlying's EOF
// (finishing) the Func runs in Finished mode, within the read watermark for
// a Normal call, and the held EOF event is delivered once it has consumed
// the underlying's input. Lock held, reference taken. It reports whether
// the input grew.
func (f *filt) readAndNotify(mode bufferevent.FlushMode) bool {
	bounded := mode == bufferevent.Normal
	if f.finishing {
		mode = bufferevent.Finished
	}
	produced, res, done := f.processInput(mode, bounded)
	if produced {
		f.c.TriggerRead(0)
		if f.c.Closed() {
			return produced
		}
	}
	if res != OK && res != NeedMore {
		f.c.TriggerEvent(bufferevent.Error|bufferevent.Reading, f.funcError(bufferevent.Read, mode, res), 0)
		if f.c.Closed() {
			return produced
		}
	}
	if f.finishing && (done || res != OK) {
		f.finishing = false
		what, err := f.heldWhat, f.heldErr
		f.heldWhat, f.heldErr = 0, nil
		f.c.TriggerEvent(what, err, 0)
	}
	return produced
}

// processInput runs the input Func from the underlying's input into the
// filter's input (libevent's be_filter_process_input). Bounded (Normal mode,
// and the Finished pass after the underlying's EOF) it does nothing unless
// reading is enabled and not suspended (the input is below its high
// watermark), passes the room left as the limit and stops when the input is
// full; in Normal mode it also does nothing unless the underlying's input
// holds data. It returns whether the input grew, the last result, and
// whether the Func is done with the underlying's input: it used it up (in a
// flush mode after at least one call), failed, or stopped making progress;
// not when it stopped for room.
func (f *filt) processInput(mode bufferevent.FlushMode, bounded bool) (produced bool, res Result, done bool) {
	normal := mode == bufferevent.Normal
	if bounded && (!f.c.Active(bufferevent.Read) || f.c.InputRoom() == 0) {
		return false, OK, false
	}
	took := f.lockU()
	f.nest++
	src, dst := f.uIn, f.in
	progress := false
	for first := true; ; first = false {
		if src.Len() == 0 && (normal || !first) {
			done = true
			break
		}
		limit := NoLimit
		if bounded {
			limit = min(f.c.InputRoom(), DefaultLimit)
		}
		sl, dl := src.Len(), dst.Len()
		dst.Unfreeze(false)
		res = f.inF(src, dst, limit, mode)
		dst.Freeze(false)
		consumed, grew := src.Len() != sl, dst.Len() > dl
		produced = produced || grew
		progress = progress || consumed || grew
		if res != OK || !(consumed || grew) || f.c.Closed() {
			done = true
			break
		}
		if bounded && (!f.c.Active(bufferevent.Read) || f.c.InputRoom() == 0) {
			done = src.Len() == 0
			break
		}
	}
	if f.uMaxSet {
		switch n := src.Len(); {
		case n >= f.uMax && res != Error && f.c.InputRoom() > 0:
			// The Func needs more than the underlying may hold.
			f.wantUMax(n + flowWindow)
		case f.uMax > flowWindow && n < flowWindow:
			f.wantUMax(flowWindow)
		}
	}
	f.nest--
	f.unlockU(took)
	if progress {
		f.c.ResetReadTimer()
	}
	return produced, res, done
}

// funcError builds the error of a failed Func call, with the Func's own
// error when the filter has a WithCause source. Lock held.
func (f *filt) funcError(dir bufferevent.Direction, mode bufferevent.FlushMode, res Result) *FuncError {
	e := &FuncError{Dir: dir, Mode: mode, Result: res}
	if f.cause != nil {
		e.Err = f.cause(dir)
	}
	return e
}

// uHigh is the underlying's write high watermark, or DefaultOutputLimit
// when it has none: Normal-mode filtering waits while the underlying's
// output holds that much (libevent's be_underlying_writebuf_full). The
// underlying's lock is held.
func (f *filt) uHigh() int {
	_, hi := f.uc.Watermark(bufferevent.Write)
	if hi <= 0 {
		hi = DefaultOutputLimit
	}
	return hi
}

// writeAndNotify filters output in mode (processOutput, which runs the write
// callback itself) and then performs an underlying flush requested while it
// ran. trig is passed to the callbacks' triggers (TriggerDefer when called
// from inside a user's write). Lock held, reference taken. It reports whether
// the Func succeeded at least once.
func (f *filt) writeAndNotify(mode bufferevent.FlushMode, trig backend.TriggerOptions) bool {
	did := f.processOutput(mode, trig)
	if f.pendU && !f.outBusy && !f.c.Closed() {
		m := f.pendUM
		f.pendU, f.pendUM = false, bufferevent.Normal
		f.flushU(bufferevent.Write, m)
	}
	return did
}

// processOutput runs the output Func from the filter's output into the
// underlying's output (libevent's be_filter_process_output). In Normal mode
// it does nothing unless writing is enabled and not suspended, the output
// holds data and the underlying's output is below its write high watermark.
// After each productive round it runs the write callback (which may write
// more, or ask for a Flush: both are handled by further rounds here, never by
// a nested call). Lock held, reference taken. It reports whether the Func
// returned OK at least once.
func (f *filt) processOutput(mode bufferevent.FlushMode, trig backend.TriggerOptions) (processed bool) {
	if f.outBusy {
		// A Flush from the write callback we are running: do it in the
		// next round.
		f.pendMode = max(f.pendMode, mode)
		return false
	}
	f.outBusy = true
	took := f.lockU()
	src, dst := f.out, f.uOut
	var failed *FuncError
	// In Normal mode one call moves at most about one window of the
	// underlying's output (its write high watermark, or
	// DefaultOutputLimit) before yielding: a write callback that keeps
	// writing while the underlying keeps draining at once (a pair whose
	// reader has room) would otherwise pump megabytes in one call, ahead of
	// the reader's deferred callbacks, and keep them all in flight.
	hi := f.uHigh()
	budget := hi
	for {
		normal := mode == bufferevent.Normal
		if normal && (!f.c.Active(bufferevent.Write) || src.Len() == 0 || dst.Len() >= hi) {
			break
		}
		if normal && budget <= 0 {
			f.kickOut()
			break
		}
		round, consumed := false, false
		var res Result
		f.nest++
		for first := true; ; first = false {
			if src.Len() == 0 && !first {
				break
			}
			limit := NoLimit
			if normal {
				limit = hi - dst.Len()
			}
			sl := src.Len()
			src.Unfreeze(true)
			res = f.outF(src, dst, limit, mode)
			src.Freeze(true)
			budget -= sl - src.Len()
			if res == OK {
				round = true
			}
			if src.Len() != sl {
				consumed = true
			}
			if res != OK || src.Len() == sl || src.Len() == 0 || f.c.Closed() {
				break
			}
			if normal && (!f.c.Active(bufferevent.Write) || dst.Len() >= hi) {
				break
			}
		}
		f.nest--
		if res != OK && res != NeedMore {
			failed = f.funcError(bufferevent.Write, mode, res)
		}
		if round {
			processed = true
			f.unlockU(took)
			f.c.TriggerWrite(trig)
			took = f.lockU()
			if f.c.Closed() {
				break
			}
		}
		if failed != nil {
			break
		}
		if f.pendMode != bufferevent.Normal {
			// The write callback asked for a Flush.
			mode, f.pendMode = f.pendMode, bufferevent.Normal
			continue
		}
		if !round || !consumed || res != OK || src.Len() == 0 {
			break
		}
		// The write callback (or the Func) wrote more: go on while the
		// underlying takes it.
	}
	f.unlockU(took)
	f.outBusy = false
	if processed {
		f.c.ResetWriteTimer()
	}
	if failed != nil && !f.c.Closed() {
		f.c.TriggerEvent(bufferevent.Error|bufferevent.Writing, failed, trig)
	}
	return processed
}

// flushU flushes the underlying after the filter's own flush, as libevent
// does. Lock held.
func (f *filt) flushU(dir bufferevent.Direction, mode bufferevent.FlushMode) error {
	f.nest++
	_, err := f.u.Flush(dir, mode)
	f.nest--
	if err != nil && !errors.Is(err, bufferevent.ErrClosed) {
		return fmt.Errorf("filter: flushing the underlying %s: %w", f.u.Type(), err)
	}
	return nil
}

// ---- Ops ----

// Enable starts filtering in dir: reading resumes the underlying's reading
// and the read timer, writing re-arms the write timer (it runs while writing
// is enabled, even with an empty output: Config.WriteTimer). Data already waiting
// (in the underlying's input, or in our output) is filtered at once, from
// the deferred queue: libevent waits for the next underlying callback,
// which may never come.
func (f *filt) Enable(dir bufferevent.Direction) error {
	if dir&bufferevent.Write != 0 {
		f.c.ResetWriteTimer()
		if f.out.Len() > 0 {
			f.kickOut()
		}
	}
	if dir&bufferevent.Read != 0 {
		f.c.ResetReadTimer()
		took := f.lockU()
		f.nest++
		f.uc.UnsuspendRead(backend.SuspendFilter)
		f.nest--
		waiting := f.uIn.Len() > 0 || f.finishing
		f.unlockU(took)
		if waiting {
			f.kickIn()
		}
	}
	return nil
}

// Disable stops filtering in dir: disabling (or suspending) reading also
// suspends the underlying's reading, so nothing piles up below.
func (f *filt) Disable(dir bufferevent.Direction) error {
	f.c.StopTimers(dir)
	if dir&bufferevent.Read != 0 {
		took := f.lockU()
		f.nest++
		f.uc.SuspendRead(backend.SuspendFilter)
		f.nest--
		f.unlockU(took)
	}
	return nil
}

// Flush runs the Funcs in mode (Read: input, Write: output), ignoring
// watermarks unless mode is Normal, then flushes the underlying with the
// same arguments (libevent's be_filter_flush). It reports whether the
// filter produced anything. A Flush(Write, ...) made from inside the write
// callback while the output is being filtered is carried out by that
// running loop just after the callback returns, and reports false.
func (f *filt) Flush(dir bufferevent.Direction, mode bufferevent.FlushMode) (bool, error) {
	did := false
	if dir&bufferevent.Read != 0 {
		did = f.readAndNotify(mode)
		if f.c.Closed() {
			return did, nil
		}
	}
	if dir&bufferevent.Write != 0 {
		if f.outBusy {
			f.pendMode = max(f.pendMode, mode)
			f.pendU = true
			f.pendUM = max(f.pendUM, mode)
			return did, nil
		}
		did = f.processOutput(mode, 0) || did
		if f.c.Closed() {
			return did, nil
		}
	}
	return did, f.flushU(dir, mode)
}

// AdjustTimeouts applies changed timeouts to the core's generic timers.
func (f *filt) AdjustTimeouts() error { return f.c.AdjustGenericTimeouts() }

// Close detaches from the underlying (libevent's be_filter_unlink and
// destruct): with CloseOnFree it closes the underlying; otherwise it clears
// the underlying's callbacks if they are still the filter's (the user may
// have set their own since closing the filter: those are kept) and resumes
// its reading. Either way it drops the filter's reference on it.
func (f *filt) Close() error {
	_ = f.out.RemoveCallback(f.outCb)
	var err error
	if fn := f.cleanup; fn != nil {
		// The Funcs are never called again: release what they hold.
		f.cleanup = nil
		err = fn()
	}
	if f.aborted {
		took := f.lockU()
		f.uc.Release()
		f.unlockU(took)
		return err
	}
	if f.c.Options()&bufferevent.CloseOnFree != 0 {
		took := f.lockU()
		pending := f.uOut.Len() > 0 && !f.uc.Closed()
		f.unlockU(took)
		if pending && f.linger() {
			return err
		}
		if e := f.u.Close(); e != nil && !errors.Is(e, bufferevent.ErrClosed) {
			err = errors.Join(err, e)
		}
	} else {
		if f.uMaxSet && !f.uHeld {
			f.uMaxSet = false
			_ = f.u.SetMaxInput(f.uMaxSaved)
		}
		took := f.lockU()
		f.uc.ClearCallbacksIf(f.uCbGen)
		f.uc.UnsuspendRead(backend.SuspendFilter)
		f.unlockU(took)
	}
	took := f.lockU()
	f.uc.Release()
	f.unlockU(took)
	return err
}

// linger keeps the underlying open, no longer reading, until its output has
// drained, an error or timeout event ends it, or Linger passes (an EOF does
// not: the peer may have half-closed and still read); then closes it and drops
// the filter's reference; a base closed meanwhile ends it too (Base.OnClose).
// Bytes the filter already passed down were
// reported written by the filter's write callback, so closing the filter
// from that callback must not discard them while they wait in the
// underlying (a socket writes on its next writability event). libevent frees
// the underlying at once and loses them. It reports false if lingering is
// impossible (the base is closed).
func (f *filt) linger() bool {
	t, err := f.c.Base().NewTimer(f.endLinger)
	if err != nil {
		return false
	}
	// A base closed meanwhile ends the linger: nobody else would close
	// the underlying.
	stop, err := f.c.Base().OnClose(f.endLinger)
	if err != nil {
		t.Free()
		return false
	}
	if f.u.SetCallbacks(nil, f.lingerWrite, f.lingerEvent) != nil {
		stop()
		t.Free()
		return false
	}
	f.lingerStop = stop
	// Nothing reads any more: stop reading, so that a peer that half-closes
	// (it still reads what we send) does not end the linger with its EOF.
	_ = f.u.Disable(bufferevent.Read)
	f.lingerT = t
	_ = t.AddTimeout(Linger)
	return true
}

func (f *filt) lingerWrite(u *bufferevent.BufferEvent) {
	n := 0
	_ = u.WithLock(func(_, out *evbuffer.Buffer) { n = out.Len() })
	if n == 0 {
		f.endLinger()
	}
}

// lingerEvent ends the linger on an error or a timeout; the peer's EOF (a
// read that completed before reading stopped) does not stop the output.
func (f *filt) lingerEvent(_ *bufferevent.BufferEvent, what bufferevent.Events, _ error) {
	if what&(bufferevent.Error|bufferevent.Timeout) == 0 {
		return
	}
	f.endLinger()
}

// endLinger closes the underlying after lingering. Loop goroutine, no lock
// held.
func (f *filt) endLinger() {
	if f.lingerDone {
		return
	}
	f.lingerDone = true
	f.lingerStop()
	f.lingerT.Free()
	_ = f.u.Close()
	f.uc.Lock()
	f.uc.Release()
	f.uc.Unlock()
}

// Underlying returns the filtered bufferevent.
func (f *filt) Underlying() any { return f.u }

// FD returns the underlying's descriptor.
func (w withFD) FD() int {
	fd, err := w.u.FD()
	if err != nil {
		return -1
	}
	return fd
}

// SetFD sets the underlying's descriptor.
func (w withFD) SetFD(fd int) error { return w.u.SetFD(fd) }
