//go:build windows

package eventbase

import "syscall"

const (
	sigKILL = syscall.SIGKILL
	sigSTOP = syscall.Signal(-1) // no SIGSTOP on Windows
)
