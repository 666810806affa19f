//go:build unix

package main

import "syscall"

// openFile opens path for reading and returns the descriptor (close-on-exec).
func openFile(path string) (int, error) {
	return syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
}

func preadFile(fd int, p []byte, off int64) (int, error) { return syscall.Pread(fd, p, off) }

func closeFile(fd int) error { return syscall.Close(fd) }
