//go:build windows

package async

import (
	"errors"
	"fmt"
	"net"
	"os"
	"unsafe"

	"github.com/bufev/bufev/backends/async/internal/iocp"
	"github.com/bufev/bufev/eventbase"
	"golang.org/x/sys/windows"
)

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
	listenerState
	bp     *basePort
	family int
	ops    [acceptSlots]*iocp.Op
	doneFn [acceptSlots]func(windows.Handle, windows.Sockaddr, error)
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
	l := &Listener{bp: bp, family: windows.AF_INET, listenerState: newListenerState(base, fd, cb, opts)}
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
		var addr net.Addr
		if peer != nil {
			addr = netAddr(peer)
		}
		l.accepted(int(s), addr)
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

// listenFD calls listen on a socket given to NewListener.
func listenFD(fd, backlog int) error {
	if err := windows.Listen(windows.Handle(fd), backlog); err != nil {
		return os.NewSyscallError("listen", err)
	}
	return nil
}

// closeSocket closes an accepted or listening socket.
func closeSocket(fd int) error { return windows.Closesocket(windows.Handle(fd)) }

// network names the listener's network in errors: TCP only on Windows.
func (l *Listener) network() string { return "tcp" }

// shutdown ends Close once the accepts are cancelled and the held connections closed:
// close the socket (ListenCloseOnFree) and give the port back once the last
// completion is in.
func (l *Listener) shutdown() error {
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

func (l *Listener) maybeForget() {
	if !l.closed || l.nOps > 0 || l.freed {
		return
	}
	l.freed = true
	l.bp.release()
}
