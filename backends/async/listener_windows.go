//go:build windows

package async

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"
	"unsafe"

	"github.com/bufev/bufev/backends/async/internal/iocp"
	"github.com/bufev/bufev/eventbase"
	"golang.org/x/sys/windows"
)

// acceptSlots is how many AcceptEx operations a listener keeps in flight (libevent's
// IOCP listener keeps 4).
const acceptSlots = 4

const defaultBacklog = 4096

var (
	modws2        = windows.NewLazySystemDLL("ws2_32.dll")
	procIoctlSock = modws2.NewProc("ioctlsocket")
)

const fionbio = 0x8004667e

// Listener accepts connections with overlapped AcceptEx on the base's completion port
// (libevent's evconnlistener_iocp). Create it with Listen or NewListener. A Listener is
// loop-confined: call its methods on the loop goroutine (or before the loop runs);
// every callback runs there.
type Listener struct {
	bp      *basePort
	base    *eventbase.Base
	fd      int
	family  int
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
	deliver func()
	held    []heldConn
	heldQ   bool

	ops    [acceptSlots]*iocp.Op
	doneFn [acceptSlots]func(windows.Handle, windows.Sockaddr, error)
	nOps   int
	freed  bool
}

type heldConn struct {
	fd   int
	peer net.Addr
}

// Listen creates a listening TCP socket for network ("tcp", "tcp4" or "tcp6") and
// address and accepts on it with AcceptEx. Listen owns the socket (ListenCloseOnFree is
// implied). ListenReusePort is refused: Windows has no SO_REUSEPORT.
//
// Loop-confined: call it on the loop goroutine or before the loop runs.
func Listen(base *eventbase.Base, network, address string, cb AcceptFunc, opts ListenerOptions) (*Listener, error) {
	if base == nil {
		return nil, errors.New("async: nil base")
	}
	opts.Flags |= ListenCloseOnFree
	fd, err := listenSocket(network, address, opts)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: err}
	}
	l, err := newListener(base, fd, cb, opts)
	if err != nil {
		windows.Closesocket(windows.Handle(fd))
		return nil, err
	}
	return l, nil
}

// NewListener accepts with AcceptEx on an existing TCP socket (a SOCKET handle as an
// int). See ListenerOptions.Backlog for when it calls listen. The socket stays the
// caller's unless opts has ListenCloseOnFree.
//
// Loop-confined: call it on the loop goroutine or before the loop runs.
func NewListener(base *eventbase.Base, fd int, cb AcceptFunc, opts ListenerOptions) (*Listener, error) {
	if base == nil {
		return nil, errors.New("async: nil base")
	}
	if fd < 0 {
		return nil, fmt.Errorf("async: invalid listener descriptor %d", fd)
	}
	if opts.Backlog != 0 {
		b := opts.Backlog
		if b < 0 {
			b = defaultBacklog
		}
		if err := windows.Listen(windows.Handle(fd), b); err != nil {
			return nil, os.NewSyscallError("listen", err)
		}
	}
	return newListener(base, fd, cb, opts)
}

func listenSocket(network, address string, opts ListenerOptions) (int, error) {
	var sa windows.Sockaddr
	family := windows.AF_INET
	switch network {
	case "tcp", "tcp4", "tcp6":
		ta, err := net.ResolveTCPAddr(network, address)
		if err != nil {
			return -1, errors.Join(ErrAddress, err)
		}
		if ip4 := ta.IP.To4(); ip4 != nil && network != "tcp6" {
			a := &windows.SockaddrInet4{Port: ta.Port}
			copy(a.Addr[:], ip4)
			sa = a
		} else if ta.IP == nil && network != "tcp6" {
			sa = &windows.SockaddrInet4{Port: ta.Port}
		} else {
			a := &windows.SockaddrInet6{Port: ta.Port}
			copy(a.Addr[:], ta.IP.To16())
			sa, family = a, windows.AF_INET6
		}
	default:
		return -1, errors.Join(ErrAddress, net.UnknownNetworkError(network))
	}
	if opts.Flags&ListenReusePort != 0 {
		return -1, fmt.Errorf("async: SO_REUSEPORT does not exist on Windows: %w", ErrUnsupported)
	}
	s, err := windows.WSASocket(int32(family), windows.SOCK_STREAM, windows.IPPROTO_TCP, nil, 0,
		windows.WSA_FLAG_OVERLAPPED|windows.WSA_FLAG_NO_HANDLE_INHERIT)
	if err != nil {
		return -1, os.NewSyscallError("WSASocket", err)
	}
	fail := func(op string, err error) (int, error) {
		windows.Closesocket(s)
		return -1, os.NewSyscallError(op, err)
	}
	if opts.Flags&ListenReuseAddr != 0 {
		if err := windows.SetsockoptInt(s, windows.SOL_SOCKET, windows.SO_REUSEADDR, 1); err != nil {
			return fail("setsockopt", err)
		}
	}
	if err := windows.Bind(s, sa); err != nil {
		return fail("bind", err)
	}
	backlog := opts.Backlog
	if backlog <= 0 {
		backlog = defaultBacklog
	}
	if err := windows.Listen(s, backlog); err != nil {
		return fail("listen", err)
	}
	return int(s), nil
}

func newListener(base *eventbase.Base, fd int, cb AcceptFunc, opts ListenerOptions) (*Listener, error) {
	bp, err := acquirePort(base)
	if err != nil {
		return nil, err
	}
	if err := bp.p.Associate(windows.Handle(fd)); err != nil {
		bp.release()
		return nil, err
	}
	l := &Listener{bp: bp, base: base, fd: fd, family: windows.AF_INET, flags: opts.Flags, cb: cb, maxWait: opts.MaxAcceptBackoff}
	if l.maxWait <= 0 {
		l.maxWait = time.Second
	}
	if sa, err := windows.Getsockname(windows.Handle(fd)); err == nil {
		l.addr = netAddr(sa)
		if _, ok := sa.(*windows.SockaddrInet6); ok {
			l.family = windows.AF_INET6
		}
	}
	l.pause, err = base.NewTimer(l.onPauseEnd)
	if err != nil {
		bp.p.Forget(windows.Handle(fd))
		bp.release()
		return nil, err
	}
	l.deliver = l.deliverHeld
	for i := range l.doneFn {
		i := i
		l.doneFn[i] = func(s windows.Handle, peer windows.Sockaddr, err error) { l.complete(i, s, peer, err) }
	}
	if opts.Flags&ListenDisabled == 0 {
		l.enabled = true
		l.arm()
	}
	return l, nil
}

// arm keeps every accept slot in flight while the listener is enabled with a callback.
func (l *Listener) arm() {
	if !l.enabled || l.cb == nil || l.closed || l.paused {
		return
	}
	for i := range l.ops {
		if l.ops[i] != nil {
			continue
		}
		op, err := l.bp.p.Accept(windows.Handle(l.fd), l.family, l.doneFn[i])
		if err != nil {
			l.acceptFailed(err)
			return
		}
		l.ops[i] = op
		l.nOps++
	}
}

func (l *Listener) cancelAll() {
	for _, op := range l.ops {
		if op != nil {
			_ = l.bp.p.CancelOp(op)
		}
	}
}

func (l *Listener) complete(i int, s windows.Handle, peer windows.Sockaddr, err error) {
	l.nOps--
	l.ops[i] = nil
	if err == nil {
		if l.closed {
			windows.Closesocket(s)
			l.maybeForget()
			return
		}
		if l.flags&ListenBlocking == 0 {
			one := uint32(1)
			procIoctlSock.Call(uintptr(s), fionbio, uintptr(unsafe.Pointer(&one)))
		}
		fd := int(s)
		var addr net.Addr
		if peer != nil {
			addr = netAddr(peer)
		}
		l.backoff = 0
		if !l.enabled || l.cb == nil || len(l.held) > 0 {
			l.held = append(l.held, heldConn{fd, addr})
			return
		}
		l.cb(l, fd, addr)
		l.arm()
		return
	}
	if l.closed {
		l.maybeForget()
		return
	}
	if errors.Is(err, iocp.ErrCanceled) || errors.Is(err, iocp.ErrClosed) {
		l.arm()
		return
	}
	l.acceptFailed(err)
}

func (l *Listener) acceptFailed(err error) {
	if l.errcb != nil {
		l.errcb(l, &net.OpError{Op: "accept", Net: "tcp", Addr: l.addr, Err: err})
	}
	if l.closed || !l.enabled {
		return
	}
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

func (l *Listener) deliverHeld() {
	l.heldQ = false
	for len(l.held) > 0 && l.enabled && l.cb != nil && !l.closed {
		h := l.held[0]
		l.held = l.held[1:]
		l.cb(l, h.fd, h.peer)
	}
	l.arm()
}

func (l *Listener) maybeForget() {
	if !l.closed || l.nOps > 0 || l.freed {
		return
	}
	l.freed = true
	l.bp.release()
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

// Disable stops accepting (evconnlistener_disable): the AcceptEx operations in flight
// are canceled and further connections wait in the backlog. One that an operation had
// already taken is kept and delivered on Enable. Loop-confined.
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

// FD returns the listening socket handle. Safe for concurrent use.
func (l *Listener) FD() int { return l.fd }

// Addr returns the bound address. Safe for concurrent use.
func (l *Listener) Addr() net.Addr { return l.addr }

// Base returns the listener's base. Safe for concurrent use.
func (l *Listener) Base() *eventbase.Base { return l.base }

// Close stops the listener (evconnlistener_free): the accepts in flight are canceled
// (a socket accepted by one that won the race is closed), connections held while
// disabled are closed, the socket is closed with ListenCloseOnFree, and no callback
// runs afterwards. A second Close returns ErrClosed. Loop-confined.
func (l *Listener) Close() error {
	if l.closed {
		return ErrClosed
	}
	l.closed = true
	l.cb, l.errcb = nil, nil
	l.cancelAll()
	l.pause.Free()
	for _, h := range l.held {
		windows.Closesocket(windows.Handle(h.fd))
	}
	l.held = nil
	var err error
	l.bp.p.Forget(windows.Handle(l.fd))
	if l.flags&ListenCloseOnFree != 0 {
		if e := windows.Closesocket(windows.Handle(l.fd)); e != nil {
			err = os.NewSyscallError("closesocket", e)
		}
	}
	l.maybeForget()
	return err
}
