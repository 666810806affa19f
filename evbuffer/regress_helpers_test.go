package evbuffer

import (
	"testing"
)

func noErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// pull returns Pullup(n) as a string, failing on error.
func pull(t testing.TB, b *Buffer, n int) string {
	t.Helper()
	p, err := b.Pullup(n)
	if err != nil {
		t.Fatalf("Pullup(%d): %v", n, err)
	}
	return string(p)
}

func wantStr(t testing.TB, what, got, want string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %q, want %q", what, got, want)
	}
}

func wantInt(t testing.TB, what string, got, want int) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %d, want %d", what, got, want)
	}
}

// waste reports allocated capacity, capacity wasted in chains before the
// last one with data, and bytes used (libevent's evbuffer_get_waste).
func (b *Buffer) waste() (allocated, wasted, used int) {
	for c := b.first; c != nil; c = c.next {
		allocated += len(c.buf)
		if c != b.lastData && c.next != nil && c.buf != nil {
			// Only chains before the last with data count as waste.
			before := false
			for x := c.next; x != nil; x = x.next {
				if x == b.lastData {
					before = true
				}
			}
			if before {
				wasted += len(c.buf) - c.off
			}
		}
		used += c.off
	}
	return
}

// chains returns the number of chains in b.
func (b *Buffer) chains() int {
	n := 0
	for c := b.first; c != nil; c = c.next {
		n++
	}
	return n
}

// cleanupCounter counts reference cleanups.
type cleanupCounter struct {
	calls int
	last  []byte
}

func (c *cleanupCounter) fn(p []byte) {
	c.calls++
	c.last = p
}
