//go:build linux

package async

import (
	"errors"
	"time"

	"github.com/bufev/bufev/backends/async/internal/uring"
	"golang.org/x/sys/unix"
)

// startWaiting makes the ring block for its base's loop (eventbase.Base.SetWaiter) when
// the base's poller has a descriptor the ring can poll (epoll). Otherwise — another
// poller, or another Waiter already set on the base — the ring stays watched by the
// poller, as before. Called once, from acquireRing; an error is only an event that could
// not be made.
func (lr *loopRing) startWaiting() error {
	fd, err := lr.base.PollerFD()
	if err != nil {
		return nil
	}
	ev, err := lr.base.NewEvent(-1, 0, lr.onReadable)
	if err != nil {
		return err
	}
	if err := lr.base.SetWaiter(lr, ev); err != nil {
		ev.Free()
		return nil
	}
	lr.waiting, lr.canWait, lr.pollFD, lr.wev = true, true, fd, ev
	return nil
}

// stopWaiting hands the loop's wait back to the base's poller for good (teardown,
// waitFailed). The ring is not watched by the poller afterwards: after a failed wait
// its connections fail (a single-issuer ring's descriptor would stay readable with
// its deferred work never run, spinning the loop).
func (lr *loopRing) stopWaiting() {
	lr.canWait = false
	if !lr.waiting {
		return
	}
	_ = lr.base.SetWaiter(nil, nil)
	if lr.evOn {
		lr.base.AddVirtual(-1)
		lr.evOn = false
	}
	lr.waiting = false
}

// setWaiting makes the ring block for the loop (on, if it can) or be watched by the
// poller while operations are in flight, moving what keeps the loop running (the
// base's AddVirtual(1), or the ring's event) from one to the other.
func (lr *loopRing) setWaiting(on bool) {
	if on == lr.waiting || on && !lr.canWait {
		return
	}
	if lr.evOn {
		if lr.waiting {
			lr.base.AddVirtual(-1)
		} else {
			_ = lr.ev.Del()
		}
		lr.evOn = false
	}
	if on {
		if lr.base.SetWaiter(lr, lr.wev) != nil {
			lr.canWait = false
			lr.watch()
			return
		}
	} else {
		_ = lr.base.SetWaiter(nil, nil)
	}
	lr.waiting = on
	lr.watch()
}

// Wait implements eventbase.Waiter. It blocks in io_uring_enter until a completion is in
// the ring's queue — one of the ring's operations, or the one-shot poll of the base's
// epoll descriptor armed here, which completes when a descriptor the base watches is
// ready or another goroutine wakes the loop (the wake-up eventfd is one of them) — or
// until timeout. The kernel runs the completions' task work inside that call (a
// receive's copy, deferred on a single-issuer ring), so no signal interrupts an
// epoll_wait and no second wait is needed. It reports own when completions wait (the
// loop then runs lr.ev, whose callback reaps them) and poll when the epoll descriptor's
// poll completed.
func (lr *loopRing) Wait(timeout time.Duration) (own, poll bool) {
	if lr.closed || lr.waitErr != nil {
		// The ring cannot be waited on (see waitFailed): never block here.
		return lr.waitErr != nil, true
	}
	// Whether another goroutine runs the loop now is checked every 64th wait (gettid
	// costs about 100 ns, 1% of a one-connection exchange pinned to one CPU).
	lr.waitTick++
	lr.holdThread(lr.waitTick&63 == 1)
	if !lr.pollArmed {
		err := lr.ring.PrepPollAdd(kindPoll, lr.pollFD, unix.POLLIN)
		if errors.Is(err, uring.ErrSQFull) {
			if _, err = lr.ring.Submit(); err == nil {
				err = lr.ring.PrepPollAdd(kindPoll, lr.pollFD, unix.POLLIN)
			}
		}
		if err != nil {
			lr.waitErr = err
			return true, true
		}
		lr.pollArmed = true
	}
	var want uint32 = 1
	if timeout == 0 || lr.ring.Ready() > 0 {
		want = 0
	}
	if err := lr.ring.Wait(want, timeout); err != nil {
		if errors.Is(err, uring.ErrCQOverflow) || errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.ENOMEM) {
			// Transient, as in submit: the reap flushes the overflowed completions.
			return true, true
		}
		lr.waitErr = err
		return true, true
	}
	if lr.ring.Ready() == 0 {
		return false, false
	}
	return true, lr.ring.Waiting(kindPoll)
}

// waitFailed handles an error of Wait in the ring's event callback: the ring cannot be
// waited on any more (completions lost, a single-issuer ring entered from another
// thread, no room for the poll), so the base's poller blocks for the loop again and
// every connection fails (fail), as after such an error in a submission.
func (lr *loopRing) waitFailed() {
	err := lr.waitErr
	lr.stopWaiting()
	lr.fail(err)
}
