//go:build unix

package ssl_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no goroutine (a handshake goroutine in particular)
// outlives the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
