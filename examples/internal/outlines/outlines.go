package outlines

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// Writer collects output. Safe for concurrent use.
type Writer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p. Safe for concurrent use.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// String returns everything written so far. Safe for concurrent use.
func (w *Writer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// Wait polls until the output contains s or the timeout passes; it returns the rest of
// the line that starts with s (trimmed) and whether s was found. Safe for concurrent
// use.
func (w *Writer) Wait(s string, timeout time.Duration) (string, bool) {
	deadline := time.Now().Add(timeout)
	for {
		o := w.String()
		if i := strings.Index(o, s); i >= 0 {
			rest := o[i+len(s):]
			if j := strings.IndexByte(rest, '\n'); j >= 0 {
				return strings.TrimSpace(rest[:j]), true
			}
		}
		if time.Now().After(deadline) {
			return "", false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// OpenFDs returns the number of open descriptors of the process (Linux, through
// /proc/self/fd), or -1 where that is not available. Safe for concurrent use.
func OpenFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents) - 1 // the directory being read
}

// NoFDLeak waits up to a few seconds for the process's open descriptors to fall back
// to before (a count from OpenFDs) and returns an error naming the difference if they
// do not. It does nothing where OpenFDs is unavailable. Safe for concurrent use.
func NoFDLeak(before int) error {
	if before < 0 {
		return nil
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		n := OpenFDs()
		if n <= before {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d descriptors open, %d before: %s", n, before, describeFDs())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// FDsBefore returns OpenFDs after making sure the Go runtime's own network poller
// descriptors exist (they are created on first use and stay open), so that a later
// NoFDLeak does not count them. Safe for concurrent use.
func FDsBefore() int {
	if l, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		l.Close()
	}
	return OpenFDs()
}

// describeFDs lists the open descriptors and what they are.
func describeFDs() string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var b strings.Builder
	for _, e := range ents {
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		fmt.Fprintf(&b, "%s→%s ", e.Name(), target)
	}
	return b.String()
}
