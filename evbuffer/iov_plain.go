//go:build unix && !linux && !freebsd && !darwin

package evbuffer

import "golang.org/x/sys/unix"

// Systems without a readv/writev wrapper in x/sys/unix use the first extent
// only; the caller loops as it would after any short read or write.
func readv(fd int, s *ioScratch, nv int) (int, error)  { return unix.Read(fd, s.bs[0]) }
func writev(fd int, s *ioScratch, nv int) (int, error) { return unix.Write(fd, s.bs[0]) }
