//go:build darwin

package evbuffer

import "golang.org/x/sys/unix"

func readv(fd int, iov *iovecs, nv int) (int, error)  { return unix.Readv(fd, iov.bs[:nv]) }
func writev(fd int, iov *iovecs, nv int) (int, error) { return unix.Writev(fd, iov.bs[:nv]) }
