package socket

import (
	"github.com/bufev/bufev/bufferevent/backend"
	"github.com/bufev/bufev/evbuffer"
)

// halfClose is a socket bufferevent's write-side shutdown, asked for with
// Flush(Write, Finished): allocated on the first request, so sockets that never
// half-close carry one nil pointer.
type halfClose struct {
	cb   *evbuffer.Callback // watches the output until it is empty (nil once done)
	done bool               // shutdown(SHUT_WR) was called on this socket
}

// finishWrite implements Flush(Write, Finished): shut the write side down now if the
// output is empty and the socket connected, else once the output has been sent (an
// output callback watches for the empty buffer; a connect in progress checks when it
// completes). A second request is a no-op.
func (s *sock) finishWrite() error {
	if s.half == nil {
		s.half = &halfClose{}
	}
	h := s.half
	if h.done {
		return nil
	}
	if s.fd >= 0 && !s.connecting && s.c.Output().Len() == 0 {
		return s.shutdownNow()
	}
	if h.cb == nil {
		h.cb = s.c.Output().AddCallback(s.onOutputFinished)
	}
	return nil
}

// onOutputFinished is the output callback of a pending write shutdown: it fires once the
// writes (the write event, or the immediate write of onOutput) emptied the output.
func (s *sock) onOutputFinished(out *evbuffer.Buffer, _ evbuffer.CallbackInfo) {
	if out.Len() != 0 || s.fd < 0 || s.connecting || s.dead {
		return
	}
	s.shutdownLate()
}

// afterConnect runs when a connect completed: a shutdown asked for during the connect
// with nothing left to send happens now (with output, the output callback does it).
func (s *sock) afterConnect() {
	if h := s.half; h != nil && !h.done && s.c.Output().Len() == 0 {
		s.shutdownLate()
	}
}

// shutdownLate shuts the write side down outside Flush: a failure is reported as a
// deferred Writing|Error event (the write direction is disabled), as a failed write is.
func (s *sock) shutdownLate() {
	if err := s.shutdownNow(); err != nil {
		s.c.DisableUser(backend.Write)
		s.c.TriggerEvent(backend.Writing|backend.Error, s.opError("shutdown", err), backend.TriggerDefer)
	}
}

// shutdownNow calls shutdown(SHUT_WR) and stops watching the output.
func (s *sock) shutdownNow() error {
	h := s.half
	h.done = true
	s.dropFinishedCallback()
	return shutdownWrite(s.fd)
}

// resetHalfClose forgets a write shutdown, pending or done: the user gives the
// bufferevent another descriptor (SetFD) or closes it. A connect's own socket changes
// (Connect on a bufferevent without one, the next address of a hostname connect) keep
// a pending shutdown.
func (s *sock) resetHalfClose() {
	if s.half != nil {
		s.dropFinishedCallback()
		s.half = nil
	}
}

func (s *sock) dropFinishedCallback() {
	if h := s.half; h.cb != nil {
		_ = s.c.Output().RemoveCallback(h.cb)
		h.cb = nil
	}
}
