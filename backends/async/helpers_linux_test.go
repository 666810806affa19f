//go:build linux

package async

import (
	"os"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/backend/dialer/dialertest"
	"github.com/bufev/bufev/eventbase"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

// TestMain checks that no goroutine outlives the tests.
func TestMain(m *testing.M) {
	if spec := os.Getenv(benchChildEnv); spec != "" {
		os.Exit(benchChild(spec)) // the load generator of BenchmarkEcho
	}
	goleak.VerifyTestMain(m)
}

const testStr = "This is a test string."

// newBase and dispatch are the shared loop helpers: a base closed at the end of the
// test, and a Dispatch that fails the test (instead of hanging) after a limit.
var (
	newBase  = dialertest.NewBase
	dispatch = dialertest.Dispatch
)

// countFDs returns the number of open descriptors of this process.
func countFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// checkFDs fails the test if descriptors opened during it are still open at its end.
func checkFDs(t *testing.T) {
	t.Helper()
	before := countFDs(t)
	t.Cleanup(func() {
		deadline := time.Now().Add(2 * time.Second)
		for {
			after := countFDs(t)
			if after <= before {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("descriptors: %d before, %d after", before, after)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// socketPair returns a connected AF_UNIX stream pair.
func socketPair(t testing.TB) [2]int {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	return fds
}

// ringOf returns base's ring (nil if none).
func ringOf(base *eventbase.Base) *loopRing {
	rings.Lock()
	defer rings.Unlock()
	return rings.m[base]
}

// loopOnce runs one non-blocking loop turn (callbacks, then the deferred ring flush).
func loopOnce(t testing.TB, b *eventbase.Base) {
	t.Helper()
	if err := b.Loop(eventbase.LoopNonBlock); err != nil {
		t.Fatal(err)
	}
}

// newPair returns two connected async bufferevents on base (over loopback TCP, or a Unix
// socket pair when tcp is false), closed when the test ends.
func newPair(t *testing.T, base *eventbase.Base, tcp bool) (a, b *bufferevent.BufferEvent) {
	t.Helper()
	a, b, err := asyncPair(base, 0, tcp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}
