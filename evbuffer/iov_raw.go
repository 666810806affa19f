//go:build linux || freebsd

package evbuffer

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

func fillIovecs(iov *iovecs, nv int) {
	for i := 0; i < nv; i++ {
		b := iov.bs[i]
		iov.v[i].Base = unsafe.SliceData(b)
		iov.v[i].SetLen(len(b))
	}
}

func readv(fd int, iov *iovecs, nv int) (int, error) {
	fillIovecs(iov, nv)
	n, _, e := unix.Syscall(unix.SYS_READV, uintptr(fd), uintptr(unsafe.Pointer(&iov.v[0])), uintptr(nv))
	clearIovecs(iov, nv)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func writev(fd int, iov *iovecs, nv int) (int, error) {
	fillIovecs(iov, nv)
	n, _, e := unix.Syscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov.v[0])), uintptr(nv))
	clearIovecs(iov, nv)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func clearIovecs(iov *iovecs, nv int) {
	for i := 0; i < nv; i++ {
		iov.v[i] = unix.Iovec{}
	}
}
