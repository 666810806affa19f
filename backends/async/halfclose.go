//go:build linux || windows

package async

import (
	"github.com/bufev/bufev/bufferevent/backend"
	"github.com/bufev/bufev/evbuffer"
)

// halfClose is an async bufferevent's write-side shutdown (io_uring and IOCP alike), asked for with Flush(Write,
// Finished), as the socket backend does it: allocated on the first request, so
// connections that never half-close carry one nil pointer.
type halfClose struct {
	cb   *evbuffer.Callback // watches the output until it is empty (nil once done)
	done bool               // shutdown(SHUT_WR) was called on this socket
}

// finishWrite implements Flush(Write, Finished): shut the write side down now if the
// output is empty (bytes of a send in flight stay in the output until its completion,
// so an empty output means every byte reached the kernel) and the socket connected,
// else once the output has been sent (an output callback watches for the empty buffer;
// a connect in progress checks when it completes). A second request is a no-op.
func (c *conn) finishWrite() error {
	if c.half == nil {
		c.half = &halfClose{}
	}
	h := c.half
	if h.done {
		return nil
	}
	if c.fd >= 0 && !c.connecting && c.c.Output().Len() == 0 {
		return c.shutdownNow()
	}
	if h.cb == nil {
		h.cb = c.c.Output().AddCallback(c.onOutputFinished)
	}
	return nil
}

// onOutputFinished is the output callback of a pending write shutdown: it fires once a
// send's completion (or a direct send) emptied the output.
func (c *conn) onOutputFinished(out *evbuffer.Buffer, _ evbuffer.CallbackInfo) {
	if out.Len() != 0 || c.fd < 0 || c.connecting || c.dead || c.half == nil || c.half.done {
		return
	}
	c.shutdownLate()
}

// afterConnect runs when a connect completed: a shutdown asked for during the connect
// with nothing left to send happens now (with output, the output callback does it).
func (c *conn) afterConnect() {
	if h := c.half; h != nil && !h.done && c.c.Output().Len() == 0 {
		c.shutdownLate()
	}
}

// shutdownLate shuts the write side down outside Flush: a failure is reported as a
// deferred Writing|Error event (the write direction is disabled), as a failed send is.
func (c *conn) shutdownLate() {
	if err := c.shutdownNow(); err != nil {
		c.c.DisableUser(backend.Write)
		c.c.TriggerEvent(backend.Writing|backend.Error, err, backend.TriggerDefer)
	}
}

// shutdownNow calls shutdown(SHUT_WR) and stops watching the output. The receive side
// (a multishot or pinned receive in flight) is untouched.
func (c *conn) shutdownNow() error {
	h := c.half
	h.done = true
	c.dropFinishedCallback()
	return c.shutdownWrite()
}

// resetHalfClose forgets a write shutdown, pending or done: the user gives the
// bufferevent another descriptor (SetFD) or closes it.
func (c *conn) resetHalfClose() {
	if c.half != nil {
		c.dropFinishedCallback()
		c.half = nil
	}
}

func (c *conn) dropFinishedCallback() {
	if h := c.half; h.cb != nil {
		_ = c.c.Output().RemoveCallback(h.cb)
		h.cb = nil
	}
}
