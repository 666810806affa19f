//go:build linux || darwin || freebsd

package main

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/bufev/bufev/examples/internal/outlines"
)

const testIdle = 300 * time.Millisecond

// upstreamFunc is what the test's upstream does with each connection the proxy makes;
// quit is closed when the test ends.
type upstreamFunc func(c net.Conn, quit <-chan struct{})

// startUpstream serves fn on a loopback listener until the test ends, and then waits
// for every connection to be closed.
func startUpstream(t *testing.T, fn upstreamFunc) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		close(quit)
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				fn(c, quit)
			})
		}
	})
	return ln.Addr().String()
}

// TestProxyIdle: -idle closes a pair that relayed nothing for that long (silent from the
// start, or half-closed by the client while the upstream neither answers nor closes) and
// a pair whose client stopped reading, but keeps a pair open while bytes flow in one
// direction only, and -idle 0 keeps an idle pair open.
func TestProxyIdle(t *testing.T) {
	fds := outlines.FDsBefore()
	t.Cleanup(func() { // registered first, so it runs after the test's other cleanups
		if err := outlines.NoFDLeak(fds); err != nil {
			t.Error(err)
		}
	})
	silent := func(c net.Conn, quit <-chan struct{}) { // never answers nor closes
		io.Copy(io.Discard, c)
		<-quit
	}
	oneWay := func(c net.Conn, _ <-chan struct{}) { // 30 chunks, 50 ms apart (five idle periods), then close
		for range 30 {
			if _, err := c.Write(bytes.Repeat([]byte{'x'}, 1024)); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	upstreamErr := make(chan error, 1)
	flood := func(c net.Conn, _ <-chan struct{}) { // writes until the proxy gives up on the client
		chunk := make([]byte, 64<<10)
		for {
			if _, err := c.Write(chunk); err != nil {
				upstreamErr <- err
				return
			}
		}
	}
	for _, c := range []struct {
		name     string
		upstream upstreamFunc
		idle     string
		client   func(t *testing.T, c *net.TCPConn, dialed time.Time)
	}{
		{"silent pair is closed", silent, testIdle.String(), func(t *testing.T, c *net.TCPConn, dialed time.Time) {
			expectEOFAfterIdle(t, c, dialed, 0)
		}},
		{"half-closed pair is closed", silent, testIdle.String(), func(t *testing.T, c *net.TCPConn, dialed time.Time) {
			if _, err := c.Write([]byte("request")); err != nil {
				t.Fatal(err)
			}
			if err := c.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			expectEOFAfterIdle(t, c, dialed, 0)
		}},
		{"one-way stream stays open", oneWay, testIdle.String(), func(t *testing.T, c *net.TCPConn, dialed time.Time) {
			expectEOFAfterIdle(t, c, dialed, 30*1024)
		}},
		{"client that stops reading is closed", flood, testIdle.String(), func(t *testing.T, c *net.TCPConn, dialed time.Time) {
			select {
			case err := <-upstreamErr:
				if errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("the upstream's writes never failed: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the proxy kept a client that reads nothing")
			}
		}},
		{"-idle 0 keeps the pair", silent, "0", func(t *testing.T, c *net.TCPConn, dialed time.Time) {
			c.SetReadDeadline(time.Now().Add(3 * testIdle))
			if n, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("read %d bytes, %v; want the pair kept open", n, err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr, stop := startProxy(t, startUpstream(t, c.upstream), "-idle", c.idle)
			dialed := time.Now()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { stop() }()
			defer conn.Close()
			c.client(t, conn.(*net.TCPConn), dialed)
		})
	}
}

// expectEOFAfterIdle reads until EOF, expecting exactly want bytes, and checks that the
// proxy did not close the pair before it had been idle for testIdle since the client
// began to dial (the proxy links the pair, and starts its timers, after that; a later
// reference, such as when this goroutine starts reading, can come after the link on a
// loaded machine and made the check fail by a few milliseconds).
func expectEOFAfterIdle(t *testing.T, c *net.TCPConn, dialed time.Time, want int) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := io.Copy(io.Discard, c)
	if err != nil {
		t.Fatalf("after %d bytes: %v; want EOF", n, err)
	}
	if int(n) != want {
		t.Fatalf("got %d bytes, want %d", n, want)
	}
	if el := time.Since(dialed); el < testIdle {
		t.Fatalf("closed %v after the dial began, before the pair was idle for %v", el, testIdle)
	}
}
