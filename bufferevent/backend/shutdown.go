package backend

import "github.com/bufev/bufev/evbuffer"

// ShutdownConn is what a WriteShutdown needs from a connection backend: whether the
// write side can be shut down now, and the shutdown itself. WriteShutdown calls
// ShutdownWrite on the loop goroutine only (a shutdown due after a change of the output
// on another goroutine is handed to the loop); ShutdownReady may also be called from the
// output's callback on the goroutine that changed the output, with the bufferevent
// locked. Loop-confined: implementations need no locking of their own.
type ShutdownConn interface {
	// ShutdownReady reports whether the connection has a connected descriptor that
	// can be shut down: it exists, no connect is in progress and no fatal error ended
	// it. Called with the bufferevent locked, on the loop goroutine or (from the
	// output's callback) on the goroutine that changed a ThreadSafe bufferevent's
	// output; it must only read the backend's state.
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
// as Ops methods are called. The output callback it registers may run elsewhere (a
// ThreadSafe bufferevent's output changed on another goroutine): a shutdown due then is
// handed to the loop with Core.RunInLoop, so ShutdownWrite always runs on the loop.
type WriteShutdown struct {
	core   Core
	conn   ShutdownConn
	cb     *evbuffer.Callback // watches the output until it is empty (nil once done)
	lateFn func()             // w.lateOnLoop, allocated once on first use
	done   bool               // the write side was shut down
	queued bool               // lateFn is queued on the loop
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

// late shuts the write side down outside Flush, reporting a failure as an event. Off
// the loop (the output of a ThreadSafe bufferevent emptied on another goroutine) it
// hands the shutdown to the loop instead: ShutdownWrite touches the descriptor, which
// the loop may be using (ShutdownConn's contract).
func (w *WriteShutdown) late() {
	if !w.core.OnLoop() {
		if !w.queued {
			if w.lateFn == nil {
				w.lateFn = w.lateOnLoop
			}
			w.queued = true
			w.core.RunInLoop(w.lateFn)
		}
		return
	}
	if err := w.now(); err != nil {
		w.core.DisableUser(Write)
		w.core.TriggerEvent(Writing|Error, err, TriggerDefer)
	}
}

// lateOnLoop is a late shutdown handed to the loop (Core.RunInLoop: the lock and a
// reference held). It re-checks everything: the request may have been reset (SetFD,
// Close) or carried out, the connection may have failed, and the output may hold new
// bytes since (then the output callback does it once they are sent).
func (w *WriteShutdown) lateOnLoop() {
	w.queued = false
	if w.done || w.cb == nil || w.core.Output().Len() != 0 || !w.conn.ShutdownReady() {
		return
	}
	w.late()
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
