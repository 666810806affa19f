package eventbase

import (
	"os"
	"os/signal"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// Keep a process-wide subscriber for the signals the tests send, so a
	// late delivery after a base stopped watching cannot kill the binary.
	// The channel has no reader: os/signal drops what does not fit.
	if len(testSignals) > 0 {
		sink := make(chan os.Signal, 1)
		signal.Notify(sink, testSignals...)
	}
	goleak.VerifyTestMain(m)
}
