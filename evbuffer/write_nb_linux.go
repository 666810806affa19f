//go:build linux

package evbuffer

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sysWriteNB is write(2) on a descriptor the caller promises is non-blocking
// (FlagNonblockingFD), retried on EINTR. It is a raw system call: a
// non-blocking write never sleeps, so the scheduler need not be told.
func sysWriteNB(fd int, p []byte) (int, error) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	for {
		n, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(ptr), uintptr(len(p)))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, os.NewSyscallError("writev", e)
		}
		return int(n), nil
	}
}
