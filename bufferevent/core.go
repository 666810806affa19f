package bufferevent

import (
	"io"
	"os"
	"sync"
	"time"

	"github.com/bufev/bufev/bufferevent/backend"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
)

// core is the backend.Core handle of a BufferEvent: the same object seen
// through the backend-facing method set.
type core BufferEvent

var _ backend.Core = (*core)(nil)

// BackendOps returns the backend.Ops that bev's backend gave New, for
// backend authors: a backend package type-asserts it to its own type to
// reach the state of a bufferevent it built (pair.Partner finds the other
// end this way; a package helper taking a *BufferEvent checks that it is
// one of its own) without keeping a global index. It returns nil for a nil
// bev. The value is constant for the bufferevent's life, but calling its
// methods is subject to the Ops contract (loop-confined, lock held): users
// never need it. Safe for concurrent use.
func BackendOps(bev *BufferEvent) backend.Ops {
	if bev == nil {
		return nil
	}
	return bev.ops
}

// BackendCore returns the backend.Core handle of bev, for backend packages
// that stack on another bufferevent (a filter suspends its underlying's
// reading with SuspendFilter, a TLS layer charges its rate limit). The usual
// Core rules apply: loop-confined, with the lock held for ThreadSafe
// bufferevents. Users never need it. Safe for concurrent use.
func BackendCore(bev *BufferEvent) backend.Core {
	if bev == nil {
		return nil
	}
	return (*core)(bev)
}

func (c *core) b() *BufferEvent { return (*BufferEvent)(c) }

func (c *core) Base() *eventbase.Base    { return c.base }
func (c *core) Input() *evbuffer.Buffer  { return c.in }
func (c *core) Output() *evbuffer.Buffer { return c.out }
func (c *core) Options() Options         { return c.opts }
func (c *core) Handle() any              { return c.b() }

func (c *core) Lock()   { c.b().lockLoop() }
func (c *core) Unlock() { c.b().unlockLoop() }

func (c *core) Enter() {
	c.b().lockLoop()
	c.refs++
}

func (c *core) Leave() {
	c.b().decref()
	c.b().unlockLoop()
}

func (c *core) Hold() { c.refs++ }

func (c *core) Release() { c.b().decref() }

func (c *core) Closed() bool { return c.closed || c.dead }

func (c *core) Enabled() Direction                    { return c.enabled }
func (c *core) ReadSuspended() backend.SuspendReason  { return c.readSusp }
func (c *core) WriteSuspended() backend.SuspendReason { return c.writeSusp }
func (c *core) Active(dir Direction) bool {
	if c.dead {
		return false
	}
	ok := true
	if dir&Read != 0 {
		ok = ok && c.b().active(Read)
	}
	if dir&Write != 0 {
		ok = ok && c.b().active(Write)
	}
	return ok && dir&ReadWrite != 0
}

func (c *core) DisableUser(dir Direction) {
	if !c.dead {
		c.b().disableUser(dir)
	}
}

func (c *core) SuspendRead(why backend.SuspendReason)    { c.b().suspendRead(why) }
func (c *core) SuspendWrite(why backend.SuspendReason)   { c.b().suspendWrite(why) }
func (c *core) UnsuspendRead(why backend.SuspendReason)  { c.b().unsuspendRead(why) }
func (c *core) UnsuspendWrite(why backend.SuspendReason) { c.b().unsuspendWrite(why) }

func (c *core) TriggerRead(opts TriggerOptions) {
	b := c.b()
	if opts&IgnoreWatermarks != 0 || b.wm&wmRLow == 0 || b.in.Len() >= b.rlow {
		b.runRead(opts)
	}
}

func (c *core) TriggerWrite(opts TriggerOptions) {
	b := c.b()
	if b.hasWrite && (opts&IgnoreWatermarks != 0 || b.out.Len() <= b.wlow) {
		b.runWrite(opts)
	}
}

func (c *core) TriggerEvent(what Events, err error, opts TriggerOptions) {
	if err == nil {
		switch {
		case what&EOF != 0:
			err = io.EOF
		case what&Timeout != 0:
			err = os.ErrDeadlineExceeded
		}
	}
	c.b().runEvent(what, err, opts)
}

func (c *core) Watermark(dir Direction) (low, high int) {
	if dir == Read {
		return c.rlow, c.rhigh
	}
	return c.wlow, c.whigh
}

func (c *core) InputRoom() int {
	hi := c.b().effectiveHigh()
	if hi <= 0 {
		return maxInt
	}
	if n := hi - c.in.Len(); n > 0 {
		return n
	}
	return 0
}

const maxInt = int(^uint(0) >> 1)

func (c *core) MaxToRead() int {
	n := c.InputRoom()
	if m := int(c.maxRead); n > m {
		n = m
	}
	if l := c.b().rateReadAllowance(); n > l {
		n = l
	}
	return max(n, 0)
}

func (c *core) MaxToWrite() int {
	n := int(c.maxWrite)
	if l := c.b().rateWriteAllowance(); n > l {
		n = l
	}
	return max(n, 0)
}

func (c *core) ChargeRead(n int)               { c.b().chargeRead(n) }
func (c *core) ChargeWrite(n int)              { c.b().chargeWrite(n) }
func (c *core) ReserveRead(n int)              { c.b().reserveRead(n) }
func (c *core) ReserveWrite(n int)             { c.b().reserveWrite(n) }
func (c *core) SettleRead(reserved, used int)  { c.b().settleRead(reserved, used) }
func (c *core) SettleWrite(reserved, used int) { c.b().settleWrite(reserved, used) }

func (c *core) Timeouts() (read, write time.Duration) { return c.rto, c.wto }

func (c *core) AdjustGenericTimeouts() error { return c.b().adjustGenericTimeouts() }

func (c *core) ResetReadTimer() {
	b := c.b()
	b.useGeneric()
	if b.dead || !b.active(Read) || b.rto <= 0 {
		return
	}
	if b.ensureTimers() == nil {
		_ = b.rtimer.AddTimeout(b.rto)
	}
}

func (c *core) ResetWriteTimer() {
	b := c.b()
	b.useGeneric()
	if b.dead || !b.active(Write) || b.wto <= 0 || (b.out.Len() == 0 && b.wpolicy != backend.WriteTimerWhileEnabled) {
		if b.wtimer != nil {
			_ = b.wtimer.Del()
		}
		return
	}
	if b.ensureTimers() == nil {
		_ = b.wtimer.AddTimeout(b.wto)
	}
}

func (c *core) StopTimers(dir Direction) { c.b().stopTimers(dir) }

func (c *core) CallbacksGen() uint64 { return c.cbGen }

func (c *core) ClearCallbacksIf(gen uint64) bool {
	if c.cbGen != gen {
		return false
	}
	c.b().setCallbacks(nil, nil, nil)
	c.cbGen++
	return true
}

func (c *core) OnLoop() bool { return c.b().onLoop() }

func (c *core) RunInLoop(fn func()) {
	b := c.b()
	if fn == nil {
		return
	}
	q := b.loopQueue()
	q.mu.Lock()
	q.fns = append(q.fns, fn)
	if q.queued {
		q.mu.Unlock()
		return
	}
	q.queued = true
	q.mu.Unlock()
	if b.base.RunInLoop(q.run) != nil {
		// The base is closed: nothing will run.
		q.mu.Lock()
		clear(q.fns)
		q.fns = q.fns[:0]
		q.queued = false
		q.mu.Unlock()
	}
}

// loopQueue holds the functions queued by Core.RunInLoop. Its mutex, not
// the bufferevent's lock, guards it: RunInLoop may be called with or
// without that lock held.
type loopQueue struct {
	mu     sync.Mutex
	fns    []func()
	spare  []func()
	queued bool   // run is queued on the base
	run    func() // the bufferevent's runLoopFns, allocated once
}

// loopQueue returns b's RunInLoop queue, creating it on first use. Safe
// for concurrent use.
func (b *BufferEvent) loopQueue() *loopQueue {
	if q := b.lq.Load(); q != nil {
		return q
	}
	q := &loopQueue{run: b.runLoopFns}
	if b.lq.CompareAndSwap(nil, q) {
		return q
	}
	return b.lq.Load()
}

// runLoopFns runs the functions queued by Core.RunInLoop, in order, with
// the lock and a reference held; on a finalised bufferevent it drops them.
func (b *BufferEvent) runLoopFns() {
	q := b.lq.Load() // set before runLoopFns was queued
	b.lockLoop()
	alive := !b.dead
	if alive {
		b.refs++
	}
	for {
		q.mu.Lock()
		fns := q.fns
		if len(fns) == 0 {
			q.queued = false
			q.mu.Unlock()
			break
		}
		q.fns = q.spare[:0]
		q.spare = nil
		q.mu.Unlock()
		for i, fn := range fns {
			fns[i] = nil
			if !b.dead {
				fn()
			}
		}
		q.mu.Lock()
		if q.spare == nil {
			q.spare = fns[:0]
		}
		q.mu.Unlock()
	}
	if alive {
		b.decref()
	}
	b.unlockLoop()
}
