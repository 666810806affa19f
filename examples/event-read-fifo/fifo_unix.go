//go:build linux || darwin || freebsd

package main

import (
	"runtime"
	"syscall"
)

// openFIFO creates the FIFO and opens it non-blocking: read-write on Linux (so the
// reader never sees EOF when a writer leaves, as libevent's sample does there),
// read-only elsewhere.
func openFIFO(path string) (int, error) {
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		return -1, err
	}
	mode := syscall.O_RDONLY
	if runtime.GOOS == "linux" {
		mode = syscall.O_RDWR
	}
	return syscall.Open(path, mode|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
}

func readFD(fd int, p []byte) (int, error) { return syscall.Read(fd, p) }

func closeFD(fd int) error { return syscall.Close(fd) }
