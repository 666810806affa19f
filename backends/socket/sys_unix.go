//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package socket

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// supported reports whether this platform has a socket implementation.
const supported = true

// defaultBacklog is passed to listen(2) when the caller gives none; the kernel clamps it
// to its own maximum (net.core.somaxconn on Linux, kern.ipc.somaxconn on the BSDs).
const defaultBacklog = 4096

// closeFD closes a descriptor this package owns.
func closeFD(fd int) error {
	if err := unix.Close(fd); err != nil {
		return os.NewSyscallError("close", err)
	}
	return nil
}

// sockaddr is a resolved socket address together with its family.
type sockaddr struct {
	family int
	sa     unix.Sockaddr
}

// sockaddrFromAddrPort converts an IP address and port. IPv4-mapped IPv6 addresses become
// AF_INET; zones name or number the interface of a link-local IPv6 address.
func sockaddrFromAddrPort(ap netip.AddrPort) (sockaddr, error) {
	ip := ap.Addr()
	if !ip.IsValid() {
		return sockaddr{}, ErrAddress
	}
	if ip.Is4() || ip.Is4In6() {
		return sockaddr{unix.AF_INET, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ip.Unmap().As4()}}, nil
	}
	sa := &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ip.As16()}
	if z := ip.Zone(); z != "" {
		if n, err := strconv.Atoi(z); err == nil {
			sa.ZoneId = uint32(n)
		} else if ifi, err := net.InterfaceByName(z); err == nil {
			sa.ZoneId = uint32(ifi.Index)
		} else {
			return sockaddr{}, errors.Join(ErrAddress, err)
		}
	}
	return sockaddr{unix.AF_INET6, sa}, nil
}

// sockaddrFromNetAddr converts a net.Addr: *net.TCPAddr, *net.UnixAddr, or any address
// whose Network is tcp, tcp4, tcp6 or unix and whose String is host:port or a path.
func sockaddrFromNetAddr(addr net.Addr) (sockaddr, error) {
	switch a := addr.(type) {
	case nil:
		return sockaddr{}, ErrNoAddress
	case *net.TCPAddr:
		if a == nil {
			return sockaddr{}, ErrNoAddress
		}
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			if len(a.IP) != 0 {
				return sockaddr{}, ErrAddress
			}
			ip = netip.IPv4Unspecified()
		}
		return sockaddrFromAddrPort(netip.AddrPortFrom(ip.WithZone(a.Zone), uint16(a.Port)))
	case *net.UnixAddr:
		if a == nil {
			return sockaddr{}, ErrNoAddress
		}
		if a.Net != "" && a.Net != "unix" {
			return sockaddr{}, ErrAddress
		}
		return sockaddr{unix.AF_UNIX, &unix.SockaddrUnix{Name: a.Name}}, nil
	}
	switch addr.Network() {
	case "tcp", "tcp4", "tcp6":
		ap, err := netip.ParseAddrPort(addr.String())
		if err != nil {
			return sockaddr{}, errors.Join(ErrAddress, err)
		}
		return sockaddrFromAddrPort(ap)
	case "unix":
		return sockaddr{unix.AF_UNIX, &unix.SockaddrUnix{Name: addr.String()}}, nil
	}
	return sockaddr{}, ErrAddress
}

// netAddrFromSockaddr converts back to a net.Addr (nil for unknown families).
func netAddrFromSockaddr(sa unix.Sockaddr) net.Addr {
	switch s := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IPv4(s.Addr[0], s.Addr[1], s.Addr[2], s.Addr[3]), Port: s.Port}
	case *unix.SockaddrInet6:
		a := &net.TCPAddr{IP: make(net.IP, net.IPv6len), Port: s.Port}
		copy(a.IP, s.Addr[:])
		if s.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(s.ZoneId)); err == nil {
				a.Zone = ifi.Name
			} else {
				a.Zone = strconv.Itoa(int(s.ZoneId))
			}
		}
		return a
	case *unix.SockaddrUnix:
		return &net.UnixAddr{Name: s.Name, Net: "unix"}
	}
	return nil
}

// localAddr and peerAddr return the socket's addresses, or nil.
func localAddr(fd int) net.Addr {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return nil
	}
	return netAddrFromSockaddr(sa)
}

func peerAddr(fd int) net.Addr {
	sa, err := unix.Getpeername(fd)
	if err != nil {
		return nil
	}
	return netAddrFromSockaddr(sa)
}

// connectResult classifies the outcome of a non-blocking connect(2).
type connectResult int

const (
	connectInProgress connectResult = iota // wait for writability, then check SO_ERROR
	connectDone                            // connected at once (BSD loopback)
	connectFailed                          // failed at once; the error says why
)

// startConnect issues a non-blocking connect on fd.
func startConnect(fd int, sa sockaddr) (connectResult, error) {
	err := unix.Connect(fd, sa.sa)
	switch err {
	case nil:
		return connectDone, nil
	case unix.EINPROGRESS, unix.EINTR, unix.EALREADY:
		return connectInProgress, nil
	}
	return connectFailed, os.NewSyscallError("connect", err)
}

// finishConnect checks a connecting socket after it became writable: done reports the
// connect finished; err is its failure.
func finishConnect(fd int) (done bool, err error) {
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return true, os.NewSyscallError("getsockopt", err)
	}
	switch e := syscall.Errno(v); e {
	case 0:
		// Writable with no pending error means connected. A socket that is writable but has
		// no peer failed and its error was already consumed (by a read, on some BSDs).
		if _, err := unix.Getpeername(fd); err == unix.ENOTCONN {
			return true, os.NewSyscallError("connect", syscall.ECONNREFUSED)
		}
		return true, nil
	case syscall.EINPROGRESS, syscall.EALREADY, syscall.EINTR:
		return false, nil
	default:
		return true, os.NewSyscallError("connect", e)
	}
}

// isTemporary reports a read/write/accept error after which the caller simply waits.
func isTemporary(err error) bool {
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK) ||
		errors.Is(err, syscall.EINTR)
}

// isAcceptRetriable reports accept(2) errors libevent treats as harmless: the pending
// connection went away or there is nothing to accept.
func isAcceptRetriable(err error) bool {
	return isTemporary(err) || errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPROTO)
}

// setNonblock and setCloexec adjust an adopted descriptor.
func setNonblock(fd int) error {
	if err := unix.SetNonblock(fd, true); err != nil {
		return os.NewSyscallError("fcntl", err)
	}
	return nil
}

func setCloexec(fd int) error {
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
		return os.NewSyscallError("fcntl", err)
	}
	return nil
}

// isStreamSocket reports whether fd is a stream socket.
func isStreamSocket(fd int) error {
	t, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return os.NewSyscallError("getsockopt", err)
	}
	if t != unix.SOCK_STREAM {
		return ErrNotStream
	}
	return nil
}

// dupFD duplicates fd as a close-on-exec descriptor.
func dupFD(fd int) (int, error) {
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("fcntl", err)
	}
	return nfd, nil
}

// afUnix is AF_UNIX, for the shared code.
const afUnix = unix.AF_UNIX

// setNoDelay sets or clears TCP_NODELAY.
func setNoDelay(fd int, on bool) error {
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, boolInt(on)); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	return nil
}

// shutdownWrite shuts down the write side of socket fd (shutdown(SHUT_WR)). A socket whose
// connection is already gone (ENOTCONN) is not an error here: its read side reports it.
func shutdownWrite(fd int) error {
	if err := unix.Shutdown(fd, unix.SHUT_WR); err != nil && err != unix.ENOTCONN {
		return os.NewSyscallError("shutdown", err)
	}
	return nil
}
