//go:build unix && !linux

package eventbase

// raiseNoFile is a no-op where the benchmarks' fd counts fit the default
// limit or the rlimit types differ.
func raiseNoFile(int) {}
