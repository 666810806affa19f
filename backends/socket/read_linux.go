//go:build linux

package socket

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// readFD is read(2) on a non-blocking socket, retried on EINTR. It is a raw system call:
// a non-blocking read never blocks, so the scheduler need not be told (no
// entersyscall/exitsyscall pair, about 60 ns per read).
func readFD(fd int, p []byte) (int, error) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	for {
		n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(ptr), uintptr(len(p)))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, os.NewSyscallError("read", e)
		}
		return int(n), nil
	}
}
