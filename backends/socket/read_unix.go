//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package socket

import (
	"os"

	"golang.org/x/sys/unix"
)

// readFD is read(2), retried on EINTR.
func readFD(fd int, p []byte) (int, error) {
	for {
		n, err := unix.Read(fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, os.NewSyscallError("read", err)
		}
		return n, nil
	}
}
