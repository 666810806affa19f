//go:build (darwin || freebsd) && !linux

package bench

// ioCalls reports that system call counts are not available here.
func ioCalls() (reads, writes int64, ok bool) { return 0, 0, false }
