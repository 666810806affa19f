//go:build linux || windows

package async

import "github.com/bufev/bufev/bufferevent/backend"

// An async bufferevent's write-side shutdown (io_uring and IOCP alike), asked for with
// Flush(Write, Finished), is a backend.WriteShutdown, as the socket backend's is,
// allocated on the first request so that connections that never half-close carry one
// nil pointer. Bytes of a send in flight stay in the output until its completion, so an
// empty output means every byte reached the kernel.

// finishWrite implements Flush(Write, Finished) (backend.WriteShutdown.Finish).
func (c *conn) finishWrite() error {
	if c.half == nil {
		c.half = backend.NewWriteShutdown(c.c, c)
	}
	return c.half.Finish()
}

// ShutdownReady implements backend.ShutdownConn: a connected socket, not closed. The
// receive side (a multishot or pinned receive in flight) is untouched by the shutdown.
func (c *conn) ShutdownReady() bool { return c.fd >= 0 && !c.connecting && !c.dead }

// ShutdownWrite implements backend.ShutdownConn (shutdownWrite is per platform).
func (c *conn) ShutdownWrite() error { return c.shutdownWrite() }

// afterConnect runs when a connect completed (backend.WriteShutdown.AfterConnect).
func (c *conn) afterConnect() { c.half.AfterConnect() }

// resetHalfClose forgets a write shutdown, pending or done: the user gives the
// bufferevent another descriptor (SetFD) or closes it.
func (c *conn) resetHalfClose() {
	if c.half != nil {
		c.half.Reset()
		c.half = nil
	}
}
