//go:build unix && !linux

package eventbase

import (
	"os"

	"golang.org/x/sys/unix"
)

// newWakeFDs returns the read and write ends of a wake-up channel: a
// non-blocking pipe.
func newWakeFDs() (r, w int, err error) {
	var p [2]int
	if err := unix.Pipe(p[:]); err != nil {
		return -1, -1, os.NewSyscallError("pipe", err)
	}
	for _, fd := range p {
		unix.CloseOnExec(fd)
		if err := unix.SetNonblock(fd, true); err != nil {
			unix.Close(p[0])
			unix.Close(p[1])
			return -1, -1, os.NewSyscallError("fcntl", err)
		}
	}
	return p[0], p[1], nil
}
