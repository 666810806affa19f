//go:build darwin || netbsd || openbsd

package socket

import (
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// newSocket creates a non-blocking, close-on-exec stream socket. These systems lack
// SOCK_NONBLOCK/SOCK_CLOEXEC, so the descriptor is created under syscall.ForkLock and
// adjusted before a concurrent fork could inherit it.
func newSocket(family int) (int, error) {
	syscall.ForkLock.RLock()
	fd, err := unix.Socket(family, unix.SOCK_STREAM, 0)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("fcntl", err)
	}
	return fd, nil
}

// acceptConn accepts one connection; the new socket is close-on-exec, and non-blocking
// unless blocking is set.
func acceptConn(fd int, blocking bool) (int, net.Addr, error) {
	syscall.ForkLock.RLock()
	nfd, sa, err := unix.Accept(fd)
	if err == nil {
		unix.CloseOnExec(nfd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, nil, os.NewSyscallError("accept", err)
	}
	if err := unix.SetNonblock(nfd, !blocking); err != nil {
		unix.Close(nfd)
		return -1, nil, os.NewSyscallError("fcntl", err)
	}
	return nfd, netAddrFromSockaddr(sa), nil
}
