//go:build unix

package eventbase

import "syscall"

const (
	sigKILL = syscall.SIGKILL
	sigSTOP = syscall.SIGSTOP
)
