//go:build !unix && !windows && !plan9

package eventbase

import "syscall"

const (
	sigKILL = syscall.Signal(9)
	sigSTOP = syscall.Signal(0) // never a valid signal number here
)
