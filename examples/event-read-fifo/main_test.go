//go:build linux || darwin || freebsd

package main

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bufev/bufev/examples/internal/outlines"
)

// TestEventReadFIFO creates the FIFO in a temporary directory, writes to it from two
// writers one after the other, and checks that both messages are printed; on Linux
// (read-write open, no EOF) it stops through the context, elsewhere at the first
// writer's close. The FIFO is gone afterwards.
func TestEventReadFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "event.fifo")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, errOut := &outlines.Writer{}, &outlines.Writer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-path", path}, out, errOut) }()
	if _, ok := errOut.Wait("reading from", 5*time.Second); !ok {
		t.Fatalf("not started: %s", errOut)
	}
	msgs := []string{"hello fifo", "second writer"}
	if runtime.GOOS != "linux" {
		msgs = msgs[:1]
	}
	for _, m := range msgs {
		w, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		w.WriteString(m)
		w.Close()
		if _, ok := out.Wait("Read: "+m, 5*time.Second); !ok {
			t.Fatalf("%q not read:\n%s\n%s", m, out, errOut)
		}
	}
	if runtime.GOOS == "linux" {
		cancel()
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no exit")
	}
	if !strings.Contains(errOut.String(), "fifo_read called with fd: ") {
		t.Fatalf("stderr:\n%s", errOut)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatalf("fifo left behind: %v", err)
	}
}

// TestEventReadFIFONotAFIFO refuses to replace a regular file.
func TestEventReadFIFONotAFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "file")
	os.WriteFile(path, []byte("keep me"), 0o600)
	if err := run(context.Background(), []string{"-path", path}, os.Stdout, os.Stderr); err == nil {
		t.Fatal("regular file replaced")
	}
	if b, _ := os.ReadFile(path); string(b) != "keep me" {
		t.Fatal("file changed")
	}
}
