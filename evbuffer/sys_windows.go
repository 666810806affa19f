package evbuffer

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// numWriteVecs is the most chains one WriteToFD writes (libevent uses 16
// WSABUFs on Windows).
const numWriteVecs = 16

// sysVecs is the kernel's view of the extents of one WSARecv/WSASend.
type sysVecs [numWriteVecs]windows.WSABuf

// fionread is FIONREAD for WSAIoctl.
const fionread = 0x4004667f

func pendingBytes(fd int) int {
	var n uint32
	var ret uint32
	err := windows.WSAIoctl(windows.Handle(fd), fionread, nil, 0, (*byte)(unsafe.Pointer(&n)), 4, &ret, nil, 0)
	if err != nil {
		return 0
	}
	return int(n)
}

// wsaError wraps a Winsock error so that would-block also matches
// syscall.EAGAIN, as it does on Unix.
type wsaError struct{ errno syscall.Errno }

func (e wsaError) Error() string { return e.errno.Error() }
func (e wsaError) Unwrap() error { return e.errno }
func (e wsaError) Is(target error) bool {
	if e.errno == windows.WSAEWOULDBLOCK {
		return target == syscall.EAGAIN || target == syscall.EWOULDBLOCK
	}
	return false
}

func wrapWSA(op string, err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return os.NewSyscallError(op, wsaError{errno})
	}
	return os.NewSyscallError(op, err)
}

func fillWSABufs(s *ioScratch, nv int) {
	for i := 0; i < nv; i++ {
		b := s.bs[i]
		s.sys[i] = windows.WSABuf{Len: uint32(len(b)), Buf: unsafe.SliceData(b)}
	}
}

func clearWSABufs(s *ioScratch, nv int) {
	for i := 0; i < nv; i++ {
		s.sys[i] = windows.WSABuf{}
	}
}

func sysReadv(fd int, s *ioScratch, nv int) (int, error) {
	fillWSABufs(s, nv)
	var n, flags uint32
	err := windows.WSARecv(windows.Handle(fd), &s.sys[0], uint32(nv), &n, &flags, nil, nil)
	clearWSABufs(s, nv)
	if err != nil {
		if errors.Is(err, windows.WSAECONNABORTED) {
			return 0, nil // libevent reports an aborted connection as EOF
		}
		return 0, wrapWSA("wsarecv", err)
	}
	return int(n), nil
}

func sysWritev(fd int, s *ioScratch, nv int) (int, error) {
	fillWSABufs(s, nv)
	var n uint32
	err := windows.WSASend(windows.Handle(fd), &s.sys[0], uint32(nv), &n, 0, nil, nil)
	clearWSABufs(s, nv)
	if err != nil {
		return 0, wrapWSA("wsasend", err)
	}
	return int(n), nil
}

// sysWrite sends p with one WSASend, through the pooled scratch as sysWritev
// (a WSABuf of its own could escape to the heap).
func sysWrite(fd int, p []byte) (int, error) {
	s := ioPool.Get().(*ioScratch)
	s.bs[0] = p
	n, err := sysWritev(fd, s, 1)
	s.clear(1)
	ioPool.Put(s)
	return n, err
}

// haveSendfile is false: file segments are read into memory on Windows.
const haveSendfile = false

func sysSendfile(dst, src int, off int64, n int) (int, error) {
	return 0, errFDUnsupported
}

// errFDUnsupported is returned for operations this platform lacks. It
// matches errors.ErrUnsupported.
var errFDUnsupported = fmt.Errorf("evbuffer: sendfile is not implemented on windows: %w", errors.ErrUnsupported)

func fileSize(fd int) (int64, error) {
	if fd < 0 {
		return 0, errBadFD
	}
	var fi windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(windows.Handle(fd), &fi); err != nil {
		return 0, os.NewSyscallError("GetFileInformationByHandle", err)
	}
	if fi.FileAttributes&windows.FILE_ATTRIBUTE_DIRECTORY != 0 {
		return 0, errNoFile
	}
	return int64(fi.FileSizeHigh)<<32 | int64(fi.FileSizeLow), nil
}

func preadFD(fd int, p []byte, off int64) (int, error) {
	var done uint32
	o := windows.Overlapped{Offset: uint32(off), OffsetHigh: uint32(off >> 32)}
	err := windows.ReadFile(windows.Handle(fd), p, &done, &o)
	if err == windows.ERROR_HANDLE_EOF {
		return int(done), nil
	}
	if err != nil {
		return 0, os.NewSyscallError("ReadFile", err)
	}
	return int(done), nil
}

func closeFD(fd int) error { return windows.CloseHandle(windows.Handle(fd)) }
