//go:build linux || darwin || freebsd

package bench

import (
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
)

// Under valgrind (callgrind), a signal arriving at the wrong moment crashes
// the tool (its signal bookkeeping asserts): the SIGCHLD of the exiting load
// generator, the SIGPIPE of a write to a connection the client already
// closed. With BENCH_VALGRIND set the benchmark process ignores both (the
// kernel then reaps children itself, and writes fail with EPIPE alone), so
// callgrind can count the server's instructions and cache misses to the
// end. See doc.go.
func init() {
	if os.Getenv("BENCH_VALGRIND") != "" && os.Getenv(childEnv) != "1" {
		signal.Ignore(syscall.SIGCHLD, syscall.SIGPIPE)
	}
}

// valgrindControl runs callgrind_control on this process with the given
// arguments when BENCH_VALGRIND=1 (-z before the measured phase, -d after
// it: each dump then holds one measured phase alone). It does nothing
// otherwise (BENCH_VALGRIND=2 only ignores the signals, for runs that select
// what to count with --toggle-collect), and ignores failures.
func valgrindControl(args ...string) {
	if os.Getenv("BENCH_VALGRIND") != "1" {
		return
	}
	args = append(args, strconv.Itoa(os.Getpid()))
	_ = exec.Command("callgrind_control", args...).Run()
}
