//go:build unix

package evbuffer

import (
	"time"

	"golang.org/x/sys/unix"
)

// cpuNow returns the CPU time this process has used.
func cpuNow() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
