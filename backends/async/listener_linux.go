//go:build linux

package async

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"github.com/bufev/bufev/backends/async/internal/uring"
	"github.com/bufev/bufev/eventbase"
	"golang.org/x/sys/unix"
)

// Listener accepts connections with io_uring accept operations (libevent's IOCP
// listener, evconnlistener_iocp). Create it with Listen or NewListener. A Listener is
// loop-confined: call its methods on the loop goroutine (or before the loop runs);
// every callback runs there.
type Listener struct {
	listenerState
	lr     *loopRing
	id     uint64
	unlink string
	slots  [acceptSlots]acceptSlot
}

// acceptSlot is one accept operation kept in flight. It collects the peer address with
// the accept, so no getpeername(2) follows (a multishot accept would need one per
// connection).
type acceptSlot struct {
	addr     uring.AcceptAddr
	inFlight bool
	cancel   bool
}

// Listen creates a listening socket for network ("tcp", "tcp4", "tcp6" or "unix") and
// address and accepts on it with io_uring. Listen owns the socket (ListenCloseOnFree is
// implied); a Unix socket's file is removed by Close. ListenReuseAddr and ListenReusePort
// are refused for Unix sockets.
//
// Loop-confined: call it on the loop goroutine or before the loop runs.
func Listen(base *eventbase.Base, network, address string, cb AcceptFunc, opts ListenerOptions) (*Listener, error) {
	if base == nil {
		return nil, errors.New("async: nil base")
	}
	if err := Available(); err != nil {
		return nil, err
	}
	opts.Flags |= ListenCloseOnFree
	fd, unlinkPath, err := listenSocket(network, address, opts)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: err}
	}
	l, err := newListener(base, fd, cb, opts)
	if err != nil {
		unix.Close(fd)
		if unlinkPath != "" {
			os.Remove(unlinkPath)
		}
		return nil, err
	}
	l.unlink = unlinkPath
	return l, nil
}

func listenSocket(network, address string, opts ListenerOptions) (int, string, error) {
	var sa unix.Sockaddr
	family := unix.AF_INET
	switch network {
	case "tcp", "tcp4", "tcp6":
		ta, err := net.ResolveTCPAddr(network, address)
		if err != nil {
			return -1, "", errors.Join(ErrAddress, err)
		}
		if ip4 := ta.IP.To4(); ip4 != nil && network != "tcp6" {
			a := &unix.SockaddrInet4{Port: ta.Port}
			copy(a.Addr[:], ip4)
			sa = a
		} else if ta.IP == nil && network == "tcp4" {
			sa = &unix.SockaddrInet4{Port: ta.Port}
		} else {
			a := &unix.SockaddrInet6{Port: ta.Port}
			copy(a.Addr[:], ta.IP.To16())
			sa, family = a, unix.AF_INET6
		}
	case "unix":
		if opts.Flags&(ListenReuseAddr|ListenReusePort) != 0 {
			return -1, "", fmt.Errorf("async: SO_REUSEADDR/SO_REUSEPORT on a Unix socket: %w", ErrAddress)
		}
		sa, family = &unix.SockaddrUnix{Name: address}, unix.AF_UNIX
	default:
		return -1, "", errors.Join(ErrAddress, net.UnknownNetworkError(network))
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, "", os.NewSyscallError("socket", err)
	}
	fail := func(op string, err error) (int, string, error) {
		unix.Close(fd)
		return -1, "", os.NewSyscallError(op, err)
	}
	if opts.Flags&ListenReuseAddr != 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return fail("setsockopt", err)
		}
	}
	if opts.Flags&ListenReusePort != 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			return fail("setsockopt", err)
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	backlog := opts.Backlog
	if backlog <= 0 {
		backlog = defaultBacklog
	}
	if err := unix.Listen(fd, backlog); err != nil {
		return fail("listen", err)
	}
	unlinkPath := ""
	if family == unix.AF_UNIX && address != "" && address[0] != '@' {
		unlinkPath = address
	}
	return fd, unlinkPath, nil
}

func newListener(base *eventbase.Base, fd int, cb AcceptFunc, opts ListenerOptions) (*Listener, error) {
	lr, err := acquireRing(base)
	if err != nil {
		return nil, err
	}
	l := &Listener{lr: lr, listenerState: newListenerState(base, fd, cb, opts)}
	if sa, err := unix.Getsockname(fd); err == nil {
		l.addr = netAddr(sa)
	}
	l.pause, err = base.NewTimer(l.onPauseEnd)
	if err != nil {
		lr.release()
		return nil, err
	}
	l.deliver = l.deliverHeld
	l.id = lr.newID(l)
	if opts.Flags&ListenDisabled == 0 {
		l.enabled = true
		l.arm()
	}
	return l, nil
}

// arm keeps every accept slot in flight while the listener is enabled with a callback.
func (l *Listener) arm() {
	if !l.enabled || l.cb == nil || l.closed || l.paused || l.lr.closed {
		return
	}
	flags := unix.SOCK_NONBLOCK
	if l.flags&ListenBlocking != 0 {
		flags = 0
	}
	armed := false
	for i := range l.slots {
		s := &l.slots[i]
		if s.inFlight {
			continue
		}
		if err := l.lr.ring.PrepAcceptAddr(l.id<<kindBits|uint64(kindAccept+i), l.fd, flags, &s.addr); err != nil {
			break
		}
		s.inFlight, s.cancel = true, false
		l.nOps++
		armed = true
	}
	if armed {
		l.lr.schedule()
	}
}

// cancelAll cancels the accepts in flight.
func (l *Listener) cancelAll() {
	if l.lr.closed {
		return
	}
	any := false
	for i := range l.slots {
		s := &l.slots[i]
		if !s.inFlight || s.cancel {
			continue
		}
		if l.lr.ring.PrepCancel(l.id<<kindBits|uint64(kindCancelAccept+i), l.id<<kindBits|uint64(kindAccept+i), false) == nil {
			s.cancel = true
			l.nOps++
			any = true
		}
	}
	if any {
		l.lr.schedule()
	}
}

// complete implements owner.
func (l *Listener) complete(kind int, res int32, _ uint32) {
	l.nOps--
	if kind >= kindCancelAccept {
		l.maybeForget()
		return
	}
	s := &l.slots[kind-kindAccept]
	s.inFlight = false
	if res >= 0 {
		fd := int(res)
		if l.closed {
			unix.Close(fd)
			l.maybeForget()
			return
		}
		var peer net.Addr
		if sa, err := s.addr.Sockaddr(); err == nil {
			peer = netAddr(sa)
		}
		l.accepted(fd, peer)
		return
	}
	if l.closed {
		l.maybeForget()
		return
	}
	switch errno := syscall.Errno(-res); errno {
	case unix.ECANCELED, unix.EINTR, unix.EAGAIN, unix.ECONNABORTED:
		l.arm() // (re-arms only while enabled)
	default:
		l.acceptFailed(os.NewSyscallError("accept", errno))
	}
}

// listenFD calls listen(2) on a socket given to NewListener.
func listenFD(fd, backlog int) error {
	if err := unix.Listen(fd, backlog); err != nil {
		return os.NewSyscallError("listen", err)
	}
	return nil
}

// closeSocket closes an accepted or listening socket.
func closeSocket(fd int) error { return unix.Close(fd) }

// shutdown ends Close once the accepts are cancelled and the held connections closed:
// submit the cancellations, close the socket (ListenCloseOnFree) and give the ring
// back once the last completion is in.
func (l *Listener) shutdown() error {
	if !l.lr.closed {
		// The cancellations of accepts waiting for a connection take effect within
		// this submission; an accept that won the race delivers a descriptor that the
		// completion handler closes.
		l.lr.submit()
	}
	var err error
	if l.flags&ListenCloseOnFree != 0 {
		if e := unix.Close(l.fd); e != nil {
			err = os.NewSyscallError("close", e)
		}
		if l.unlink != "" {
			os.Remove(l.unlink)
		}
	}
	l.maybeForget()
	l.lr.release()
	if !l.lr.closed {
		l.lr.watch()
	}
	return err
}

func (l *Listener) network() string {
	if _, ok := l.addr.(*net.UnixAddr); ok {
		return "unix"
	}
	return "tcp"
}

func (l *Listener) maybeForget() {
	if !l.closed || l.nOps > 0 || l.freed {
		return
	}
	l.freed = true
	l.lr.forget(l.id)
}
