//go:build unix

package evbuffer

import (
	"os"

	"golang.org/x/sys/unix"
)

// numWriteVecs is the most chains one WriteToFD writes (libevent's
// NUM_WRITE_IOVEC).
const numWriteVecs = 128

// sysVecs is the kernel's view of the extents of one readv/writev.
type sysVecs [numWriteVecs]unix.Iovec

// pendingBytes asks the kernel how many bytes are ready on fd (0: unknown).
func pendingBytes(fd int) int {
	if fionread == 0 {
		return 0
	}
	n, err := unix.IoctlGetInt(fd, fionread)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// sysReadv reads into s.bs[:nv].
func sysReadv(fd int, s *ioScratch, nv int) (int, error) {
	var n int
	var err error
	for {
		if nv == 1 {
			n, err = unix.Read(fd, s.bs[0])
		} else {
			n, err = readv(fd, s, nv)
		}
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return 0, os.NewSyscallError("readv", err)
	}
	return n, nil
}

// sysWritev writes s.bs[:nv].
func sysWritev(fd int, s *ioScratch, nv int) (int, error) {
	var n int
	var err error
	for {
		if nv == 1 {
			n, err = unix.Write(fd, s.bs[0])
		} else {
			n, err = writev(fd, s, nv)
		}
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return 0, os.NewSyscallError("writev", err)
	}
	return n, nil
}

// sysWrite writes p with one write(2).
func sysWrite(fd int, p []byte) (int, error) {
	for {
		n, err := unix.Write(fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, os.NewSyscallError("writev", err)
		}
		return n, nil
	}
}

// haveSendfile reports whether WriteToFD can use sendfile here.
const haveSendfile = true

// sysSendfile sends n bytes of the file src from off to dst.
func sysSendfile(dst, src int, off int64, n int) (int, error) {
	for {
		written, err := unix.Sendfile(dst, src, &off, n)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			if written > 0 {
				return written, nil // partial, e.g. EAGAIN on BSD
			}
			return 0, os.NewSyscallError("sendfile", err)
		}
		return written, nil
	}
}

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
	for {
		n, err := unix.Pread(fd, p, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, os.NewSyscallError("pread", err)
		}
		return n, nil
	}
}

func closeFD(fd int) error { return unix.Close(fd) }
