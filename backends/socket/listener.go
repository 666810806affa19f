package socket

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/bufev/bufev/eventbase"
)

// ListenFlags select a [Listener]'s behaviour; they mirror libevent's LEV_OPT_* flags.
// A plain value: safe for concurrent use.
type ListenFlags uint32

// These constants are immutable: safe for concurrent use.
const (
	// ListenBlocking leaves accepted sockets in blocking mode (LEV_OPT_LEAVE_SOCKETS_BLOCKING).
	// By default they are non-blocking, as a socket bufferevent needs them.
	ListenBlocking ListenFlags = 1 << iota

	// ListenCloseOnFree closes the listening socket when the listener is closed
	// (LEV_OPT_CLOSE_ON_FREE). [Listen] always sets it: it owns the socket it creates.
	ListenCloseOnFree

	// ListenCloseOnExec marks a descriptor handed to [NewListener] close-on-exec
	// (LEV_OPT_CLOSE_ON_EXEC). Sockets this package creates, listening or accepted, are
	// always close-on-exec, as in the standard library.
	ListenCloseOnExec

	// ListenReuseAddr sets SO_REUSEADDR before binding (LEV_OPT_REUSEABLE), so a restarted
	// server can bind while old connections linger in TIME_WAIT. Invalid for Unix sockets.
	ListenReuseAddr

	// ListenThreadSafe makes Enable, Disable, SetCallback, SetErrorCallback and Close safe to
	// call from any goroutine (LEV_OPT_THREADSAFE). A call from outside the loop goroutine
	// takes effect at once for the accept loop; the poller is updated on the loop.
	ListenThreadSafe

	// ListenDisabled creates the listener disabled (LEV_OPT_DISABLED); call Enable to start.
	ListenDisabled

	// ListenDeferredAccept asks the kernel to report a connection only once the client has
	// sent data (TCP_DEFER_ACCEPT on Linux; LEV_OPT_DEFERRED_ACCEPT). Use it only for
	// protocols where the client speaks first. Listen fails with an error matching
	// errors.ErrUnsupported where the system has no equivalent.
	ListenDeferredAccept

	// ListenReusePort sets SO_REUSEPORT (LEV_OPT_REUSEABLE_PORT), so several listeners —
	// one per loop — can share a port and let the kernel spread connections (Linux,
	// FreeBSD, DragonFly; on macOS and the other BSDs the last socket gets them all).
	// Invalid for Unix sockets.
	ListenReusePort

	// ListenIPv6Only sets IPV6_V6ONLY: an IPv6 listener accepts only IPv6 connections
	// (LEV_OPT_BIND_IPV6ONLY). Invalid for IPv4 and Unix sockets.
	ListenIPv6Only

	// ListenDualStack clears IPV6_V6ONLY: an IPv6 listener also accepts IPv4 connections as
	// IPv4-mapped addresses (LEV_OPT_BIND_IPV4_AND_IPV6). Invalid for IPv4 and Unix sockets.
	ListenDualStack

	// ListenNagle leaves Nagle's algorithm on for accepted TCP connections. By default, as
	// in Go's net package, the listener sets TCP_NODELAY on every accepted TCP socket before
	// the [AcceptFunc] runs, so small writes leave at once instead of waiting for the
	// peer's (possibly delayed) acknowledgement. Unix sockets are never touched.
	ListenNagle
)

// ListenerOptions configure [Listen] and [NewListener]. The zero value is ready to use: an
// enabled listener with the system's default backlog whose accepted sockets are
// non-blocking and close-on-exec. Passed by value; the listener keeps its own copy. A
// plain value: safe for concurrent use.
type ListenerOptions struct {
	// Flags select libevent's listener options.
	Flags ListenFlags

	// Backlog is passed to listen(2). For Listen, 0 or a negative value means the default
	// (4096, clamped by the kernel). For NewListener, as in libevent's evconnlistener_new, 0
	// leaves the socket as it is (it must already be listening), a negative value calls
	// listen with the default, and a positive one calls listen with it.
	Backlog int

	// MaxAcceptBackoff caps the pause after an accept error such as EMFILE: the listener
	// stops polling for a while (5ms, doubling) instead of spinning on a socket that stays
	// readable. 0 means one second.
	MaxAcceptBackoff time.Duration
}

// AcceptFunc receives each accepted connection: a connected, non-blocking (unless
// ListenBlocking), close-on-exec socket now owned by the callee, and the peer's address
// (a *net.TCPAddr or *net.UnixAddr). Hand fd to [New] with bufferevent.CloseOnFree, or
// close it. It runs on the loop goroutine (Loop-confined), so it may call any Listener
// method, Close included.
type AcceptFunc func(l *Listener, fd int, peer net.Addr)

// ErrorFunc receives an accept error that is not a transient one (for example EMFILE, or
// EINVAL on a socket that is not listening). It runs on the loop goroutine
// (Loop-confined); it may Disable or Close the listener. If the listener stays enabled it
// pauses before the next attempt, so a persistent error does not spin the loop.
type ErrorFunc func(l *Listener, err error)

// Listener accepts connections on a listening socket, libevent's evconnlistener. Create it
// with [Listen] or [NewListener]. Its methods are loop-confined unless the listener was
// created with ListenThreadSafe; every callback runs on the loop goroutine.
type Listener struct {
	base    *eventbase.Base
	fd      int
	flags   ListenFlags
	ev      *eventbase.Event // persistent read event on fd
	pause   *eventbase.Event // timer ending an accept pause
	maxWait time.Duration
	syncFn  func()   // l.syncOnLoop, allocated once
	unlink  string   // Unix socket path to remove on Close
	addr    net.Addr // bound address (nil if unreadable)
	network string   // "tcp" or "unix", for errors

	mu sync.Mutex // held around state changes when ListenThreadSafe; see lock
	// Guarded by mu when ListenThreadSafe; loop-owned otherwise.
	cb        AcceptFunc
	errcb     ErrorFunc
	enabled   bool // user intent
	polling   bool // ev is added to the poller
	paused    bool // in an accept-error pause
	closed    bool
	running   int           // accept loop depth: teardown waits for it
	backoff   time.Duration // current pause length
	tornDown  bool
	teardownE error
}

func (l *Listener) lock() {
	if l.flags&ListenThreadSafe != 0 {
		l.mu.Lock()
	}
}

func (l *Listener) unlock() {
	if l.flags&ListenThreadSafe != 0 {
		l.mu.Unlock()
	}
}

const minAcceptBackoff = 5 * time.Millisecond

// Listen creates a socket for network ("tcp", "tcp4", "tcp6" or "unix"), binds it to
// address, listens, and returns an enabled listener (unless ListenDisabled) that calls cb
// for each connection, libevent's evconnlistener_new_bind. For TCP, an empty or
// unspecified host on "tcp" listens dual-stack on IPv6 where available, "tcp6" is
// IPv6-only unless ListenDualStack is set, and a host name is resolved (the first IPv4
// address wins for "tcp", like net.Listen). A Unix socket's file is removed by Close.
// Listen always owns the socket (ListenCloseOnFree is implied).
//
// Loop-confined: call it from the loop goroutine, or before the loop runs.
func Listen(base *eventbase.Base, network, address string, cb AcceptFunc, opts ListenerOptions) (*Listener, error) {
	if base == nil {
		return nil, ErrNilBase
	}
	opts.Flags |= ListenCloseOnFree
	if err := checkListenFlags(network, opts.Flags); err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: err}
	}
	backlog := opts.Backlog
	if backlog <= 0 {
		backlog = defaultBacklog
	}
	fd, unlinkPath, err := listenSocket(network, address, opts.Flags, backlog)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: err}
	}
	l, err := newListener(base, fd, cb, opts)
	if err != nil {
		closeFD(fd)
		if unlinkPath != "" {
			removeSocketFile(unlinkPath)
		}
		return nil, err
	}
	l.unlink = unlinkPath
	return l, nil
}

// NewListener wraps an existing socket, libevent's evconnlistener_new. See
// [ListenerOptions.Backlog] for when it calls listen(2). The socket is made non-blocking;
// with ListenCloseOnFree, Close closes it, otherwise it stays the caller's.
//
// Loop-confined: call it from the loop goroutine, or before the loop runs.
func NewListener(base *eventbase.Base, fd int, cb AcceptFunc, opts ListenerOptions) (*Listener, error) {
	if base == nil {
		return nil, ErrNilBase
	}
	if fd < 0 {
		return nil, fmt.Errorf("socket: invalid listener descriptor %d", fd)
	}
	if !supported {
		return nil, ErrUnsupported
	}
	if err := setNonblock(fd); err != nil {
		return nil, err
	}
	if opts.Flags&ListenCloseOnExec != 0 {
		if err := setCloexec(fd); err != nil {
			return nil, err
		}
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

func newListener(base *eventbase.Base, fd int, cb AcceptFunc, opts ListenerOptions) (*Listener, error) {
	l := &Listener{base: base, fd: fd, flags: opts.Flags, cb: cb, maxWait: opts.MaxAcceptBackoff}
	l.addr = localAddr(fd)
	l.network = "tcp"
	if _, ok := l.addr.(*net.UnixAddr); ok {
		l.network = "unix"
	}
	if l.maxWait <= 0 {
		l.maxWait = time.Second
	}
	ev, err := base.NewEvent(fd, eventbase.Read|eventbase.Persist, l.onReadable)
	if err != nil {
		return nil, err
	}
	pause, err := base.NewTimer(l.onPauseEnd)
	l.syncFn = l.syncOnLoop
	if err != nil {
		ev.Free()
		return nil, err
	}
	l.ev, l.pause = ev, pause
	if opts.Flags&ListenDisabled == 0 {
		l.enabled = true
		if err := l.syncPoll(); err != nil {
			ev.Free()
			pause.Free()
			return nil, err
		}
	}
	return l, nil
}

// syncPoll makes the poller registration match the state: polling while enabled, with a
// callback, not paused and not closed. Called with the lock held, on the loop goroutine
// (or, for ListenThreadSafe, posted there).
func (l *Listener) syncPoll() error {
	want := l.enabled && l.cb != nil && !l.paused && !l.closed
	if want == l.polling {
		return nil
	}
	l.polling = want
	if want {
		return l.ev.Add()
	}
	return l.ev.Del()
}

// apply runs fn on the state under the lock. A plain listener is loop-confined, so the
// poller is updated at once. A ListenThreadSafe listener may be called from any goroutine:
// the state change is immediately visible to the accept loop (which checks it after every
// callback), and the poller update and teardown are posted to the loop goroutine.
func (l *Listener) apply(fn func()) error {
	l.lock()
	fn()
	if l.flags&ListenThreadSafe == 0 {
		err := l.syncPoll()
		if l.closed && l.running == 0 {
			err = errors.Join(err, l.teardown())
		}
		return err
	}
	l.unlock()
	if err := l.base.RunInLoop(l.syncFn); err != nil {
		// The base is closed: no loop will run again, so nothing else touches the
		// listener's events; finish here rather than leak the socket.
		l.syncOnLoop()
	}
	return nil
}

// syncOnLoop is apply's posted half for ListenThreadSafe listeners.
func (l *Listener) syncOnLoop() {
	l.lock()
	defer l.unlock()
	if l.tornDown {
		return
	}
	l.syncPoll()
	if l.closed && l.running == 0 {
		l.teardown()
	}
}

// Enable starts (or resumes) accepting connections, evconnlistener_enable. Without an
// accept callback it only records the intent; SetCallback then starts accepting.
//
// Loop-confined unless created with ListenThreadSafe.
func (l *Listener) Enable() error {
	var err error
	if e := l.apply(func() {
		if l.closed {
			err = ErrClosed
			return
		}
		l.enabled = true
	}); err == nil {
		err = e
	}
	return err
}

// Disable stops accepting, evconnlistener_disable. Called from the accept callback it stops
// the accept loop at once: connections still queued stay in the kernel's backlog until
// Enable.
//
// Loop-confined unless created with ListenThreadSafe.
func (l *Listener) Disable() error {
	var err error
	if e := l.apply(func() {
		if l.closed {
			err = ErrClosed
			return
		}
		l.enabled = false
	}); err == nil {
		err = e
	}
	return err
}

// Enabled reports whether the listener is enabled.
//
// Loop-confined unless created with ListenThreadSafe.
func (l *Listener) Enabled() bool {
	l.lock()
	defer l.unlock()
	return l.enabled && !l.closed
}

// SetCallback replaces the accept callback, evconnlistener_set_cb. A nil callback stops
// polling; connections that arrive meanwhile wait in the backlog. If the listener is
// enabled and had no callback, it starts accepting.
//
// Loop-confined unless created with ListenThreadSafe.
func (l *Listener) SetCallback(cb AcceptFunc) {
	l.apply(func() { l.cb = cb })
}

// SetErrorCallback sets the callback for accept errors, evconnlistener_set_error_cb.
// Without one, an accept error only pauses the listener (see [ErrorFunc]).
//
// Loop-confined unless created with ListenThreadSafe.
func (l *Listener) SetErrorCallback(cb ErrorFunc) {
	l.lock()
	l.errcb = cb
	l.unlock()
}

// FD returns the listening socket, evconnlistener_get_fd.
//
// Safe for concurrent use.
func (l *Listener) FD() int { return l.fd }

// Base returns the base the listener runs on, evconnlistener_get_base.
//
// Safe for concurrent use.
func (l *Listener) Base() *eventbase.Base { return l.base }

// Addr returns the address the socket was bound to when the listener was created (a
// *net.TCPAddr or *net.UnixAddr), or nil if it could not be read.
//
// Safe for concurrent use.
func (l *Listener) Addr() net.Addr { return l.addr }

// Close stops the listener and releases it, evconnlistener_free: no callback runs after
// it returns (on the loop goroutine), and with ListenCloseOnFree (always, for Listen) the
// socket is closed and a Unix socket's file removed. It may be called from inside the
// listener's own callbacks. A second Close returns ErrClosed.
//
// Loop-confined unless created with ListenThreadSafe; from another goroutine, the socket
// is closed on the loop.
func (l *Listener) Close() error {
	var err error
	if e := l.apply(func() {
		if l.closed {
			err = ErrClosed
			return
		}
		l.closed = true
		l.cb, l.errcb = nil, nil
	}); err == nil {
		err = e
	}
	return err
}

// teardown releases the events and, with ListenCloseOnFree, the socket. Lock held.
func (l *Listener) teardown() error {
	if l.tornDown {
		return l.teardownE
	}
	l.tornDown = true
	l.ev.Free()
	l.pause.Free()
	var err error
	if l.flags&ListenCloseOnFree != 0 {
		err = closeFD(l.fd)
		if l.unlink != "" {
			removeSocketFile(l.unlink)
		}
	}
	l.teardownE = err
	return err
}

// onReadable is the accept loop: accept until the socket has nothing more, the callback
// disables or closes the listener, or accept fails.
func (l *Listener) onReadable(int, eventbase.What) {
	l.lock()
	l.running++
	defer func() {
		l.running--
		if l.closed && l.running == 0 {
			l.teardown()
		}
		l.unlock()
	}()
	for l.polling && l.enabled && !l.closed {
		fd, peer, err := acceptConn(l.fd, l.flags&ListenBlocking != 0)
		if err != nil {
			if isAcceptRetriable(err) {
				return
			}
			l.acceptFailed(err)
			return
		}
		if peer == nil {
			// Some kernels report a connection without an address (nmap probes);
			// libevent drops those.
			closeFD(fd)
			continue
		}
		if _, tcp := peer.(*net.TCPAddr); tcp && l.flags&ListenNagle == 0 {
			// As net does; a failure means the connection is already gone, which its
			// first read or write reports.
			_ = setNoDelay(fd, true)
		}
		l.backoff = 0
		cb := l.cb
		if cb == nil {
			closeFD(fd)
			return
		}
		l.unlock()
		cb(l, fd, peer)
		l.lock()
	}
}

// acceptFailed reports a non-transient accept error and pauses the listener if it stays
// enabled. Lock held; released around the user's callback.
func (l *Listener) acceptFailed(err error) {
	err = &net.OpError{Op: "accept", Net: l.network, Addr: l.addr, Err: err}
	if errcb := l.errcb; errcb != nil {
		l.unlock()
		errcb(l, err)
		l.lock()
	}
	if l.closed || !l.enabled || l.paused {
		return
	}
	// Stay enabled but stop polling for a while: a listener at EMFILE stays readable, and
	// polling it again at once would spin the loop.
	if l.backoff == 0 {
		l.backoff = minAcceptBackoff
	} else if l.backoff *= 2; l.backoff > l.maxWait {
		l.backoff = l.maxWait
	}
	l.paused = true
	l.syncPoll()
	l.pause.AddTimeout(l.backoff)
}

// onPauseEnd resumes polling after an accept-error pause.
func (l *Listener) onPauseEnd() {
	l.lock()
	defer l.unlock()
	if !l.paused || l.tornDown {
		return
	}
	l.paused = false
	l.syncPoll()
}
