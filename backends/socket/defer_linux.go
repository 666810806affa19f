package socket

import (
	"os"

	"golang.org/x/sys/unix"
)

// setDeferAccept sets TCP_DEFER_ACCEPT: the kernel wakes the listener only once data
// arrives (or after the timeout in seconds, when the connection is passed on anyway).
func setDeferAccept(fd int) error {
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 1); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	return nil
}
