//go:build linux || freebsd || dragonfly

package socket

import (
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// newSocket creates a non-blocking, close-on-exec stream socket in one system call.
func newSocket(family int) (int, error) {
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	return fd, nil
}

// acceptConn accepts one connection with accept4(2); the new socket is close-on-exec, and
// non-blocking unless blocking is set.
func acceptConn(fd int, blocking bool) (int, net.Addr, error) {
	flags := unix.SOCK_CLOEXEC
	if !blocking {
		flags |= unix.SOCK_NONBLOCK
	}
	nfd, sa, err := unix.Accept4(fd, flags)
	if err != nil {
		return -1, nil, os.NewSyscallError("accept4", err)
	}
	return nfd, netAddrFromSockaddr(sa), nil
}
