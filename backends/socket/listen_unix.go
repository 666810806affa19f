//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package socket

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"

	"golang.org/x/sys/unix"
)

// checkListenFlags rejects option combinations no socket of the network can honour.
func checkListenFlags(network string, f ListenFlags) error {
	switch network {
	case "unix":
		if f&(ListenReuseAddr|ListenReusePort) != 0 {
			// SO_REUSEADDR/SO_REUSEPORT are accepted by setsockopt on AF_UNIX but mean
			// nothing there; libevent refuses them rather than let bind fail confusingly.
			return ErrOption
		}
		if f&(ListenIPv6Only|ListenDualStack|ListenDeferredAccept) != 0 {
			return ErrOption
		}
	case "tcp", "tcp4", "tcp6":
		if f&ListenIPv6Only != 0 && f&ListenDualStack != 0 {
			return ErrOption
		}
		if network == "tcp4" && f&(ListenIPv6Only|ListenDualStack) != 0 {
			return ErrOption
		}
	default:
		return net.UnknownNetworkError(network)
	}
	return nil
}

// listenSocket creates, configures, binds and listens; it returns the socket and, for a
// Unix socket bound to a file, the path Close removes.
func listenSocket(network, address string, f ListenFlags, backlog int) (fd int, unlinkPath string, err error) {
	var sa sockaddr
	if network == "unix" {
		sa = sockaddr{unix.AF_UNIX, &unix.SockaddrUnix{Name: address}}
		if address != "" && address[0] != '@' {
			unlinkPath = address
		}
	} else {
		sa, err = resolveListenAddr(network, address, f)
		if err != nil {
			return -1, "", err
		}
	}
	fd, err = newSocket(sa.family)
	if err != nil && sa.family == unix.AF_INET6 && network == "tcp" && isWildcard(sa) {
		// No IPv6 on this host: fall back to the IPv4 wildcard.
		sa = sockaddr{unix.AF_INET, &unix.SockaddrInet4{Port: sa.sa.(*unix.SockaddrInet6).Port}}
		fd, err = newSocket(sa.family)
	}
	if err != nil {
		return -1, "", err
	}
	if err := configureListenSocket(fd, network, sa, f); err != nil {
		unix.Close(fd)
		return -1, "", err
	}
	if err := unix.Bind(fd, sa.sa); err != nil {
		unix.Close(fd)
		return -1, "", os.NewSyscallError("bind", err)
	}
	if err := listenFD(fd, backlog); err != nil {
		unix.Close(fd)
		if unlinkPath != "" {
			removeSocketFile(unlinkPath)
		}
		return -1, "", err
	}
	return fd, unlinkPath, nil
}

func isWildcard(sa sockaddr) bool {
	if s, ok := sa.sa.(*unix.SockaddrInet6); ok {
		return s.Addr == [16]byte{}
	}
	return false
}

// resolveListenAddr turns host:port into a socket address. An empty or unspecified host on
// "tcp" means the IPv6 wildcard (dual stack); a name is resolved, preferring IPv4 for
// "tcp" like net.Listen.
func resolveListenAddr(network, address string, f ListenFlags) (sockaddr, error) {
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return sockaddr{}, errors.Join(ErrAddress, err)
	}
	port, err := net.LookupPort(network, portStr)
	if err != nil {
		return sockaddr{}, errors.Join(ErrAddress, err)
	}
	var ip netip.Addr
	switch {
	case host == "":
		switch network {
		case "tcp4":
			ip = netip.IPv4Unspecified()
		default:
			ip = netip.IPv6Unspecified()
		}
	default:
		if a, err := netip.ParseAddr(host); err == nil {
			ip = a
			break
		}
		want := map[string]string{"tcp": "ip", "tcp4": "ip4", "tcp6": "ip6"}[network]
		ips, err := net.DefaultResolver.LookupNetIP(context.Background(), want, host)
		if err != nil {
			return sockaddr{}, err
		}
		ip = ips[0]
		if network == "tcp" {
			for _, a := range ips {
				if a.Is4() || a.Is4In6() {
					ip = a
					break
				}
			}
		}
	}
	if network == "tcp4" && !(ip.Is4() || ip.Is4In6()) {
		return sockaddr{}, errors.Join(ErrAddress, &net.AddrError{Err: "not an IPv4 address", Addr: host})
	}
	if network == "tcp6" && (ip.Is4() || ip.Is4In6()) {
		return sockaddr{}, errors.Join(ErrAddress, &net.AddrError{Err: "not an IPv6 address", Addr: host})
	}
	if network == "tcp" && ip == netip.IPv4Unspecified() && f&ListenIPv6Only == 0 {
		// "0.0.0.0" on "tcp" is the dual-stack wildcard in Go's net package too.
		ip = netip.IPv6Unspecified()
	}
	return sockaddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port)))
}

// configureListenSocket applies the listener flags before bind.
func configureListenSocket(fd int, network string, sa sockaddr, f ListenFlags) error {
	if f&ListenReuseAddr != 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
	}
	if f&ListenReusePort != 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
	}
	if f&ListenDeferredAccept != 0 {
		if err := setDeferAccept(fd); err != nil {
			return err
		}
	}
	if sa.family == unix.AF_INET6 {
		// Go's convention: "tcp6" is IPv6-only, "tcp" dual-stack; the flags override it.
		v6only := network == "tcp6"
		if f&ListenIPv6Only != 0 {
			v6only = true
		}
		if f&ListenDualStack != 0 {
			v6only = false
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, boolInt(v6only)); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
	} else if sa.family == unix.AF_INET && f&(ListenIPv6Only|ListenDualStack) != 0 {
		return ErrOption
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// listenFD calls listen(2).
func listenFD(fd, backlog int) error {
	if err := unix.Listen(fd, backlog); err != nil {
		return os.NewSyscallError("listen", err)
	}
	return nil
}

// removeSocketFile removes a Unix socket's file, ignoring a file already gone.
func removeSocketFile(path string) {
	os.Remove(path)
}
