//go:build linux

package socket

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent/backend/dialer/dialertest"
	"golang.org/x/sys/unix"
)

const subprocessEnv = "SOCKET_TEST_SUBPROCESS"

// subprocesses are tests run in a child process; each returns an exit code.
var subprocesses = map[string]func() int{}

func runSubprocess(name string) int {
	fn, ok := subprocesses[name]
	if !ok {
		fmt.Fprintln(os.Stderr, "unknown subprocess", name)
		return 2
	}
	return fn()
}

// runInSubprocess re-executes the test binary to run subprocesses[name].
func runInSubprocess(t *testing.T, name string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), subprocessEnv+"="+name)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("subprocess %s: %v\n%s", name, err, out)
	}
	if testing.Verbose() && len(out) > 0 {
		t.Logf("subprocess %s:\n%s", name, out)
	}
}

// newBase and dispatch are the shared loop helpers: a base closed at the end of the
// test, and a Dispatch that fails the test (instead of hanging) after a limit.
var (
	newBase  = dialertest.NewBase
	dispatch = dialertest.Dispatch
)

// countFDs returns the number of open descriptors of this process.
func countFDs(t testing.TB) int {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc/self/fd")
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// socketPair returns a connected AF_UNIX stream pair, closed at the end of the test.
func socketPair(t testing.TB) [2]int {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		unix.Close(fds[0])
		unix.Close(fds[1])
	})
	return fds
}

// dialBlocking connects a plain net.Conn, closed at the end of the test.
func dialBlocking(t testing.TB, addr net.Addr) net.Conn {
	t.Helper()
	c, err := net.DialTimeout(addr.Network(), addr.String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// tempSocketPath returns a path for a Unix socket short enough for sun_path.
func tempSocketPath(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "s")
}

func formatInt(n int) string { return fmt.Sprint(n) }

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }
