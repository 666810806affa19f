//go:build linux || darwin || freebsd

package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer collects output from the loop goroutine and lets the test wait for lines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor polls until out contains s.
func waitFor(t *testing.T, out *syncBuffer, s string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if o := out.String(); strings.Contains(o, s) {
			return o
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no %q in output:\n%s", s, out.String())
	return ""
}

// TestHelloWorld greets three clients over loopback, each closed after the greeting, then
// exits through SIGINT with a short grace period, as the libevent sample does.
func TestHelloWorld(t *testing.T) {
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(context.Background(), []string{"-listen", "127.0.0.1:0", "-grace", "10ms"}, out) }()
	o := waitFor(t, out, "listening on ")
	addr := strings.TrimSpace(strings.TrimPrefix(o[strings.Index(o, "listening on "):], "listening on "))
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(c) // the server closes after the greeting
		c.Close()
		if err != nil || string(got) != message {
			t.Fatalf("read %q, %v; want %q then EOF", got, err, message)
		}
	}
	waitFor(t, out, strings.Repeat("flushed answer\n", 3))
	// The signal event takes SIGINT over (os/signal), so this does not kill the test.
	syscall.Kill(syscall.Getpid(), syscall.SIGINT)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no exit after SIGINT")
	}
	o = out.String()
	if !strings.Contains(o, "Caught an interrupt signal; exiting cleanly in 10ms.") || !strings.HasSuffix(o, "done\n") {
		t.Fatalf("output:\n%s", o)
	}
}

// TestHelloWorldContext stops the server through its context.
func TestHelloWorldContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-listen", "127.0.0.1:0"}, out) }()
	waitFor(t, out, "listening on ")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"-listen", "256.0.0.1:1"}, io.Discard); err == nil {
		t.Fatal("bad address accepted")
	}
}
