//go:build unix

package eventbase

import (
	"testing"

	"golang.org/x/sys/unix"
)

// methods lists the pollers available on this machine.
func methods(t testing.TB) []string {
	t.Helper()
	var ok []string
	for _, m := range SupportedMethods() {
		b, err := New(Config{AvoidMethods: others(m)})
		if err != nil {
			continue
		}
		b.Close()
		ok = append(ok, m)
	}
	if len(ok) == 0 {
		t.Fatal("no poller available")
	}
	return ok
}

func others(m string) []string {
	var out []string
	for _, n := range SupportedMethods() {
		if n != m {
			out = append(out, n)
		}
	}
	return out
}

// eachMethod runs fn as a subtest for every available poller.
func eachMethod(t *testing.T, fn func(t *testing.T, m string)) {
	for _, m := range methods(t) {
		t.Run(m, func(t *testing.T) { fn(t, m) })
	}
}

// newBase returns a base using poller m, closed at the end of the test.
func newBase(t testing.TB, m string, cfg ...Config) *Base {
	t.Helper()
	var c Config
	if len(cfg) > 0 {
		c = cfg[0]
	}
	c.AvoidMethods = append(c.AvoidMethods, others(m)...)
	b, err := New(c)
	if err != nil {
		t.Fatalf("New(%s): %v", m, err)
	}
	if b.Method() != m {
		t.Fatalf("Method() = %q, want %q", b.Method(), m)
	}
	t.Cleanup(func() {
		if !b.closed && !b.running {
			if err := b.checkInvariants(); err != nil {
				t.Errorf("base invariants at the end of the test: %v", err)
			}
		}
		b.Close()
	})
	return b
}

// socketpair returns a connected non-blocking AF_UNIX stream pair, closed at
// the end of the test (closing twice is harmless for the test).
func socketpair(t testing.TB) (int, int) {
	t.Helper()
	p, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatalf("socketpair: %v", err)
	}
	for _, fd := range p {
		unix.CloseOnExec(fd)
		if err := unix.SetNonblock(fd, true); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		unix.Close(p[0])
		unix.Close(p[1])
	})
	return p[0], p[1]
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func write(t testing.TB, fd int, s string) {
	t.Helper()
	if _, err := unix.Write(fd, []byte(s)); err != nil {
		t.Fatalf("write: %v", err)
	}
}
