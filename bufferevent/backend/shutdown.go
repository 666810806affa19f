package backend

import "github.com/bufev/bufev/evbuffer"

// ShutdownConn is what a WriteShutdown needs from a connection backend: whether the
// write side can be shut down now, and the shutdown itself. Its methods are called on
// the loop goroutine only.
type ShutdownConn interface {
	// ShutdownReady reports whether the connection has a connected descriptor that
	// can be shut down: it exists, no connect is in progress and no fatal error ended
	// it. Called on the loop goroutine with the bufferevent locked.
	ShutdownReady() bool
	// ShutdownWrite shuts the write side down (shutdown(SHUT_WR) on a socket) and
	// returns the error to report, wrapped as the backend wraps its I/O errors.
	// Called on the loop goroutine with the bufferevent locked; must not block.
	ShutdownWrite() error
}

// WriteShutdown carries out Flush(Write, Finished) as a half-close for a connection
// backend: "send what the output holds, then shut the write side down". The socket and
// async backends use it; a user-defined connection type can too. A backend creates one
// on the first Finished request (NewWriteShutdown) so that connections that never
// half-close carry a nil pointer, calls Finish from its Flush, AfterConnect when a
// connect completes, and Reset when it gets another descriptor or closes.
// Loop-confined: call its methods on the loop goroutine with the bufferevent locked,
// as Ops methods are called.
type WriteShutdown struct {
	core Core
	conn ShutdownConn
	cb   *evbuffer.Callback // watches the output until it is empty (nil once done)
	done bool               // the write side was shut down
}

// NewWriteShutdown returns the half-close state of the connection conn whose core
// handle is core. Loop-confined.
func NewWriteShutdown(core Core, conn ShutdownConn) *WriteShutdown {
	return &WriteShutdown{core: core, conn: conn}
}

// Finish implements Flush(Write, Finished): it shuts the write side down at once if the
// output is empty and the connection ready, returning the shutdown's error, and
// otherwise once the output has been sent (an output callback watches for the empty
// buffer; AfterConnect covers a connect in progress), reporting a failure then as a
// deferred Writing|Error event after disabling writing, as a failed write is. A second
// request is a no-op. Loop-confined.
func (w *WriteShutdown) Finish() error {
	if w.done {
		return nil
	}
	if w.conn.ShutdownReady() && w.core.Output().Len() == 0 {
		return w.now()
	}
	if w.cb == nil {
		w.cb = w.core.Output().AddCallback(w.onOutput)
	}
	return nil
}

// Done reports whether the write side has been shut down. Loop-confined.
func (w *WriteShutdown) Done() bool { return w.done }

// AfterConnect is called when a connect completed: a shutdown asked for during the
// connect with nothing left to send happens now (with output pending, the output
// callback does it once the output is sent). Loop-confined.
func (w *WriteShutdown) AfterConnect() {
	if !w.done && w.core.Output().Len() == 0 {
		w.late()
	}
}

// Reset forgets the request, pending or done, and stops watching the output: the
// backend gets another descriptor (SetFD) or closes. Loop-confined.
func (w *WriteShutdown) Reset() {
	w.dropCallback()
	w.done = false
}

// onOutput is the output callback of a pending shutdown: it fires once the backend's
// writes emptied the output.
func (w *WriteShutdown) onOutput(out *evbuffer.Buffer, _ evbuffer.CallbackInfo) {
	if w.done || out.Len() != 0 || !w.conn.ShutdownReady() {
		return
	}
	w.late()
}

// late shuts the write side down outside Flush, reporting a failure as an event.
func (w *WriteShutdown) late() {
	if err := w.now(); err != nil {
		w.core.DisableUser(Write)
		w.core.TriggerEvent(Writing|Error, err, TriggerDefer)
	}
}

// now shuts the write side down and stops watching the output.
func (w *WriteShutdown) now() error {
	w.done = true
	w.dropCallback()
	return w.conn.ShutdownWrite()
}

func (w *WriteShutdown) dropCallback() {
	if w.cb != nil {
		_ = w.core.Output().RemoveCallback(w.cb)
		w.cb = nil
	}
}
