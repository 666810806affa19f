package socket

import "github.com/bufev/bufev/bufferevent/backend"

// A socket bufferevent's write-side shutdown, asked for with Flush(Write, Finished), is
// a backend.WriteShutdown (shared with the async backend), allocated on the first
// request so that sockets that never half-close carry one nil pointer.

// finishWrite implements Flush(Write, Finished) (backend.WriteShutdown.Finish).
func (s *sock) finishWrite() error {
	if s.half == nil {
		s.half = backend.NewWriteShutdown(s.c, s)
	}
	return s.half.Finish()
}

// ShutdownReady implements backend.ShutdownConn: a socket that is connected and alive.
func (s *sock) ShutdownReady() bool { return s.fd >= 0 && !s.connecting && !s.dead }

// ShutdownWrite implements backend.ShutdownConn: shutdown(SHUT_WR).
func (s *sock) ShutdownWrite() error {
	if err := shutdownWrite(s.fd); err != nil {
		return s.opError("shutdown", err)
	}
	return nil
}

// resetHalfClose forgets a write shutdown, pending or done: the user gives the
// bufferevent another descriptor (SetFD) or closes it. A connect's own socket changes
// (Connect on a bufferevent without one, the next address of a hostname connect) keep
// a pending shutdown.
func (s *sock) resetHalfClose() {
	if s.half != nil {
		s.half.Reset()
		s.half = nil
	}
}
