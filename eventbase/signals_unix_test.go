//go:build unix

package eventbase

import (
	"os"
	"syscall"
)

var testSignals = []os.Signal{syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGHUP}
