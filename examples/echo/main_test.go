//go:build linux || darwin || freebsd

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"github.com/bufev/bufev/examples/internal/outlines"
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
		addr = hostPort(line)
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

// startEcho runs the server with args and returns the address, the output lines and a
// stop function returning run's error.
func startEcho(t *testing.T, args ...string) (string, chan string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &lineWriter{lines: make(chan string, 16)}
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, out) }()
	for {
		select {
		case line := <-out.lines:
			if a := hostPort(line); a != "" {
				return a, out.lines, func() error { cancel(); return <-done }
			}
			t.Log(line)
		case err := <-done:
			cancel()
			t.Fatal(err)
		}
	}
}

// pingPong echoes a few messages on n connections, as TLS when cfg is set.
func pingPong(t *testing.T, addr string, n int, cfg *tls.Config) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c net.Conn
			var err error
			if cfg != nil {
				c, err = tls.Dial("tcp", addr, cfg)
			} else {
				c, err = net.Dial("tcp", addr)
			}
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			r := bufio.NewReader(c)
			for j := range 20 {
				msg := strings.Repeat("y", 1+i*100+j) + "\n"
				c.Write([]byte(msg))
				got, err := r.ReadString('\n')
				if err != nil || got != msg {
					t.Errorf("echo %d bytes: %v", len(got), err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestEchoLoops serves with two loops sharing the port through SO_REUSEPORT: 32
// connections all get their echo and the kernel spread them over both loops (the odds
// of all 32 landing on one loop are 2^-31).
func TestEchoLoops(t *testing.T) {
	fds := outlines.FDsBefore()
	t.Cleanup(func() { // registered first, so it runs after the test's other cleanups
		if err := outlines.NoFDLeak(fds); err != nil {
			t.Error(err)
		}
	})
	addr, lines, stop := startEcho(t, "-listen", "127.0.0.1:0", "-loops", "2")
	pingPong(t, addr, 32, nil)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	summary, per := <-lines, <-lines
	if !strings.Contains(summary, "32 connections") {
		t.Fatalf("summary %q", summary)
	}
	var a, b int
	if _, err := fmt.Sscanf(per, "echo: connections per loop: %d %d", &a, &b); err != nil || a+b != 32 || a == 0 || b == 0 {
		t.Fatalf("per loop %q (%v)", per, err)
	}
}

// TestEchoBackendsTLS serves with each backend, plain and TLS; the TLS client checks it
// talks to the self-signed certificate made for 127.0.0.1. With -backend async the
// server either uses io_uring or says why it fell back.
func TestEchoBackendsTLS(t *testing.T) {
	fds := outlines.FDsBefore()
	t.Cleanup(func() { // registered first, so it runs after the test's other cleanups
		if err := outlines.NoFDLeak(fds); err != nil {
			t.Error(err)
		}
	})
	for _, backend := range []string{"socket", "async"} {
		for _, useTLS := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/tls=%v", backend, useTLS), func(t *testing.T) {
				args := []string{"-listen", "127.0.0.1:0", "-backend", backend}
				var cfg *tls.Config
				if useTLS {
					args = append(args, "-tls")
					cfg = &tls.Config{InsecureSkipVerify: true, VerifyConnection: func(cs tls.ConnectionState) error {
						if err := cs.PeerCertificates[0].VerifyHostname("127.0.0.1"); err != nil {
							return err
						}
						c := cs.PeerCertificates[0] // self-signed: its own key signed it
						return c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature)
					}}
				}
				addr, lines, stop := startEcho(t, args...)
				pingPong(t, addr, 4, cfg)
				if err := stop(); err != nil {
					t.Fatal(err)
				}
				if s := <-lines; !strings.Contains(s, "4 connections") {
					t.Fatalf("summary %q", s)
				}
			})
		}
	}
}

func TestEchoBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-loops", "0"}, {"-backend", "carrier-pigeon", "-listen", "127.0.0.1:0"}, {"-loops", "2", "-network", "unix", "-listen", "x.sock"}} {
		if err := run(context.Background(), args, io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	if err := run(context.Background(), []string{"-listen", "nonsense"}, io.Discard); err == nil {
		t.Fatal("bad address accepted")
	}
	if err := run(context.Background(), []string{"-bogus"}, io.Discard); err == nil {
		t.Fatal("unknown flag accepted")
	}
}
