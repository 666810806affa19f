package compress

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind (for
// compress: a decoder coroutine that was not ended).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
