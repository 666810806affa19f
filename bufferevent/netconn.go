package bufferevent

import (
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bufev/bufev/bufferevent/backend"
	"github.com/bufev/bufev/evbuffer"
)

// NetConnBuffer is the buffering of a NetConn in each direction: Read serves
// from up to this many bytes taken off the bufferevent's input (beyond it the
// input fills to its read high watermark and reading is suspended, which is
// the backpressure), and Write blocks while this many bytes wait for the
// loop.
// A constant, safe for concurrent use.
const NetConnBuffer = 64 << 10

// netConnLinger bounds how long Close waits for pending output to drain
// before closing the bufferevent anyway.
const netConnLinger = 30 * time.Second

// NetConn returns a blocking net.Conn over bev, so that code written for
// net.Conn (net/http, crypto/tls, gRPC) runs over any bufferevent type. It
// takes over bev's callbacks, enables reading and writing, sets a read high
// watermark of NetConnBuffer if none is set and a write low watermark of
// NetConnBuffer/2, and from then on only the loop touches bev: the
// returned conn talks to it through Base.RunInLoop. Do not use bev directly
// afterwards; Close the conn instead, which flushes pending output (waiting
// at most 30 s for the peer to take it), signals end of stream (Flush
// Finished) and closes bev.
//
// NetConn itself is loop-confined unless bev is ThreadSafe (call it from
// the loop, e.g. inside Base.Do, or before the loop runs). The returned
// conn's methods are safe for concurrent use from any goroutine except the
// loop goroutine, where its blocking Read and Write would deadlock. Read
// and write deadlines work and fail with os.ErrDeadlineExceeded; after Close
// the methods fail with ErrClosed (which matches net.ErrClosed). Closing
// the base closes bev too (inside Base.Close, after sending what Write
// queued): Read then returns what had arrived and fails with ErrClosed (or
// io.EOF if the peer had ended the stream), Write fails with ErrClosed, and
// Close returns nil.
// LocalAddr and RemoteAddr come from the backend (backend.Addresser) or name
// the bufferevent type.
func NetConn(bev *BufferEvent) (net.Conn, error) {
	if err := bev.enter(); err != nil {
		return nil, err
	}
	var local, remote net.Addr
	if a, ok := bev.ops.(backend.Addresser); ok {
		local, remote = a.LocalAddr(), a.RemoteAddr()
	}
	bev.leave()
	if local == nil {
		local = bevAddr(bev.typ)
	}
	if remote == nil {
		remote = bevAddr(bev.typ)
	}
	c := &netConn{
		bev:    bev,
		rbuf:   evbuffer.New(),
		wbuf:   evbuffer.New(),
		local:  local,
		remote: remote,
	}
	c.cond = sync.NewCond(&c.mu)
	c.pullFn = c.pull
	c.pushFn = c.push
	// No loop runs after the base's Close: the conn closes bev there.
	stop, err := bev.base.OnClose(c.baseClosing)
	if err != nil {
		return nil, err
	}
	c.stopHook = stop
	if err := c.setUp(); err != nil {
		stop()
		return nil, err
	}
	return c, nil
}

// setUp gives bev to the conn: watermarks, callbacks, both directions.
func (c *netConn) setUp() error {
	bev := c.bev
	if _, hi, _ := bev.Watermark(Read); hi == 0 {
		if err := bev.SetWatermark(Read, 0, NetConnBuffer); err != nil {
			return err
		}
	}
	if err := bev.SetWatermark(Write, NetConnBuffer/2, 0); err != nil {
		return err
	}
	if err := bev.SetCallbacks(c.onRead, c.onWrite, c.onEvent); err != nil {
		return err
	}
	if err := bev.Enable(ReadWrite); err != nil {
		return err
	}
	// Data may already be buffered.
	return bev.Trigger(Read, TriggerDefer)
}

type bevAddr string

func (a bevAddr) Network() string { return "bufferevent" }
func (a bevAddr) String() string  { return string(a) }

type netConn struct {
	bev           *BufferEvent
	local, remote net.Addr
	pullFn        func()
	pushFn        func()
	stopHook      func() bool // unregisters baseClosing from the base's OnClose functions

	mu         sync.Mutex
	cond       *sync.Cond
	rbuf       *evbuffer.Buffer // bytes taken off the input, for Read
	wbuf       *evbuffer.Buffer // bytes from Write, for the loop to send
	rerr       error            // sticky: io.EOF or the read error, once the input is consumed
	pendErr    error            // loop side: the read error, before the input is consumed
	werr       error            // sticky write error
	closed     bool             // Close was called
	closing    bool             // loop side: flushing before closing bev
	finished   bool             // loop side: bev closed
	pullQueued bool
	paused     bool // loop side: pull stopped reading while rbuf is full
	pushQueued bool
	rdl, wdl   time.Time
	rTimer     *time.Timer
	wTimer     *time.Timer
	pulled     *atomic.Int64 // tests only: counts pulls (CountLoopPullsForTest)
}

// ---- loop side ----

func (c *netConn) onRead(*BufferEvent)  { c.pull() }
func (c *netConn) onWrite(*BufferEvent) { c.push() }

func (c *netConn) onEvent(_ *BufferEvent, what Events, err error) {
	c.mu.Lock()
	// One event may carry several conditions (deferred callbacks coalesce
	// the events of a turn: the input's end with a failed write): each one
	// counts.
	if what&EOF != 0 && c.pendErr == nil {
		c.pendErr = io.EOF
	}
	if what&Error != 0 {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		if c.pendErr == nil {
			c.pendErr = err
		}
		if c.werr == nil {
			c.werr = err
		}
	}
	if what&Timeout != 0 && c.closing {
		c.werr = os.ErrDeadlineExceeded
	}
	closing := c.closing && what&(Error|Timeout) != 0
	c.cond.Broadcast()
	c.mu.Unlock()
	c.pull() // the error becomes visible once the input is consumed
	if closing {
		c.finish()
	}
}

// pull moves input into rbuf up to NetConnBuffer. On the loop.
//
// While rbuf is full and the input at its read high watermark, pull stops
// reading (Disable), and it resumes once Read has made room: the core calls
// the read callback again after every run that leaves the input at or above
// the high watermark with reading enabled (libevent's
// bufferevent_inbuf_wm_check), so a pull that found no room used to run
// again at once, a busy loop for as long as the reader lagged.
func (c *netConn) pull() {
	c.mu.Lock()
	if c.pulled != nil {
		c.pulled.Add(1)
	}
	c.pullQueued = false
	if c.finished {
		c.mu.Unlock()
		return
	}
	left := 0
	if room := NetConnBuffer - c.rbuf.Len(); room > 0 {
		moved := 0
		_ = c.bev.WithLock(func(in, _ *evbuffer.Buffer) {
			moved, _ = in.RemoveBuffer(c.rbuf, room)
			left = in.Len()
		})
		ended := false
		if left == 0 && c.pendErr != nil && c.rerr == nil {
			c.rerr = c.pendErr
			ended = true
		}
		// Wake readers only for news: a reader woken for nothing queues
		// another pull, and a blocked Read then kept the loop and a core
		// busy (about 0.8 s of CPU per second of waiting).
		if moved > 0 || ended {
			c.cond.Broadcast()
		}
	} else {
		_ = c.bev.WithLock(func(in, _ *evbuffer.Buffer) { left = in.Len() })
	}
	full := c.rbuf.Len() >= NetConnBuffer
	pause := full && !c.paused && !c.closing && left > 0
	resume := !full && c.paused && !c.closing
	c.mu.Unlock()
	switch {
	case pause:
		if _, high, _ := c.bev.Watermark(Read); high > 0 && left >= high {
			c.setPaused(true)
			_ = c.bev.Disable(Read)
		}
	case resume:
		c.setPaused(false)
		_ = c.bev.Enable(Read)
	}
}

// setPaused records whether pull stopped reading. On the loop.
func (c *netConn) setPaused(on bool) {
	c.mu.Lock()
	c.paused = on
	c.mu.Unlock()
}

// push moves wbuf into the output up to NetConnBuffer pending (all of it
// when closing). On the loop.
func (c *netConn) push() {
	c.mu.Lock()
	c.pushQueued = false
	if c.finished {
		c.mu.Unlock()
		return
	}
	empty := false
	_ = c.bev.WithLock(func(_, out *evbuffer.Buffer) {
		room := NetConnBuffer - out.Len()
		if c.closing {
			room = c.wbuf.Len()
		}
		if room > 0 && c.wbuf.Len() > 0 {
			_, _ = c.wbuf.RemoveBuffer(out, room)
			c.cond.Broadcast()
		}
		empty = out.Len() == 0 && c.wbuf.Len() == 0
	})
	done := c.closing && empty
	c.mu.Unlock()
	if done {
		c.finish()
	}
}

// closeOnLoop starts the graceful close: send everything, then finish.
func (c *netConn) closeOnLoop() {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	_ = c.bev.SetWatermark(Write, 0, 0)
	_ = c.bev.SetTimeouts(0, netConnLinger)
	_ = c.bev.Disable(Read)
	c.push()
	// If the output is not empty the write callback calls push again.
}

// finish signals end of stream and closes the bufferevent. On the loop.
func (c *netConn) finish() {
	c.mu.Lock()
	if c.finished {
		c.mu.Unlock()
		return
	}
	c.finished = true
	c.mu.Unlock()
	c.stopHook() // false when called from baseClosing
	_, _ = c.bev.Flush(Write, Finished)
	_ = c.bev.Close()
}

// baseClosing runs inside the base's Close (Base.OnClose), after which no
// loop serves the conn: it hands Read everything the input holds, sends
// what Write queued and closes bev; Read then fails with ErrClosed (or the
// stream's end) once rbuf is empty, Write at once. Without it a Read or
// Write blocked then waited for good, and a Close made later had to close
// bev on its own goroutine, which raced with the base's Close still
// running (the base's events and chain cache).
func (c *netConn) baseClosing() {
	c.mu.Lock()
	if c.finished {
		c.mu.Unlock()
		return
	}
	c.closing = true
	_ = c.bev.WithLock(func(in, _ *evbuffer.Buffer) {
		_, _ = in.RemoveBuffer(c.rbuf, in.Len())
	})
	if c.rerr == nil {
		c.rerr = c.pendErr
		if c.rerr == nil {
			c.rerr = ErrClosed
		}
	}
	if c.werr == nil {
		c.werr = ErrClosed
	}
	c.cond.Broadcast()
	c.mu.Unlock()
	c.push() // closing: all of wbuf
	c.finish()
}

// ---- user side ----

func (c *netConn) schedule(queued *bool, fn func()) {
	if *queued {
		return
	}
	if c.bev.base.RunInLoop(fn) == nil {
		*queued = true
	}
}

func expired(dl time.Time) bool { return !dl.IsZero() && !time.Now().Before(dl) }

// Read reads buffered input, blocking until some arrives, the stream ends,
// the read deadline passes or the conn is closed.
func (c *netConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if c.closed {
			return 0, ErrClosed
		}
		if len(p) == 0 {
			return 0, nil
		}
		if c.rbuf.Len() > 0 {
			n, _ := c.rbuf.Remove(p)
			if c.rbuf.Len() < NetConnBuffer/2 {
				c.schedule(&c.pullQueued, c.pullFn)
			}
			return n, nil
		}
		if c.rerr != nil {
			return 0, c.rerr
		}
		if expired(c.rdl) {
			return 0, os.ErrDeadlineExceeded
		}
		c.schedule(&c.pullQueued, c.pullFn)
		c.cond.Wait()
	}
}

// Write queues p for the loop, blocking while NetConnBuffer bytes are
// already waiting.
func (c *netConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for {
		if c.closed {
			return n, ErrClosed
		}
		if c.werr != nil {
			return n, c.werr
		}
		if len(p) == 0 {
			return n, nil
		}
		if expired(c.wdl) {
			return n, os.ErrDeadlineExceeded
		}
		if room := NetConnBuffer - c.wbuf.Len(); room > 0 {
			k := min(room, len(p))
			if err := c.wbuf.Add(p[:k]); err != nil {
				return n, err
			}
			n += k
			p = p[k:]
			c.schedule(&c.pushQueued, c.pushFn)
			continue
		}
		c.cond.Wait()
	}
}

// Close flushes pending output on the loop, then closes the bufferevent.
func (c *netConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.closed = true
	for _, t := range []*time.Timer{c.rTimer, c.wTimer} {
		if t != nil {
			t.Stop()
		}
	}
	c.cond.Broadcast()
	c.mu.Unlock()
	// A base that refuses work has run baseClosing, which closed bev: its
	// OnClose functions all run before it refuses work.
	_ = c.bev.base.RunInLoop(c.closeOnLoop)
	return nil
}

func (c *netConn) LocalAddr() net.Addr  { return c.local }
func (c *netConn) RemoteAddr() net.Addr { return c.remote }

func (c *netConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

func (c *netConn) SetReadDeadline(t time.Time) error {
	return c.setDeadline(&c.rdl, &c.rTimer, t)
}

func (c *netConn) SetWriteDeadline(t time.Time) error {
	return c.setDeadline(&c.wdl, &c.wTimer, t)
}

func (c *netConn) setDeadline(dl *time.Time, timer **time.Timer, t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	*dl = t
	if *timer != nil {
		(*timer).Stop()
		*timer = nil
	}
	if !t.IsZero() {
		*timer = time.AfterFunc(time.Until(t), c.wake)
	}
	// Waiters re-check the new deadline.
	c.cond.Broadcast()
	return nil
}

func (c *netConn) wake() {
	c.mu.Lock()
	c.cond.Broadcast()
	c.mu.Unlock()
}
