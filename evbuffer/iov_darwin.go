package evbuffer

import "golang.org/x/sys/unix"

func readv(fd int, s *ioScratch, nv int) (int, error)  { return unix.Readv(fd, s.bs[:nv]) }
func writev(fd int, s *ioScratch, nv int) (int, error) { return unix.Writev(fd, s.bs[:nv]) }
