//go:build linux

package eventbase

import (
	"os"

	"golang.org/x/sys/unix"
)

// newWakeFDs returns the read and write ends of a wake-up channel: one
// eventfd on Linux.
func newWakeFDs() (r, w int, err error) {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return -1, -1, os.NewSyscallError("eventfd", err)
	}
	return fd, fd, nil
}
