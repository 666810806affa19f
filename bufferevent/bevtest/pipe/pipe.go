package pipe

import (
	"errors"
	"net"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/backend"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
)

// TypeName is the name the pipe type is registered under (bufferevent.Open
// returns one end; Partner finds the other).
// A constant, safe for concurrent use.
const TypeName = "testpipe"

func init() {
	bufferevent.Register(TypeName, func(base *eventbase.Base, opts bufferevent.Options) (*bufferevent.BufferEvent, error) {
		a, _, err := New(base, opts)
		return a, err
	})
}

type end struct {
	c            backend.Core
	bev          *bufferevent.BufferEvent
	peer         *end
	outCb        *evbuffer.Callback
	kicked       bool
	kickFn       func()
	lockedKickFn func()
	name         string
	broken       error // set by Break: the next transfer fails with it
	flaw         Flaw
}

var (
	_ backend.Ops       = (*end)(nil)
	_ backend.Addresser = (*end)(nil)
)

// Flaw is a deliberate defect, for checking that the conformance suite
// catches broken backends.
// Values are immutable: safe for concurrent use.
type Flaw int

// Flaws.
// Constants, safe for concurrent use.
const (
	// NoFlaw is a correct pipe.
	NoFlaw Flaw = iota
	// IgnoreHighWatermark moves everything regardless of the reader's
	// input room.
	IgnoreHighWatermark
	// DropBytes loses one byte of every transfer.
	DropBytes
	// NoEOF does not tell the partner about Close or Finished.
	NoEOF
)

// New returns two connected bufferevents on base: what is written to one
// arrives in the other's input. opts apply to both ends (with ThreadSafe
// they share one lock). Both start with Write enabled and Read disabled,
// like every bufferevent. Loop-confined: call it on base's loop goroutine
// or before the loop runs.
func New(base *eventbase.Base, opts bufferevent.Options) (a, b *bufferevent.BufferEvent, err error) {
	return NewFlawed(base, opts, NoFlaw)
}

// NewFlawed is New with a deliberate defect, for checking that a
// conformance suite (bevtest or your own) catches broken backends.
// Loop-confined, like New.
func NewFlawed(base *eventbase.Base, opts bufferevent.Options, flaw Flaw) (a, b *bufferevent.BufferEvent, err error) {
	ea, eb := &end{name: "pipe-a", flaw: flaw}, &end{name: "pipe-b", flaw: flaw}
	ea.peer, eb.peer = eb, ea
	a, err = bufferevent.New(base, bufferevent.Config{Type: TypeName, Options: opts}, ea.build)
	if err != nil {
		return nil, nil, err
	}
	b, err = bufferevent.New(base, bufferevent.Config{Type: TypeName, Options: opts, ShareLock: a}, eb.build)
	if err != nil {
		ea.peer = nil
		a.Close()
		return nil, nil, err
	}
	return a, b, nil
}

// Partner returns the other end of bev, or nil if bev is not a pipe end or
// either end has been closed. Loop-confined unless bev is ThreadSafe;
// then it must not be called from inside a WithLock function (the lock is
// not reentrant).
func Partner(bev *bufferevent.BufferEvent) *bufferevent.BufferEvent {
	e := lookup(bev)
	if e == nil {
		return nil
	}
	e.c.Lock()
	defer e.c.Unlock()
	if e.c.Closed() || e.peer == nil || e.peer.c.Closed() {
		return nil
	}
	return e.peer.bev
}

// lookup returns the end bev is (its backend Ops), or nil.
func lookup(bev *bufferevent.BufferEvent) *end {
	e, _ := bufferevent.BackendOps(bev).(*end)
	return e
}

// ErrBroken is the error Break makes transfers fail with.
// Never modified: safe for concurrent use.
var ErrBroken = errors.New("pipe: broken by test")

// ErrNotPipe is returned by Break for a bufferevent that is not a pipe end.
// Never modified: safe for concurrent use.
var ErrNotPipe = errors.New("pipe: not a pipe bufferevent")

// Break makes bev's next transfer fail: its event callback gets
// Writing|Error with ErrBroken (use it as bevtest.Caps.Break). It fails
// with bufferevent.ErrClosed for a closed end and ErrNotPipe for other
// types. Loop-confined.
func Break(bev *bufferevent.BufferEvent) error {
	e := lookup(bev)
	if e == nil {
		return ErrNotPipe
	}
	e.c.Lock()
	defer e.c.Unlock()
	if e.c.Closed() {
		return bufferevent.ErrClosed
	}
	e.broken = ErrBroken
	return nil
}

func (e *end) build(c backend.Core) (backend.Ops, error) {
	e.c = c
	e.bev = c.Handle().(*bufferevent.BufferEvent)
	e.kickFn = e.runKick
	e.lockedKickFn = e.runKickLocked
	e.outCb = c.Output().AddCallback(e.outputChanged)
	return e, nil
}

// outputChanged runs inside whatever added to the output: start a transfer
// on the loop.
func (e *end) outputChanged(_ *evbuffer.Buffer, info evbuffer.CallbackInfo) {
	if info.Added > 0 {
		e.kick()
	}
}

// kick schedules one transfer from this end to its peer. Lock held.
func (e *end) kick() {
	if e.kicked {
		return
	}
	e.kicked = true
	if e.c.OnLoop() {
		e.c.Base().Defer(e.kickFn)
	} else {
		e.c.RunInLoop(e.lockedKickFn)
	}
}

func (e *end) runKick() {
	e.c.Enter()
	e.runKickLocked()
	e.c.Leave()
}

func (e *end) runKickLocked() {
	e.kicked = false
	if !e.c.Closed() {
		e.transfer(false)
	}
}

// transfer moves output to the peer's input. Lock (shared) held, on the
// loop. It reports whether bytes moved.
func (e *end) transfer(force bool) bool {
	if e.broken != nil {
		if e.c.Output().Len() > 0 {
			err := e.broken
			e.broken = nil
			e.c.Hold()
			e.c.TriggerEvent(bufferevent.Writing|bufferevent.Error, err, 0)
			e.c.Release()
		}
		return false
	}
	p := e.peer
	if p == nil || p.c.Closed() {
		return false
	}
	src, dst := e.c.Output(), p.c.Input()
	if src.Len() == 0 {
		return false
	}
	n := src.Len()
	if !force {
		if !e.c.Active(bufferevent.Write) || !p.c.Active(bufferevent.Read) {
			return false
		}
		if e.flaw != IgnoreHighWatermark {
			n = min(n, p.c.InputRoom())
		}
		if n == 0 {
			return false
		}
	}
	src.Unfreeze(true)
	dst.Unfreeze(false)
	moved, _ := src.RemoveBuffer(dst, n)
	if e.flaw == DropBytes && moved > 0 {
		_ = dst.Drain(1)
	}
	dst.Freeze(false)
	src.Freeze(true)
	if moved == 0 {
		return false
	}
	p.c.ResetReadTimer()
	e.c.ResetWriteTimer()
	// Both may run user callbacks, which may close either end: keep both
	// alive until we are done.
	e.c.Hold()
	p.c.Hold()
	p.c.TriggerRead(0)
	e.c.TriggerWrite(0)
	p.c.Release()
	e.c.Release()
	return true
}

func (e *end) Enable(dir bufferevent.Direction) error {
	if dir&bufferevent.Read != 0 && e.peer != nil {
		e.peer.kick()
	}
	if dir&bufferevent.Write != 0 {
		e.kick()
	}
	return e.c.AdjustGenericTimeouts()
}

func (e *end) Disable(dir bufferevent.Direction) error {
	e.c.StopTimers(dir)
	return nil
}

func (e *end) Flush(dir bufferevent.Direction, mode bufferevent.FlushMode) (bool, error) {
	if mode == bufferevent.Normal {
		return false, nil
	}
	did := false
	if dir&bufferevent.Write != 0 {
		did = e.transfer(true) || did
	}
	if dir&bufferevent.Read != 0 && e.peer != nil {
		did = e.peer.transfer(true) || did
	}
	if mode == bufferevent.Finished && e.peer != nil && e.flaw != NoEOF {
		var what bufferevent.Events
		if dir&bufferevent.Write != 0 {
			what |= bufferevent.Reading
		}
		if dir&bufferevent.Read != 0 {
			what |= bufferevent.Writing
		}
		e.peer.c.TriggerEvent(what|bufferevent.EOF, nil, bufferevent.TriggerDefer)
	}
	return did, nil
}

func (e *end) AdjustTimeouts() error { return e.c.AdjustGenericTimeouts() }

func (e *end) Close() error {
	_ = e.c.Output().RemoveCallback(e.outCb)
	p := e.peer
	e.peer = nil
	if p != nil {
		p.peer = nil
	}
	if p != nil {
		if !p.c.Closed() && e.flaw != NoEOF {
			p.c.TriggerEvent(bufferevent.Reading|bufferevent.EOF, nil, bufferevent.TriggerDefer)
		}
	}
	return nil
}

type addr string

func (a addr) Network() string { return "pipe" }
func (a addr) String() string  { return string(a) }

func (e *end) LocalAddr() net.Addr { return addr(e.name) }
func (e *end) RemoteAddr() net.Addr {
	if e.name == "pipe-a" {
		return addr("pipe-b")
	}
	return addr("pipe-a")
}
