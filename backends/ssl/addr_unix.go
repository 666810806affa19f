//go:build unix

package ssl

import (
	"net"
	"syscall"
)

// sockAddrs returns the local and remote addresses of the socket fd.
func sockAddrs(fd int) (local, remote net.Addr) {
	if sa, err := syscall.Getsockname(fd); err == nil {
		local = toAddr(sa)
	}
	if sa, err := syscall.Getpeername(fd); err == nil {
		remote = toAddr(sa)
	}
	return local, remote
}

func toAddr(sa syscall.Sockaddr) net.Addr {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]).To16(), Port: a.Port}
	case *syscall.SockaddrInet6:
		ip := make(net.IP, net.IPv6len)
		copy(ip, a.Addr[:])
		return &net.TCPAddr{IP: ip, Port: a.Port}
	case *syscall.SockaddrUnix:
		return &net.UnixAddr{Name: a.Name, Net: "unix"}
	}
	return nil
}
