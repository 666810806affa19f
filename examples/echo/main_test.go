//go:build linux || darwin || freebsd

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// lineWriter hands each complete output line to a channel.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line)
			return len(p), nil
		}
		w.lines <- strings.TrimSuffix(line, "\n")
	}
}

// TestEcho runs the server on a loopback port, echoes small messages on several
// connections and a 32 MiB burst written before reading anything (which exercises the
// backpressure), then stops it through the context.
func TestEcho(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := &lineWriter{lines: make(chan string, 16)}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-listen", "127.0.0.1:0"}, out) }()
	var addr string
	select {
	case line := <-out.lines:
		addr = strings.TrimPrefix(line, "echo: listening on ")
	case err := <-done:
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			r := bufio.NewReader(c)
			for j := range 50 {
				msg := strings.Repeat("x", i+j) + "\n"
				c.Write([]byte(msg))
				got, err := r.ReadString('\n')
				if err != nil || got != msg {
					t.Errorf("echo %q, %v; want %q", got, err, msg)
					return
				}
			}
		}()
	}
	wg.Wait()

	// A client that writes 32 MiB before reading — more than the kernel's socket buffers
	// hold: the server pauses reading it rather than buffering everything, and every byte
	// still comes back.
	// A small receive buffer keeps the kernel from absorbing the burst.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return nil
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 32<<20)
	rand.Read(big)
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(big)
		werr <- err
	}()
	time.Sleep(300 * time.Millisecond) // let the server's output reach its high mark
	got := make([]byte, len(big))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, big) {
		t.Fatal("burst came back different")
	}
	c.Close()

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	summary := <-out.lines
	if !strings.Contains(summary, "9 connections") || !strings.Contains(summary, "backpressure pauses") {
		t.Fatalf("summary %q", summary)
	}
	if strings.Contains(summary, " 0 backpressure") {
		t.Errorf("the burst did not trigger backpressure: %q", summary)
	}
}

func TestEchoBadFlags(t *testing.T) {
	if err := run(context.Background(), []string{"-listen", "nonsense"}, io.Discard); err == nil {
		t.Fatal("bad address accepted")
	}
	if err := run(context.Background(), []string{"-bogus"}, io.Discard); err == nil {
		t.Fatal("unknown flag accepted")
	}
}
