package proxy

import (
	"fmt"
	"io"
	"time"

	"github.com/bufev/bufev/bufferevent"
)

// MaxOutput is le-proxy.c's MAX_OUTPUT: the most bytes queued for one side before the
// other stops reading. A constant, safe for concurrent use.
const MaxOutput = 512 << 10

// Stats counts a proxy's activity. Loop-confined.
type Stats struct {
	Connections int   // pairs linked
	Open        int   // sides open now
	Bytes       int64 // bytes relayed (both directions)
	Paused      int   // times a side stopped reading because its partner was full
	PeakQueued  int   // the largest output seen on any side right after a relay
}

// Side is one end of a relayed pair. Loop-confined, like its bufferevent.
type Side struct {
	// Bev is the side's bufferevent.
	Bev *bufferevent.BufferEvent
	// Compressing marks a filter side whose output should be flushed (Flush mode) once
	// handed down, and finished (Finished mode) before close.
	Compressing bool
	// OnClose runs once when the side is closed, just before its bufferevent is
	// closed (count bytes while a filter's codec is still open).
	OnClose func()

	p         *Proxy
	partner   *Side
	relayed   time.Time // when bytes last moved between this side and its partner
	needFlush bool
	eof       bool // this side's input ended (its peer half-closed or closed)
	finished  bool // this side was finished (Flush(Write, Finished)): nothing more to send
	closed    bool
}

// Proxy links pairs of bufferevents. Loop-confined: use it on the loop goroutine of
// the bases its bufferevents belong to.
type Proxy struct {
	// Log, when set, receives a line per error event (the sample prints OpenSSL's
	// error stack).
	Log io.Writer
	// Idle, when positive, closes a pair that relayed nothing for that long while
	// neither side had output waiting, and a side whose peer took none of its pending
	// output for that long (each side's read and write timeouts). Zero keeps idle
	// pairs open for good, as libevent's sample does. Set it before Link.
	Idle time.Duration
	// Stats counts what the proxy did.
	Stats Stats
}

// Link starts relaying between in and out: both get the proxy's callbacks and are
// enabled for reading and writing. Loop-confined.
func (p *Proxy) Link(in, out *Side) {
	in.p, out.p = p, p
	in.partner, out.partner = out, in
	p.Stats.Connections++
	p.Stats.Open += 2
	now := in.Bev.Base().LoopNow()
	for _, s := range []*Side{in, out} {
		s.relayed = now
		s.setNormal()
		if p.Idle > 0 {
			_ = s.Bev.SetTimeouts(p.Idle, p.Idle)
		}
		_ = s.Bev.Enable(bufferevent.Read | bufferevent.Write)
	}
}

// setNormal installs the read/write/event callbacks of a side in normal flow.
func (s *Side) setNormal() {
	var write bufferevent.ReadFunc
	if s.Compressing {
		write = func(*bufferevent.BufferEvent) { s.flushIfNeeded() }
	}
	_ = s.Bev.SetCallbacks(s.read, write, s.event)
}

// read is le-proxy's readcb: move everything to the partner and stop reading when the
// partner's output is full.
func (s *Side) read(bev *bufferevent.BufferEvent) {
	src := bev.Input()
	if s.partner == nil {
		_ = src.Drain(src.Len())
		return
	}
	n := src.Len()
	dst := s.partner.Bev.Output()
	if err := dst.AddBuffer(src); err != nil {
		s.logf("relay: %v", err)
		return
	}
	s.p.Stats.Bytes += int64(n)
	if s.p.Idle > 0 && n > 0 {
		s.relayed = bev.Base().LoopNow()
		s.partner.relayed = s.relayed
	}
	s.p.Stats.PeakQueued = max(s.p.Stats.PeakQueued, dst.Len())
	if s.partner.Compressing {
		s.partner.needFlush = true
		s.partner.flushIfNeeded()
	}
	if dst.Len() >= MaxOutput {
		// We are giving the other side data faster than it can pass it on: stop
		// reading here until the other side drained to MaxOutput/2.
		s.p.Stats.Paused++
		_ = s.partner.Bev.SetCallbacks(s.partner.read, s.partner.drained, s.partner.event)
		_ = s.partner.Bev.SetWatermark(bufferevent.Write, MaxOutput/2, MaxOutput)
		_ = bev.Disable(bufferevent.Read)
	}
}

// drained is le-proxy's drained_writecb, run on the side that was full.
func (s *Side) drained(bev *bufferevent.BufferEvent) {
	s.setNormal()
	_ = bev.SetWatermark(bufferevent.Write, 0, 0)
	if s.partner != nil && !s.partner.eof {
		_ = s.partner.Bev.Enable(bufferevent.Read)
	}
	s.flushIfNeeded()
}

// flushIfNeeded flushes a compressing side once everything written to it went down to
// its transport, so the compressor's tail reaches the peer.
func (s *Side) flushIfNeeded() {
	if s.Compressing && s.needFlush && !s.closed && !s.finished && s.Bev.Output().Len() == 0 {
		s.needFlush = false
		_, _ = s.Bev.Flush(bufferevent.Write, bufferevent.Flush)
	}
}

// closeWhenDrained is le-proxy's close_on_finished_writecb.
func (s *Side) closeWhenDrained(bev *bufferevent.BufferEvent) {
	if bev.Output().Len() == 0 {
		s.close()
	}
}

// event is le-proxy's eventcb, with EOF passed on as a half-close.
func (s *Side) event(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
	if what&(bufferevent.EOF|bufferevent.Error|bufferevent.Timeout) == 0 {
		return // Connected
	}
	if what&bufferevent.Timeout != 0 && what&bufferevent.Writing == 0 && !s.idle(bev) {
		// A read timeout on a pair that is still busy: not a reason to close. The
		// deferred callbacks coalesce one turn's events, so an EOF or an error may
		// come with it (handled below); a write timeout with it means the peer took
		// nothing for Idle, which aborts below.
		what &^= bufferevent.Timeout
		if what&(bufferevent.EOF|bufferevent.Error) == 0 {
			// The timeout disabled reading: read on.
			if !s.eof {
				_ = bev.Enable(bufferevent.Read)
			}
			return
		}
	}
	if what&(bufferevent.Error|bufferevent.Timeout) != 0 {
		s.logf("%v: %v", what, err)
		s.abort(bev)
		return
	}
	if s.eof {
		return
	}
	s.eof = true
	p := s.partner
	if p == nil {
		s.closeOnceDrained()
		return
	}
	s.read(bev) // flush all pending data
	// The partner sends what it holds, then shuts its write side down; the other
	// direction keeps flowing until the partner's input ends too.
	p.finish()
	if p.eof {
		// Both directions ended: each side closes once its output drained.
		p.partner, s.partner = nil, nil
		p.closeOnceDrained()
		s.closeOnceDrained()
	}
}

// idle reports, on this side's read timeout, whether the pair has been idle for
// Proxy.Idle: nothing relayed for that long and no output waiting on either side (a
// side with output waiting has its own write timeout, which fires when its peer stops
// taking it).
func (s *Side) idle(bev *bufferevent.BufferEvent) bool {
	if bev.Output().Len() > 0 {
		return false
	}
	if p := s.partner; p != nil && p.Bev.Output().Len() > 0 {
		return false
	}
	return bev.Base().LoopNow().Sub(s.relayed) >= s.p.Idle
}

// finish passes an EOF on to this side's peer: the trailer of a compressing side, then
// everything goes down to the transport, which shuts its write side down once sent.
func (s *Side) finish() {
	if s.finished || s.closed {
		return
	}
	s.finished = true
	_, _ = s.Bev.Flush(bufferevent.Write, bufferevent.Finished)
}

// closeOnceDrained closes the side now if it has nothing left to send, else once its
// output drained (reading stays off: its input ended or its partner is gone).
func (s *Side) closeOnceDrained() {
	if s.closed {
		return
	}
	if s.Bev.Output().Len() == 0 {
		s.close()
		return
	}
	_ = s.Bev.SetCallbacks(nil, s.closeWhenDrained, s.event)
	_ = s.Bev.SetWatermark(bufferevent.Write, 0, 0)
	_ = s.Bev.Disable(bufferevent.Read)
}

// abort is le-proxy's eventcb for an error or timeout: what this side holds goes to the
// partner, which closes once it sent it (finished first); this side closes at once.
func (s *Side) abort(bev *bufferevent.BufferEvent) {
	if p := s.partner; p != nil {
		if !s.eof {
			s.read(bev) // flush all pending data
		}
		p.partner = nil
		s.partner = nil
		p.finish()
		p.closeOnceDrained()
	}
	s.close()
}

func (s *Side) close() {
	if s.closed {
		return
	}
	s.closed = true
	s.p.Stats.Open--
	if s.OnClose != nil {
		s.OnClose()
	}
	_ = s.Bev.Close()
}

func (s *Side) logf(format string, args ...any) {
	if s.p.Log != nil {
		fmt.Fprintf(s.p.Log, format+"\n", args...)
	}
}
