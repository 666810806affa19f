// Package outlines is a small helper for the examples' tests: an io.Writer that collects
// a program's output from any goroutine and lets the test wait for a line.
package outlines

import (
	"bytes"
	"strings"
	"sync"
	"time"
)

// Writer collects output. Safe for concurrent use.
type Writer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// String returns everything written so far.
func (w *Writer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// Wait polls until the output contains s or the timeout passes; it returns the rest of
// the line that starts with s (trimmed) and whether s was found.
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
