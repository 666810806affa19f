package eventbase

import (
	"errors"
	"fmt"
	"time"
)

// A Waiter takes over the blocking wait of a base's loop ([Base.SetWaiter]).
//
// The loop normally blocks in its poller (epoll_wait). A completion source
// that can wait for its own completions and for the poller's descriptor
// ([Base.PollerFD]) at once — an io_uring ring waiting in io_uring_enter,
// with a poll of the epoll descriptor armed on the ring — can then block for
// the loop instead: one system call wakes it for either, and the source's
// completion work runs inside that call rather than on a signal, an
// interrupted epoll_wait and a second one.
//
// Wait is called on the loop goroutine, once per loop turn, where the loop
// would poll, with the turn's timeout (negative: no limit, 0: do not block;
// the next timer otherwise). It must return no later than when one of these
// holds: its own source has work, the poller's descriptor is readable
// (descriptors the base watches are ready, or another goroutine woke the
// loop: RunInLoop, Active, LoopBreak, signals), or the timeout has passed.
// It may return earlier (a signal interrupting the wait). It reports own
// when the source has work: the base then runs the event given to SetWaiter
// in this turn, straight from the wait when nothing else is active (as a
// ready persistent I/O event runs straight from the poller) or from the
// active queue. It reports poll when the poller's descriptor may be
// readable: the base then polls it without blocking and runs what is ready.
// With timeout 0 the base polls the poller whatever Wait reports.
//
// Wait must not run callbacks, add or delete events, or call SetWaiter
// itself; it only waits and reports. The base calls it only from its loop
// goroutine, so an implementation need not be safe for concurrent use.
type Waiter interface {
	// Wait blocks as described on Waiter and reports whether the waiter's
	// own source has work (own) and whether the poller may have ready
	// descriptors (poll). Called on the loop goroutine only.
	Wait(timeout time.Duration) (own, poll bool)
}

// ErrWaiterSet is returned by SetWaiter when another Waiter already waits
// for the base.
// Never modified: safe for concurrent use.
var ErrWaiterSet = errors.New("eventbase: another waiter is set")

// pollerFD is implemented by pollers whose readiness is one descriptor.
type pollerFD interface {
	pollerFD() int
}

// PollerFD returns the descriptor of the base's poller: the epoll instance
// on Linux, readable whenever a descriptor with a pending event is ready or
// the loop is woken from another goroutine. It is for a Waiter, to watch;
// the caller must not close it or change what it watches, and must not
// read events from it. It returns an error matching ErrUnsupported for
// pollers without such a descriptor (poll, kqueue, wsapoll) and ErrClosed
// on a closed base. Loop-confined.
func (b *Base) PollerFD() (int, error) {
	if b.closed {
		return -1, ErrClosed
	}
	p, ok := b.poll.(pollerFD)
	if !ok {
		return -1, ErrUnsupported
	}
	return p.pollerFD(), nil
}

// SetWaiter makes w block for the base's loop instead of its poller, from
// the next loop turn on; ev is the event the loop runs, with Read as the
// condition, in each turn in which w reports its own work. ev must be an
// event of this base made with NewEvent or NewHandlerEvent, usually with fd
// -1 (it is run, not watched: it need not be added, and it does not keep
// Dispatch from returning: a waiter with work outstanding holds AddVirtual).
// SetWaiter(nil, nil) removes the waiter and the poller blocks again, so a
// Waiter that cannot go on (its source failed or closed) removes itself in
// its event's callback or in any other callback, and goes back to watching
// its source with an ordinary event if it still needs to.
//
// It returns an error matching ErrUnsupported when the poller has no
// descriptor to wait for (PollerFD), ErrWaiterSet when another Waiter is
// set, ErrNilCallback for a Waiter without an event (or an event without a
// Waiter), ErrOtherBase for an event of another base, ErrInvalidEvents for
// a zero Event never made into one, ErrFreed or ErrFinalizing for an event
// freed or being finalized, and ErrClosed on a closed base. Freeing or
// finalizing the event while it is set stops it from running; remove the
// waiter first. Close removes the waiter after
// the OnClose functions have run. Loop-confined.
func (b *Base) SetWaiter(w Waiter, ev *Event) error {
	if w == nil && ev == nil {
		b.waiter, b.waitEv = nil, nil
		return nil
	}
	if b.closed {
		return ErrClosed
	}
	if w == nil || ev == nil {
		return ErrNilCallback
	}
	if ev.base == nil {
		return fmt.Errorf("%w: SetWaiter needs an event made by NewEvent or NewHandlerEvent", ErrInvalidEvents)
	}
	if ev.base != b {
		return ErrOtherBase
	}
	// The loop never runs a freed or finalizing event: a waiter reporting
	// its own work would then keep waking the loop with nobody taking it.
	if ev.flags&flFreed != 0 {
		return ErrFreed
	}
	if ev.flags&flFinalizing != 0 {
		return ErrFinalizing
	}
	if _, ok := b.poll.(pollerFD); !ok {
		return ErrUnsupported
	}
	if b.waiter != nil && b.waiter != w {
		return ErrWaiterSet
	}
	b.waiter, b.waitEv = w, ev
	return nil
}

// waitWith is the loop's poll when a Waiter is set: the waiter blocks, the
// poller is polled without blocking when the waiter says it may have ready
// descriptors (or the turn must not block), and the waiter's event runs when
// it has work.
func (b *Base) waitWith(w Waiter, timeout int64) error {
	own, poll := w.Wait(time.Duration(timeout))
	if poll || timeout == 0 {
		if err := b.poll.wait(b, 0); err != nil {
			return err
		}
	}
	if !own || b.waiter != w {
		return nil
	}
	ev := b.waitEv
	if ev.flags&(flFinalizing|flFreed) != 0 {
		return nil
	}
	if b.direct && b.remoteN.Load() == 0 && ev.flags&(flActive|flActiveLate) == 0 {
		b.runDirect(ev, Read)
		return nil
	}
	b.endDirect()
	b.activate(ev, Read, 1)
	return nil
}
