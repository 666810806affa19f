//go:build linux || darwin || freebsd

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/bufev/bufev/examples/internal/certs"
	"github.com/bufev/bufev/examples/internal/outlines"
	"github.com/bufev/bufev/examples/internal/proxy"
)

// startProxy runs the example with args plus a loopback listen address and
// upstream, and returns its address and a stop function that returns the summary.
func startProxy(t *testing.T, upstream string, flags ...string) (string, func() string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &outlines.Writer{}
	done := make(chan error, 1)
	args := append(flags, "127.0.0.1:0", upstream)
	go func() { done <- run(ctx, args, out, out) }()
	rest, ok := out.Wait("le-proxy: listening on ", 5*time.Second)
	if !ok {
		cancel()
		t.Fatalf("not started: %v\n%s", <-done, out)
	}
	addr, _, _ := bytes.Cut([]byte(rest), []byte(","))
	return string(addr), func() string {
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("run: %v\n%s", err, out)
		}
		s, _ := out.Wait("le-proxy: ", time.Second)
		return out.String() + s
	}
}

// TestProxyLargeSlowReader sends 24 MiB from an upstream through the proxy to a
// client that reads slowly through a small receive buffer: every byte arrives in
// order, the proxy pauses reading from the upstream (backpressure) and never queues
// much more than MaxOutput for the client, and the connection closes cleanly after the
// last byte (the upstream's close is propagated once the output drained).
func TestProxyLargeSlowReader(t *testing.T) {
	fds := outlines.FDsBefore()
	t.Cleanup(func() { // registered first, so it runs after the test's other cleanups
		if err := outlines.NoFDLeak(fds); err != nil {
			t.Error(err)
		}
	})
	const size = 24 << 20
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(rand.Uint32())
	}
	want := sha256.Sum256(data)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		req := make([]byte, 4)
		if _, err := io.ReadFull(c, req); err != nil || string(req) != "GET\n" {
			return
		}
		c.Write(data)
	}()
	addr, stop := startProxy(t, ln.Addr().String())

	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 8192) })
		return nil
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("GET\n"))
	h := sha256.New()
	buf := make([]byte, 256<<10)
	var got int
	for {
		n, err := c.Read(buf)
		h.Write(buf[:n])
		got += n
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if got < 4<<20 {
			time.Sleep(time.Millisecond) // slow at first, so the proxy's output fills
		}
	}
	if got != size || !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatalf("got %d bytes (want %d), hash match %v", got, size, bytes.Equal(h.Sum(nil), want[:]))
	}
	summary := stop()
	m := regexp.MustCompile(`(\d+) connections, (\d+) bytes relayed, (\d+) backpressure pauses, peak queued (\d+) bytes`).FindStringSubmatch(summary)
	if m == nil {
		t.Fatalf("summary:\n%s", summary)
	}
	relayed, _ := strconv.Atoi(m[2])
	paused, _ := strconv.Atoi(m[3])
	peak, _ := strconv.Atoi(m[4])
	if relayed != size+4 {
		t.Errorf("relayed %d, want %d", relayed, size+4)
	}
	if paused == 0 {
		t.Errorf("no backpressure pause for a slow reader:\n%s", summary)
	}
	// One read's worth may land on top of a full output before reading stops.
	if peak > proxy.MaxOutput+256<<10 {
		t.Errorf("peak queued %d bytes, MaxOutput %d", peak, proxy.MaxOutput)
	}
}

// tlsEcho starts a TLS echo server (crypto/tls, the standard library) with a
// certificate for 127.0.0.1 signed by a fresh CA, and returns its address and the CA
// file.
func tlsEcho(t *testing.T) (string, string) {
	t.Helper()
	ca, err := certs.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, ca.PEM, 0o600)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String(), caFile
}

// TestProxyTLS proxies plain clients to a TLS echo server, in filter mode (default) and
// socket mode (-W), verifying the server against the test CA; 2 MiB and a few small
// messages come back intact. Without the CA the handshake fails and the client's
// connection is closed.
func TestProxyTLS(t *testing.T) {
	fds := outlines.FDsBefore()
	t.Cleanup(func() { // registered first, so it runs after the test's other cleanups
		if err := outlines.NoFDLeak(fds); err != nil {
			t.Error(err)
		}
	})
	upstream, caFile := tlsEcho(t)
	for _, mode := range [][]string{{"-s"}, {"-s", "-W"}} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			addr, stop := startProxy(t, upstream, append(mode, "-cafile", caFile)...)
			for i := range 3 {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				msg := bytes.Repeat([]byte{byte('a' + i)}, 1+i*(1<<20))
				go c.Write(msg)
				got := make([]byte, len(msg))
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("echo of %d bytes: %v", len(msg), err)
				}
				c.Close()
			}
			if s := stop(); !regexp.MustCompile(`3 connections`).MatchString(s) {
				t.Fatalf("summary:\n%s", s)
			}
		})
	}
	t.Run("untrusted", func(t *testing.T) {
		addr, stop := startProxy(t, upstream, "-s")
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("hello"))
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if n, err := c.Read(make([]byte, 10)); err != io.EOF {
			t.Fatalf("read %d, %v; want EOF after a failed verification", n, err)
		}
		c.Close()
		if s := stop(); !regexp.MustCompile(`certificate`).MatchString(s) {
			t.Fatalf("no certificate error logged:\n%s", s)
		}
	})
}

// TestProxyBadArgs covers the command line.
func TestProxyBadArgs(t *testing.T) {
	for _, args := range [][]string{nil, {"127.0.0.1:0"}, {"127.0.0.1:0", "nonsense"}, {"256.1.1.1:1", "127.0.0.1:1"}} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	// A negative -idle was taken silently for "never" (run then served until its
	// context ended: a cancelled one here).
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := run(ctx, []string{"-idle", "-1s", "127.0.0.1:0", "127.0.0.1:1"}, io.Discard, io.Discard); err == nil {
		t.Error("-idle -1s accepted")
	}
}

// TestProxyUpstreamRefused: when the upstream refuses the connection, the client's
// connection is closed (after the error is logged) and the proxy keeps serving.
func TestProxyUpstreamRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	upstream := ln.Addr().String()
	ln.Close() // nothing listens there now
	addr, stop := startProxy(t, upstream)
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("lost"))
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if n, err := c.Read(make([]byte, 8)); err == nil {
			t.Fatalf("read %d bytes from a proxy without upstream", n)
		}
		c.Close()
	}
	if s := stop(); !regexp.MustCompile(`refused`).MatchString(s) {
		t.Fatalf("no refusal logged:\n%s", s)
	}
}
