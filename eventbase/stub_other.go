//go:build !unix && !windows

package eventbase

import "syscall"

// No poller exists for this platform: New returns ErrNoMethod.
func platformPollers() []pollerInfo { return nil }

const (
	sigKILL = syscall.Signal(9)
	sigSTOP = syscall.Signal(0) // never a valid signal number here
)
