package eventbase

import (
	"cmp"
	"fmt"
	"slices"
)

// closeRounds bounds how many rounds of queued work Close runs before it
// gives up on work that keeps re-queueing itself.
const closeRounds = 100

// closeHook is a function registered with OnClose.
type closeHook struct {
	id uint64
	fn func()
}

// ErrWorkLeft is returned by Close when functions queued by RunInLoop or
// Defer kept queueing more work for 100 rounds: Close dropped the rest and
// released the base anyway.
// Never modified: safe for concurrent use.
var ErrWorkLeft = fmt.Errorf("eventbase: work still queued after %d rounds at Close, dropped", closeRounds)

// Close releases every kernel object the base made (poller fd, wake-up fd
// or pipe, os/signal registrations); events are deleted (their fds are not
// closed).
//
// Before that, on the calling goroutine, Close runs the work still queued,
// in rounds until none is left: functions queued by RunInLoop, pending
// finalizers, and deferred functions ([Base.Defer]; all of them, not 32 per
// turn), then what those queued. libevent's event_base_free drops pending
// deferred callbacks; here they run, so a bufferevent's deferred callback or
// a completion backend's submission flush is not lost. If that work keeps
// re-queueing itself for 100 rounds, Close drops the rest and, after
// releasing everything, returns an error wrapping [ErrWorkLeft]. Then it
// runs the functions registered with [Base.OnClose], last registered first,
// each followed by the work it queued (unless ErrWorkLeft already cut the
// work off: then the OnClose functions still run, but what they queue is
// dropped too); the base is still open for them.
// Work other goroutines queue meanwhile is accepted until the last of these
// functions has run, and then runs too: a RunInLoop that returned nil is
// never dropped (short of ErrWorkLeft); after that point it returns
// ErrClosed.
//
// Afterwards adding events, looping and queueing work return ErrClosed,
// Active is ignored, Defer drops its function, and Del and Free do nothing.
// Called from a callback, Close breaks the loop and completes when Loop
// returns. Closing twice, or from a function Close is running, returns nil.
// A Base dropped without Close has its poller descriptors released when it
// is garbage-collected (the OnClose functions do not run), but signal
// watchers keep it alive: always Close. Loop-confined.
func (b *Base) Close() error {
	if b.closed || b.closing {
		return nil
	}
	if b.running {
		b.closeReq = true
		b.gotBreak.Store(true)
		return nil
	}
	return b.closeNow()
}

// OnClose registers fn to run inside Close, before the base releases
// anything, so that an object whose lifetime is the base's (a backend's
// io_uring ring, a pool of buffers, a statistics dump) can tear itself down
// while the base and its events still work. Functions run on the goroutine
// that calls Close, last registered first (like defer), after the work
// still queued; a function may use the base (free events, Defer, register
// another OnClose function, which runs next), and a Close it calls does
// nothing. stop unregisters fn and reports whether it did so before fn
// started; it is safe for concurrent use and may be called from fn.
// OnClose returns ErrClosed once the base is closed (fn will not run) and
// ErrNilCallback for a nil fn. Safe for concurrent use.
func (b *Base) OnClose(fn func()) (stop func() bool, err error) {
	if fn == nil {
		return nil, ErrNilCallback
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rClosed {
		return nil, ErrClosed
	}
	b.hookSeq++
	id := b.hookSeq
	b.hooks = append(b.hooks, closeHook{id: id, fn: fn})
	return func() bool { return b.stopHook(id) }, nil
}

// stopHook removes the OnClose function with this id; false if it is gone
// (stopped, or started by Close). b.hooks is in id order, so the function
// is found by binary search, and its slot is only cleared (fn nil): a base
// with thousands of functions registered (a NetConn registers one per
// conn) pays neither a scan nor a move per stop. The cleared slots are
// compacted once they are half of the list.
func (b *Base) stopHook(id uint64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	i, found := slices.BinarySearchFunc(b.hooks, id, func(h closeHook, id uint64) int {
		return cmp.Compare(h.id, id)
	})
	if !found || b.hooks[i].fn == nil {
		return false
	}
	b.hooks[i].fn = nil
	if b.hookDead++; b.hookDead > len(b.hooks)/2 {
		b.hooks = slices.DeleteFunc(b.hooks, func(h closeHook) bool { return h.fn == nil })
		b.hookDead = 0
	}
	return true
}

// closeWork runs one round of the work queued on a closing base: remote
// functions and activations, pending finalizers, then the deferred
// functions queued when the round started. It reports whether anything ran.
func (b *Base) closeWork() bool {
	ran := false
	if b.remoteN.Load() != 0 {
		b.drainRemote(true)
		ran = true
	}
	for pri := range b.active {
		for ev := b.active[pri].head; ev != nil; {
			next := ev.qNext
			if ev.kind == kindFinalize {
				b.queueRemoveActive(ev)
				b.invoke(ev, 0)
				ran = true
			}
			ev = next
		}
	}
	if end := len(b.deferQ); b.deferHead < end {
		ran = true
		for b.deferHead < end {
			fn := b.deferQ[b.deferHead]
			b.deferQ[b.deferHead] = nil
			b.deferHead++
			fn()
		}
		k := copy(b.deferQ, b.deferQ[b.deferHead:])
		clear(b.deferQ[k:])
		b.deferQ, b.deferHead = b.deferQ[:k], 0
	}
	return ran
}

func (b *Base) closeNow() error {
	b.closeReq = false
	b.closing = true
	defer func() { b.closing = false }()
	// Run the queued work until none is left, then one OnClose function
	// (last registered first) and again the work it queued, until no
	// function is left; then refuse new work and hooks under the lock.
	var left error
	rounds := 0
	for {
		if left == nil && b.closeWork() {
			if rounds++; rounds >= closeRounds {
				left = ErrWorkLeft
			}
			continue
		}
		rounds = 0
		b.mu.Lock()
		n := len(b.hooks)
		for n > 0 && b.hooks[n-1].fn == nil { // stopped
			n--
			b.hookDead--
		}
		b.hooks = b.hooks[:n]
		if n == 0 {
			// Refuse new work from here on (RunInLoop, Active and OnClose
			// return ErrClosed), then run what was accepted before: another
			// goroutine may have queued it after the last round, and an
			// accepted function must run (a bufferevent closed from another
			// goroutine hands its finalisation to the loop this way).
			b.rClosed = true
			b.hooks, b.hookDead = nil, 0
			b.waiter, b.waitEv = nil, nil
			pending := b.remoteN.Load() != 0
			b.mu.Unlock()
			for pending && left == nil && b.closeWork() {
				if rounds++; rounds >= closeRounds {
					left = ErrWorkLeft
				}
			}
			b.mu.Lock()
			b.rActs, b.rFns = nil, nil
			b.remoteN.Store(0)
			b.mu.Unlock()
			break
		}
		h := b.hooks[n-1]
		b.hooks[n-1] = closeHook{}
		b.hooks = b.hooks[:n-1]
		b.mu.Unlock()
		h.fn()
	}

	// Delete every event.
	var all []*Event
	_ = b.ForEachEvent(func(ev *Event) error {
		all = append(all, ev)
		return nil
	})
	for _, ev := range all {
		b.delEvent(ev)
	}
	for pri := range b.active {
		for ev := b.active[pri].head; ev != nil; ev = b.active[pri].head {
			b.queueRemoveActive(ev)
		}
	}
	for ev := b.late.head; ev != nil; ev = b.late.head {
		b.queueRemoveActive(ev)
	}
	for _, ct := range b.common {
		for ev := ct.head; ev != nil; ev = ct.head {
			b.removeTimeout(ev)
		}
	}
	b.heap = nil
	b.stopAllSignals()
	b.deferQ, b.deferHead = nil, 0
	b.closed = true
	b.fds, b.fdMap = nil, nil
	if err := b.poll.close(); err != nil {
		if left != nil {
			return fmt.Errorf("%w; %w", left, err)
		}
		return err
	}
	return left
}
