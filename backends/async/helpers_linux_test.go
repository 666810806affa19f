//go:build linux

package async

import (
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
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

// newBase returns a base closed at the end of the test.
func newBase(t testing.TB) *eventbase.Base {
	t.Helper()
	b, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// dispatch runs the loop until it has nothing left to do, failing the test (instead of
// hanging) after limit.
func dispatch(t testing.TB, b *eventbase.Base, limit time.Duration) {
	t.Helper()
	var fired atomic.Bool
	wd := time.AfterFunc(limit, func() {
		fired.Store(true)
		b.LoopBreak()
	})
	err := b.Dispatch()
	wd.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if fired.Load() {
		t.Fatalf("loop still running after %v", limit)
	}
}

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

// closedPort returns a loopback address bound but not listening: connects are refused.
func closedPort(t *testing.T) *net.TCPAddr {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, _ := unix.Getsockname(fd)
	return netAddr(sa).(*net.TCPAddr)
}

func optName(o bufferevent.Options) string {
	switch o {
	case 0:
		return "plain"
	case bufferevent.DeferCallbacks:
		return "defer"
	case bufferevent.ThreadSafe:
		return "lock"
	case bufferevent.ThreadSafe | bufferevent.DeferCallbacks:
		return "lock_defer"
	case bufferevent.ThreadSafe | bufferevent.DeferCallbacks | bufferevent.UnlockCallbacks:
		return "unlocked_cbs"
	}
	return "opts"
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
