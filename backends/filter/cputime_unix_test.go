//go:build unix

package filter_test

import "syscall"

// processCPU returns the CPU time (user + system) the process has used, in
// nanoseconds, so that benchmarks can report CPU per operation, which stays
// meaningful on a loaded machine where wall time does not.
func processCPU() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
