package main

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bufev/bufev/examples/internal/certs"
	"github.com/bufev/bufev/examples/internal/outlines"
)

// server starts an HTTPS server (net/http) on 127.0.0.1 with a certificate from a
// fresh CA, and returns its URL and the CA file.
func server(t *testing.T) (string, string) {
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
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Test", "bufev")
		w.Header().Set("X-Path", r.URL.RequestURI())
		b := strings.Repeat("body line\n", 5000)
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		io.WriteString(w, b)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted case fails the handshake
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL, caFile
}

// TestHTTPSGet fetches headers, then headers and body, from a local HTTPS server whose
// certificate the -cafile CA signed; without -cafile the system roots reject it.
func TestHTTPSGet(t *testing.T) {
	fds := outlines.FDsBefore()
	t.Cleanup(func() { // registered first, so it runs after the test's other cleanups
		if err := outlines.NoFDLeak(fds); err != nil {
			t.Error(err)
		}
	})
	u, caFile := server(t)
	var out, errOut outlines.Writer
	if err := run(context.Background(), []string{"-cafile", caFile, u + "/hello?x=1"}, &out, &errOut); err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	o := out.String()
	for _, want := range []string{"HTTP/1.1 200 OK\n", "X-Test: bufev\n", "X-Path: /hello?x=1\n"} {
		if !strings.Contains(o, want) {
			t.Errorf("no %q in\n%s", want, o)
		}
	}
	if strings.Contains(o, "body line") {
		t.Errorf("body printed without -body")
	}
	if !strings.Contains(errOut.String(), "connected: TLS 1.3") || !strings.Contains(errOut.String(), `issued by "bufev examples CA"`) {
		t.Errorf("stderr: %s", errOut.String())
	}

	var full outlines.Writer
	if err := run(context.Background(), []string{"-cafile", caFile, "-body", u}, &full, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, b, _ := strings.Cut(full.String(), "\n\n"); b != strings.Repeat("body line\n", 5000) {
		t.Errorf("body of %d bytes", len(b))
	}

	err := run(context.Background(), []string{u}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted server: %v", err)
	}
}

func TestHTTPSGetBadArgs(t *testing.T) {
	for _, args := range [][]string{nil, {"http://127.0.0.1/"}, {"https:///x"}, {"https://127.0.0.1:99999/"}, {"-cafile", "/nonexistent", "https://127.0.0.1/"}} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	// Nothing listens on this port: the connection is refused and reported.
	err := run(context.Background(), []string{"https://127.0.0.1:1/"}, io.Discard, io.Discard)
	if err == nil || errors.Is(err, context.Canceled) {
		t.Fatalf("refused connection: %v", err)
	}
}

// TestHTTPSGetTimeout: -timeout bounds a silent server's handshake, and a negative
// -timeout is refused at once: it was taken for no read or write timeout, and a server
// that never answered the ClientHello held https-get for the ssl backend's default
// handshake timeout (10 s), which also capped a -timeout above it.
func TestHTTPSGetTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // silent until the test ends
		}
	}()
	start := time.Now()
	err = run(context.Background(), []string{"-timeout", "200ms", "https://" + ln.Addr().String() + "/"}, io.Discard, io.Discard)
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("silent server: %v after %v; want an error within about 200ms", err, time.Since(start))
	}
	start = time.Now()
	err = run(context.Background(), []string{"-timeout", "-1s", "https://" + ln.Addr().String() + "/"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-timeout") || time.Since(start) > time.Second {
		t.Fatalf("-timeout -1s: %v after %v; want it refused at once", err, time.Since(start))
	}
}
