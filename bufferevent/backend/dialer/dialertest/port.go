package dialertest

import (
	"errors"
	"net"
	"syscall"
	"testing"
)

// boundLoopback binds a socket to 127.0.0.1 with an ephemeral port and returns the
// address it got.
func boundLoopback(t testing.TB, bind func(syscall.Sockaddr) error, name func() (syscall.Sockaddr, error)) *net.TCPAddr {
	t.Helper()
	if err := bind(&syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := name()
	if err != nil {
		t.Fatal(err)
	}
	in4, ok := sa.(*syscall.SockaddrInet4)
	if !ok {
		t.Fatalf("getsockname gave %T; want an IPv4 address", sa)
	}
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: in4.Port}
}

// Refused reports whether err says the peer refused the connection: ECONNREFUSED on
// Unix systems, WSAECONNREFUSED on Windows, through any wrapping. Safe for concurrent use.
func Refused(err error) bool {
	return errors.Is(err, errRefused) || errors.Is(err, syscall.ECONNREFUSED)
}
