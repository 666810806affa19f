//go:build linux || darwin || freebsd

package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bufev/bufev/examples/internal/certs"
	"github.com/bufev/bufev/examples/internal/outlines"
)

// halfCloseServer accepts connections on ln; each reads its request until EOF (the
// client's half-close), then answers with a response derived from the whole request and
// closes. A server that needs the client's EOF before it answers is what a proxy that
// closes both directions on the first EOF breaks.
func halfCloseServer(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			req, err := io.ReadAll(c)
			if err != nil {
				return
			}
			c.Write(halfCloseResponse(req))
		}()
	}
}

// halfCloseResponse is the server's answer to req: its hash, then 2 MiB of bytes derived
// from it (more than a socket takes at once, so the response needs several writes).
func halfCloseResponse(req []byte) []byte {
	sum := sha256.Sum256(req)
	return append(sum[:], bytes.Repeat(sum[:], (2<<20)/len(sum))...)
}

// halfCloseClient sends a request through the proxy at addr, shuts its write side down,
// and checks that it still receives the whole response, then EOF.
func halfCloseClient(addr string, size int) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	req := bytes.Repeat([]byte("request\n"), size/8)
	if _, err := c.Write(req); err != nil {
		return err
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	got, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	if want := halfCloseResponse(req); !bytes.Equal(got, want) {
		return fmt.Errorf("got %d bytes of response, want %d (the proxy must pass the half-close on, not close)", len(got), len(want))
	}
	return nil
}

// TestProxyHalfClose: a client that sends its request and half-closes gets the whole
// response through the proxy, to a plain upstream and to a TLS upstream (filter and
// socket mode: close_notify then shutdown), for a small and a large request; the
// connections close once both directions ended, leaving no descriptor behind.
func TestProxyHalfClose(t *testing.T) {
	fds := outlines.FDsBefore()
	t.Cleanup(func() { // registered first, so it runs after the test's other cleanups
		if err := outlines.NoFDLeak(fds); err != nil {
			t.Error(err)
		}
	})
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	go halfCloseServer(plain)

	ca, err := certs.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	secure, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer secure.Close()
	go halfCloseServer(secure)

	for _, c := range []struct {
		name     string
		upstream string
		flags    []string
	}{
		{"plain", plain.Addr().String(), nil},
		{"tls filter", secure.Addr().String(), []string{"-s", "-cafile", caFile}},
		{"tls socket", secure.Addr().String(), []string{"-s", "-W", "-cafile", caFile}},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr, stop := startProxy(t, c.upstream, c.flags...)
			var errs []error
			for _, size := range []int{64, 1 << 20} {
				if err := halfCloseClient(addr, size); err != nil {
					errs = append(errs, fmt.Errorf("%d-byte request: %w", size, err))
				}
			}
			summary := stop()
			if err := errors.Join(errs...); err != nil {
				t.Fatalf("%v\n%s", err, summary)
			}
		})
	}
}

// earlyAnswerServer accepts connections on ln; each answers at once, ends its own
// direction (close_notify over TLS, shutdown(SHUT_WR) in plain), and only then reads
// the request until EOF and reports it on got: a server that half-closes first.
func earlyAnswerServer(ln net.Listener, got chan<- []byte) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.Write([]byte("early answer"))
			switch cc := c.(type) {
			case *tls.Conn:
				cc.CloseWrite()
			case *net.TCPConn:
				cc.CloseWrite()
			}
			req, _ := io.ReadAll(c)
			got <- req
		}()
	}
}

// TestProxyHalfCloseUpstreamFirst: the upstream answers and ends its direction first;
// the client reads the answer and the EOF, then sends its request and half-closes. The
// proxy passes the upstream's half-close on and keeps the client's direction flowing:
// the upstream receives the whole request, over TLS too (a close_notify ends only the
// direction it arrives on).
func TestProxyHalfCloseUpstreamFirst(t *testing.T) {
	fds := outlines.FDsBefore()
	t.Cleanup(func() { // registered first, so it runs after the test's other cleanups
		if err := outlines.NoFDLeak(fds); err != nil {
			t.Error(err)
		}
	})
	ca, err := certs.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	go earlyAnswerServer(plain, got)
	secure, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer secure.Close()
	go earlyAnswerServer(secure, got)

	for _, c := range []struct {
		name     string
		upstream string
		flags    []string
	}{
		{"plain", plain.Addr().String(), nil},
		{"tls filter", secure.Addr().String(), []string{"-s", "-cafile", caFile}},
		{"tls socket", secure.Addr().String(), []string{"-s", "-W", "-cafile", caFile}},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr, stop := startProxy(t, c.upstream, c.flags...)
			defer stop()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			resp, err := io.ReadAll(conn)
			if err != nil || string(resp) != "early answer" {
				t.Fatalf("response %q, %v", resp, err)
			}
			req := bytes.Repeat([]byte("request\n"), (256<<10)/8)
			if _, err := conn.Write(req); err != nil {
				t.Fatal(err)
			}
			if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
				t.Fatal(err)
			}
			select {
			case r := <-got:
				if !bytes.Equal(r, req) {
					t.Fatalf("upstream got %d of the %d request bytes", len(r), len(req))
				}
			case <-time.After(6 * time.Second):
				t.Fatal("upstream got no request")
			}
		})
	}
}
