//go:build unix && !linux && !freebsd && !darwin

package evbuffer

import "golang.org/x/sys/unix"

// Systems without a readv/writev wrapper use the first extent only.
func readv(fd int, iov *iovecs, nv int) (int, error)  { return unix.Read(fd, iov.bs[0]) }
func writev(fd int, iov *iovecs, nv int) (int, error) { return unix.Write(fd, iov.bs[0]) }
