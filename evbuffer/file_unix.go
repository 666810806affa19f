//go:build unix

package evbuffer

import (
	"os"

	"golang.org/x/sys/unix"
)

// haveSendfile reports whether WriteToFD can use sendfile here.
const haveSendfile = true

func fileSize(fd int) (int64, error) {
	if fd < 0 {
		return 0, errBadFD
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, os.NewSyscallError("fstat", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return 0, errNoFile
	}
	return st.Size, nil
}

func preadFD(fd int, p []byte, off int64) (int, error) {
	n, err := ignoringEINTR(func() (int, error) { return unix.Pread(fd, p, off) })
	if err != nil {
		return 0, os.NewSyscallError("pread", err)
	}
	return n, nil
}

func closeFD(fd int) error { return unix.Close(fd) }
