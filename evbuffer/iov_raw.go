//go:build linux || freebsd

package evbuffer

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// readv and writev call the kernel directly with the pooled iovec array:
// x/sys/unix.Readv and Writev allocate one for more than 8 extents.

func fillIovecs(s *ioScratch, nv int) {
	for i := 0; i < nv; i++ {
		b := s.bs[i]
		s.sys[i].Base = unsafe.SliceData(b)
		s.sys[i].SetLen(len(b))
	}
}

func clearIovecs(s *ioScratch, nv int) {
	for i := 0; i < nv; i++ {
		s.sys[i] = unix.Iovec{}
	}
}

func readv(fd int, s *ioScratch, nv int) (int, error) {
	fillIovecs(s, nv)
	n, _, e := unix.Syscall(unix.SYS_READV, uintptr(fd), uintptr(unsafe.Pointer(&s.sys[0])), uintptr(nv))
	clearIovecs(s, nv)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func writev(fd int, s *ioScratch, nv int) (int, error) {
	fillIovecs(s, nv)
	n, _, e := unix.Syscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&s.sys[0])), uintptr(nv))
	clearIovecs(s, nv)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
