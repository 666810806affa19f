package pair

import (
	"errors"
	"net"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/backend"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
)

// TypeName is the name under which the pair type is registered with
// bufferevent.Register ("pair"; libevent calls its ops "pair_elt").
// A constant, safe for concurrent use.
const TypeName = "pair"

// ErrNoPartner is returned by Flush when the other end of the pair has been
// closed (libevent's be_pair_flush returns -1 then).
// Never modified: safe for concurrent use.
var ErrNoPartner = errors.New("pair: partner closed")

func init() {
	bufferevent.Register(TypeName, open)
}

// open is the Opener for bufferevent.Open: it returns the first end; the
// second is reachable with Partner.
func open(base *eventbase.Base, opts bufferevent.Options) (*bufferevent.BufferEvent, error) {
	a, _, err := New(base, opts)
	return a, err
}

// end is one side of a pair: the backend Ops of one bufferevent.
type end struct {
	c    backend.Core
	bev  *bufferevent.BufferEvent
	in   *evbuffer.Buffer // c.Input(), cached
	out  *evbuffer.Buffer // c.Output(), cached
	name string

	// peer is the other end, nil once either end is finalised. Guarded by
	// the shared lock (loop-confined without ThreadSafe).
	peer *end

	outCb *evbuffer.Callback
	// kicked is set while a transfer handed to the loop (from a goroutine
	// writing to a ThreadSafe end) is queued. Guarded by the lock.
	kicked bool
	kickFn func()
}

var (
	_ backend.Ops       = (*end)(nil)
	_ backend.Addresser = (*end)(nil)
)

// lookup returns the end bev is, or nil if bev is not a pair bufferevent.
// The end is the bufferevent's own Ops (bufferevent.BackendOps), so there is
// no index to keep in step with the ends' lifetimes.
func lookup(bev *bufferevent.BufferEvent) *end {
	e, _ := bufferevent.BackendOps(bev).(*end)
	return e
}

// New creates two connected in-memory bufferevents on base (libevent's
// bufferevent_pair_new): what is written to one arrives in the input of the
// other. DeferCallbacks is always added to opts, as in libevent, so no user
// callback ever runs inside the call that moved the data. With ThreadSafe
// both ends share one lock.
//
// Both ends start with Write enabled and Read disabled, like every
// bufferevent. Safe for concurrent use; the new bufferevents are
// loop-confined unless opts has ThreadSafe.
func New(base *eventbase.Base, opts bufferevent.Options) (a, b *bufferevent.BufferEvent, err error) {
	opts |= bufferevent.DeferCallbacks
	ea, eb := &end{name: "pair-a"}, &end{name: "pair-b"}
	a, err = bufferevent.New(base, bufferevent.Config{Type: TypeName, Options: opts}, ea.build)
	if err != nil {
		return nil, nil, err
	}
	b, err = bufferevent.New(base, bufferevent.Config{Type: TypeName, Options: opts, ShareLock: a}, eb.build)
	if err != nil {
		_ = a.Close()
		return nil, nil, err
	}
	// Link under the (shared) lock: a is already visible to nobody else,
	// but keep the rule that peer is only touched with the lock held.
	ea.c.Lock()
	ea.peer, eb.peer = eb, ea
	ea.c.Unlock()
	return a, b, nil
}

// Partner returns the other end of the pair bev belongs to, or nil if bev is
// not an end of a pair, or the other end has been closed (libevent's
// bufferevent_pair_get_partner). Loop-confined unless bev is ThreadSafe; on a
// ThreadSafe pair it must not be called from inside a WithLock function (the
// lock is not reentrant).
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

func (e *end) build(c backend.Core) (backend.Ops, error) {
	e.c = c
	e.bev = c.Handle().(*bufferevent.BufferEvent)
	e.in, e.out = c.Input(), c.Output()
	e.kickFn = e.runKick
	e.outCb = e.out.AddCallback(e.outputChanged)
	return e, nil
}

// outputChanged runs inside whatever changed the output, with the lock held.
// When data was added it moves it to the partner at once if both sides are
// willing (libevent's be_pair_outbuf_cb). A goroutine writing to a
// ThreadSafe end is not allowed to touch loop objects (timers), so the move
// is handed to the loop instead.
func (e *end) outputChanged(_ *evbuffer.Buffer, info evbuffer.CallbackInfo) {
	if info.Added == 0 || e.peer == nil {
		return
	}
	if !e.c.OnLoop() {
		if !e.kicked {
			e.kicked = true
			e.c.RunInLoop(e.kickFn)
		}
		return
	}
	e.push(info.OrigSize == 0)
}

// runKick is the transfer handed to the loop by outputChanged; RunInLoop
// holds the lock and a reference around it.
func (e *end) runKick() {
	e.kicked = false
	e.push(true)
}

// push moves output to the partner if both sides are willing, and starts the
// write timer when data is left waiting and startTimer says the output was
// empty before (so the timer measures how long this data has waited).
func (e *end) push(startTimer bool) {
	if p := e.peer; p != nil && e.wantsToTalk(p) {
		e.transfer(p, false)
		return
	}
	if startTimer && e.out.Len() > 0 {
		e.c.ResetWriteTimer()
	}
}

// wantsToTalk reports whether data should move from e to p now: e has output
// and may write, p may read (libevent's be_pair_wants_to_talk; suspension by
// the core, e.g. a rate limit, also stops the writer).
func (e *end) wantsToTalk(p *end) bool {
	return e.out.Len() > 0 && e.c.Active(bufferevent.Write) && p.c.Active(bufferevent.Read)
}

// transfer moves e's output to p's input by splicing chains (only a chain cut
// by the watermark boundary is copied). Without force it moves at most what
// p's input may still take below its read high watermark (or maximum input);
// with force (Flush) it moves everything. It then restarts the timers of
// both sides and schedules p's read callback and e's write callback (always
// deferred for pairs). Lock held, on the loop. It reports whether bytes
// moved.
func (e *end) transfer(p *end, force bool) bool {
	src, dst := e.out, p.in
	n := src.Len()
	if n == 0 {
		return false
	}
	if !force {
		n = min(n, p.c.InputRoom())
		if n == 0 {
			return false
		}
	}
	src.Unfreeze(true)
	dst.Unfreeze(false)
	var moved int
	if n == src.Len() {
		moved = n
		if dst.AddBuffer(src) != nil {
			moved = 0
		}
	} else {
		moved, _ = src.RemoveBuffer(dst, n)
	}
	dst.Freeze(false)
	src.Freeze(true)
	if moved == 0 {
		return false
	}
	// The reader got data: its read timeout starts over. The writer made
	// progress: its write timeout starts over, or stops if nothing is left
	// (libevent resets the reader's write timer here instead, which leaves
	// a writer whose data keeps flowing exposed to a stale write timeout).
	p.c.ResetReadTimer()
	e.c.ResetWriteTimer()
	p.c.TriggerRead(0)
	e.c.TriggerWrite(0)
	return true
}

// Enable starts moving data in the enabled directions: reading pulls what the
// partner has waiting, writing pushes what this end has waiting (libevent's
// be_pair_enable). Timers follow libevent's generic rules: the read timer
// runs while reading is enabled, the write timer only while output is
// waiting.
func (e *end) Enable(dir bufferevent.Direction) error {
	if dir&bufferevent.Read != 0 {
		e.c.ResetReadTimer()
	}
	if dir&bufferevent.Write != 0 {
		e.c.ResetWriteTimer()
	}
	p := e.peer
	if p == nil {
		return nil
	}
	if dir&bufferevent.Read != 0 && p.wantsToTalk(e) {
		p.transfer(e, false)
	}
	if dir&bufferevent.Write != 0 && e.peer != nil && e.wantsToTalk(e.peer) {
		e.transfer(e.peer, false)
	}
	return nil
}

// Disable stops the generic timers of dir; the transfers check the enabled
// and suspended state themselves.
func (e *end) Disable(dir bufferevent.Direction) error {
	e.c.StopTimers(dir)
	return nil
}

// Flush implements libevent's be_pair_flush: Normal does nothing; Flush and
// Finished move data ignoring watermarks and the enabled directions (Read:
// pull the partner's output, Write: push ours); Finished then gives the
// partner an EOF event carrying the opposite direction bits: Reading when we
// flushed our writing side (the partner will read no more), Writing when we
// flushed our reading side.
func (e *end) Flush(dir bufferevent.Direction, mode bufferevent.FlushMode) (bool, error) {
	p := e.peer
	if p == nil {
		return false, ErrNoPartner
	}
	if mode == bufferevent.Normal {
		return false, nil
	}
	did := false
	if dir&bufferevent.Read != 0 {
		did = p.transfer(e, true) || did
	}
	if dir&bufferevent.Write != 0 && e.peer != nil {
		did = e.transfer(e.peer, true) || did
	}
	if mode == bufferevent.Finished && e.peer != nil {
		what := bufferevent.EOF
		if dir&bufferevent.Read != 0 {
			what |= bufferevent.Writing
		}
		if dir&bufferevent.Write != 0 {
			what |= bufferevent.Reading
		}
		e.peer.c.TriggerEvent(what, nil, 0)
	}
	return did, nil
}

// AdjustTimeouts applies changed timeouts with the core's generic timers.
func (e *end) AdjustTimeouts() error { return e.c.AdjustGenericTimeouts() }

// Close unlinks the pair (libevent's be_pair_unlink): both partner pointers
// are cleared, so the survivor keeps working on its own — its writes
// accumulate in its output — and Partner returns nil for it. Unlike
// libevent, the survivor is told: its event callback gets Reading|EOF with
// io.EOF (deferred), as a socket peer would, so that readers such as
// bufferevent.NetConn do not wait forever. The lock needs no hand-over: it is
// shared memory owned by neither end, released when both are gone.
func (e *end) Close() error {
	_ = e.out.RemoveCallback(e.outCb)
	p := e.peer
	e.peer = nil
	if p != nil {
		p.peer = nil
		if !p.c.Closed() {
			p.c.TriggerEvent(bufferevent.Reading|bufferevent.EOF, nil, 0)
		}
	}
	return nil
}

// addr is the net.Addr of a pair end.
type addr string

func (a addr) Network() string { return "pair" }
func (a addr) String() string  { return string(a) }

// LocalAddr names this end ("pair-a" or "pair-b"), for bufferevent.NetConn.
func (e *end) LocalAddr() net.Addr { return addr(e.name) }

// RemoteAddr names the other end.
func (e *end) RemoteAddr() net.Addr {
	if e.name == "pair-a" {
		return addr("pair-b")
	}
	return addr("pair-a")
}
