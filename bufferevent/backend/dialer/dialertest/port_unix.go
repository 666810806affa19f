//go:build unix

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
	syscall.ForkLock.RLock() // no child inherits the descriptor before CloseOnExec
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	return boundLoopback(t,
		func(sa syscall.Sockaddr) error { return syscall.Bind(fd, sa) },
		func() (syscall.Sockaddr, error) { return syscall.Getsockname(fd) })
}

// errRefused is the errno of a refused connect.
const errRefused = syscall.ECONNREFUSED
