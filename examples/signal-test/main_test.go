//go:build linux || darwin || freebsd

package main

import (
	"context"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bufev/bufev/examples/internal/outlines"
)

// TestSignalTest sends SIGINT to the test's own process three times while the sample's
// handler is registered through the base, waiting for each line before the next signal
// (deliveries between two loop turns are counted, but waiting makes the order plain).
// The test holds its own os/signal subscription for SIGINT during the run, so a
// signal arriving after the sample deleted its event cannot kill the test binary.
func TestSignalTest(t *testing.T) {
	guard := make(chan os.Signal, 8)
	signal.Notify(guard, syscall.SIGINT)
	defer signal.Stop(guard)

	out := &outlines.Writer{}
	done := make(chan error, 1)
	go func() { done <- run(context.Background(), nil, out, out) }()
	if _, ok := out.Wait("waiting for SIGINT", 5*time.Second); !ok {
		t.Fatalf("not started:\n%s", out)
	}
	for i := 1; i <= 3; i++ {
		syscall.Kill(syscall.Getpid(), syscall.SIGINT)
		deadline := time.Now().Add(5 * time.Second)
		for strings.Count(out.String(), "signal_cb: got signal 2\n") < i {
			if time.Now().After(deadline) {
				t.Fatalf("signal %d not reported:\n%s", i, out)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("loop did not end after the third signal:\n%s", out)
	}
	if o := out.String(); !strings.HasSuffix(o, "done after 3 signals\n") {
		t.Fatalf("output:\n%s", o)
	}
}

// TestSignalTestContext ends the wait through the context.
func TestSignalTestContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	out := &outlines.Writer{}
	if err := run(ctx, nil, out, out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "done after 0 signals") {
		t.Fatalf("output:\n%s", out)
	}
}
