package dialertest

import (
	"net"
	"syscall"
	"testing"
)

// ClosedPort returns a 127.0.0.1 address whose port is bound by a socket that does not
// listen, held until the test ends: a connect to it is refused, and no other test can
// take the port meanwhile. Safe for concurrent use.
func ClosedPort(t testing.TB) *net.TCPAddr {
	t.Helper()
	s, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, syscall.IPPROTO_TCP)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Closesocket(s) })
	return boundLoopback(t,
		func(sa syscall.Sockaddr) error { return syscall.Bind(s, sa) },
		func() (syscall.Sockaddr, error) { return syscall.Getsockname(s) })
}

// errRefused is the error code of a refused connect: WSAECONNREFUSED, which Windows
// reports where Unix systems say ECONNREFUSED.
const errRefused = syscall.Errno(10061)
