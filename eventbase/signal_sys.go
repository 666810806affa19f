//go:build !plan9

package eventbase

import (
	"os"
	"syscall"
)

// validSignal reports whether sig can be watched: a signal number in range
// that the process may catch.
func validSignal(sig int) bool {
	if sig <= 0 || sig >= maxSignal {
		return false
	}
	s := syscall.Signal(sig)
	return s != sigKILL && s != sigSTOP
}

func osSignal(n int) os.Signal { return syscall.Signal(n) }

func signalNumber(s os.Signal) (int, bool) {
	n, ok := s.(syscall.Signal)
	return int(n), ok
}
