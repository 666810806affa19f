//go:build unix

package ssl_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// benchChild, when set (bench_test.go on Linux), is the benchmarks' load
// generator: the test binary re-executed with benchChildEnv=1 runs it
// instead of the tests, so that the benchmark process's CPU time and
// allocations are the server's alone.
var benchChild func() int

// TestMain checks that no goroutine (a handshake goroutine in particular)
// outlives the tests.
func TestMain(m *testing.M) {
	if os.Getenv(benchChildEnv) == "1" && benchChild != nil {
		os.Exit(benchChild())
	}
	goleak.VerifyTestMain(m)
}

// benchChildEnv marks the benchmarks' child process.
const benchChildEnv = "SSL_BENCH_CHILD"
