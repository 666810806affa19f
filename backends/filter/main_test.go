package filter_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no goroutine outlives the tests (loops run on
// goroutines by the thread-safety tests, NetConn helpers).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
