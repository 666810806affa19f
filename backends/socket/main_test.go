//go:build linux

package socket

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain re-executes this test binary for tests that need a process of their own
// (lowered RLIMIT_NOFILE), and checks that no goroutine outlives the tests.
func TestMain(m *testing.M) {
	if name := os.Getenv(subprocessEnv); name != "" {
		os.Exit(runSubprocess(name))
	}
	goleak.VerifyTestMain(m)
}
