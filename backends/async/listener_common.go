//go:build linux || windows

package async

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/bufev/bufev/eventbase"
)

// This file holds what the io_uring listener (listener_linux.go) and the IOCP listener
// (listener_windows.go) do alike: enabling and disabling, the queue of connections
// accepted while disabled, the pause after an accept error, the accessors, and the
// frame of NewListener and Close. Both Listener types have the fields used here under
// the same names; each platform file keeps how accepts are submitted, cancelled and
// completed (arm, cancelAll, complete) and the per-platform steps called from here
// (listenFD, closeSocket, network, shutdown).

// acceptSlots is how many accept operations a listener keeps in flight, like libevent's
// IOCP listener keeps 4 AcceptEx outstanding: connections arriving together are accepted
// in one batch of completions.
const acceptSlots = 4

const defaultBacklog = 4096

// listenerState is the part of a Listener that both platforms keep alike (embedded).
type listenerState struct {
	base    *eventbase.Base
	fd      int
	flags   ListenFlags
	addr    net.Addr
	maxWait time.Duration

	cb      AcceptFunc
	errcb   ErrorFunc
	enabled bool
	closed  bool
	paused  bool
	backoff time.Duration
	pause   *eventbase.Event
	deliver func() // l.deliverHeld, allocated once
	held    []heldConn
	heldQ   bool

	nOps  int // operations in flight
	freed bool
}

func newListenerState(base *eventbase.Base, fd int, cb AcceptFunc, opts ListenerOptions) listenerState {
	st := listenerState{base: base, fd: fd, flags: opts.Flags, cb: cb, maxWait: opts.MaxAcceptBackoff}
	if st.maxWait <= 0 {
		st.maxWait = time.Second
	}
	return st
}

// heldConn is a connection accepted while the listener was disabled (or without a
// callback), delivered by Enable.
type heldConn struct {
	fd   int
	peer net.Addr
}

// NewListener accepts with the platform's accept operations (io_uring accept, or
// AcceptEx) on an existing socket (libevent's evconnlistener_new on an IOCP base; on
// Windows a SOCKET handle as an int). See ListenerOptions.Backlog for when it calls
// listen. The socket stays the caller's unless opts has ListenCloseOnFree.
//
// Loop-confined: call it on the loop goroutine or before the loop runs.
func NewListener(base *eventbase.Base, fd int, cb AcceptFunc, opts ListenerOptions) (*Listener, error) {
	if base == nil {
		return nil, errors.New("async: nil base")
	}
	if fd < 0 {
		return nil, fmt.Errorf("async: invalid listener descriptor %d", fd)
	}
	if err := Available(); err != nil {
		return nil, err
	}
	if opts.Backlog != 0 {
		b := opts.Backlog
		if b < 0 {
			b = defaultBacklog
		}
		if err := listenFD(fd, b); err != nil {
			return nil, err
		}
	}
	return newListener(base, fd, cb, opts)
}

// accepted hands a new connection to the callback, or keeps it while the listener is
// disabled (an accept whose cancellation came too late) or has no callback, or while
// held connections wait before it; Enable delivers those, Close closes them.
func (l *Listener) accepted(fd int, peer net.Addr) {
	l.backoff = 0
	if !l.enabled || l.cb == nil || len(l.held) > 0 {
		l.held = append(l.held, heldConn{fd, peer})
		return
	}
	l.cb(l, fd, peer)
	l.arm()
}

func (l *Listener) acceptFailed(err error) {
	if l.errcb != nil {
		l.errcb(l, &net.OpError{Op: "accept", Net: l.network(), Addr: l.addr, Err: err})
	}
	if l.closed || !l.enabled {
		return
	}
	// Pause instead of spinning on a persistent error.
	if l.backoff == 0 {
		l.backoff = 5 * time.Millisecond
	} else {
		l.backoff = min(l.backoff*2, l.maxWait)
	}
	l.paused = true
	l.cancelAll()
	_ = l.pause.AddTimeout(l.backoff)
}

func (l *Listener) onPauseEnd() {
	l.paused = false
	l.arm()
}

// deliverHeld hands connections accepted while disabled to the callback.
func (l *Listener) deliverHeld() {
	l.heldQ = false
	for len(l.held) > 0 && l.enabled && l.cb != nil && !l.closed {
		h := l.held[0]
		l.held = l.held[1:]
		l.cb(l, h.fd, h.peer)
	}
	l.arm()
}

// Enable starts (or resumes) accepting (evconnlistener_enable). Connections accepted
// by operations that completed while the listener was disabled are delivered first.
// Loop-confined.
func (l *Listener) Enable() error {
	if l.closed {
		return ErrClosed
	}
	l.enabled = true
	if len(l.held) > 0 {
		if !l.heldQ {
			l.heldQ = true
			l.base.Defer(l.deliver)
		}
		return nil
	}
	l.arm()
	return nil
}

// Disable stops accepting (evconnlistener_disable): the accepts in flight are cancelled
// and further connections wait in the backlog. One that an accept operation had already
// taken is kept and delivered on Enable. Safe to call from the callbacks.
// Loop-confined.
func (l *Listener) Disable() error {
	if l.closed {
		return ErrClosed
	}
	l.enabled = false
	l.cancelAll()
	return nil
}

// Enabled reports whether the listener is enabled. Loop-confined.
func (l *Listener) Enabled() bool { return l.enabled && !l.closed }

// SetCallback replaces the accept callback; nil stops accepting until one is set
// (evconnlistener_set_cb). Loop-confined.
func (l *Listener) SetCallback(cb AcceptFunc) {
	l.cb = cb
	if cb == nil {
		l.cancelAll()
		return
	}
	if len(l.held) > 0 {
		_ = l.Enable()
		return
	}
	l.arm()
}

// SetErrorCallback sets the error callback (evconnlistener_set_error_cb). Loop-confined.
func (l *Listener) SetErrorCallback(cb ErrorFunc) { l.errcb = cb }

// FD returns the listening socket (on Windows its SOCKET handle). Safe for concurrent
// use.
func (l *Listener) FD() int { return l.fd }

// Addr returns the bound address. Safe for concurrent use.
func (l *Listener) Addr() net.Addr { return l.addr }

// Base returns the listener's base. Safe for concurrent use.
func (l *Listener) Base() *eventbase.Base { return l.base }

// Close stops the listener (evconnlistener_free): the accepts in flight are cancelled
// (a connection accepted by one that won the race is closed when it completes),
// connections held while disabled are closed, the socket is closed with
// ListenCloseOnFree, and no callback runs afterwards. It may be called from the
// listener's callbacks. A second Close returns ErrClosed. Loop-confined.
func (l *Listener) Close() error {
	if l.closed {
		return ErrClosed
	}
	l.closed = true
	l.cb, l.errcb = nil, nil
	l.cancelAll()
	l.pause.Free()
	for _, h := range l.held {
		_ = closeSocket(h.fd)
	}
	l.held = nil
	return l.shutdown()
}
