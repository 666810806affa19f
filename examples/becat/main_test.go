package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bufev/bufev/examples/internal/certs"
	"github.com/bufev/bufev/examples/internal/outlines"
)

// TestBecatConnect connects to a server that answers a line and closes: standard input
// goes out, the answer comes to standard output, and becat ends at the peer's close.
func TestBecatConnect(t *testing.T) {
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
		line, _ := bufio.NewReader(c).ReadString('\n')
		io.WriteString(c, "got: "+line)
	}()
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	var out, errOut outlines.Writer
	if err := run(context.Background(), []string{host, port}, strings.NewReader("hello\n"), &out, &errOut); err != nil {
		t.Fatalf("run: %v %s", err, errOut.String())
	}
	if out.String() != "got: hello\n" {
		t.Fatalf("stdout %q", out.String())
	}
}

// TestBecatHalfClose: with -N becat shuts its write side down once standard input is
// sent (after close_notify with -S), and prints the answer of a server that replies
// only after the end of the request, as nc -N does. -N closed the whole connection
// instead, so the answer was lost.
func TestBecatHalfClose(t *testing.T) {
	cert, err := certs.SelfSigned("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tlsOn := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", tlsOn), func(t *testing.T) {
			var ln net.Listener
			var err error
			args := []string{"-N"}
			if tlsOn {
				ln, err = tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
				args = append(args, "-S")
			} else {
				ln, err = net.Listen("tcp", "127.0.0.1:0")
			}
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			served := make(chan error, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					served <- err
					return
				}
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				req, err := io.ReadAll(c) // until the client's EOF
				if err != nil {
					served <- err
					return
				}
				_, err = fmt.Fprintf(c, "got %d bytes\n", len(req))
				served <- err
			}()
			host, port, _ := net.SplitHostPort(ln.Addr().String())
			request := strings.Repeat("request line\n", 1000)
			var out, errOut outlines.Writer
			if err := run(context.Background(), append(args, host, port), strings.NewReader(request), &out, &errOut); err != nil {
				t.Fatalf("run: %v %s", err, errOut.String())
			}
			if err := <-served; err != nil {
				t.Fatalf("server: %v", err)
			}
			if want := fmt.Sprintf("got %d bytes\n", len(request)); out.String() != want {
				t.Fatalf("stdout %q; want %q", out.String(), want)
			}
		})
	}
}

// listen starts becat -l with extra flags and returns the address and the result.
func listen(t *testing.T, ctx context.Context, stdin io.Reader, out *outlines.Writer, flags ...string) (string, chan error) {
	t.Helper()
	errOut := &outlines.Writer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, append(flags, "-l", "127.0.0.1", "0"), stdin, out, errOut) }()
	addr, ok := errOut.Wait("listening on ", 5*time.Second)
	if !ok {
		t.Fatalf("not listening: %s", errOut)
	}
	return addr, done
}

// TestBecatListen serves one connection (standard input, given before the connection
// exists, is sent once it does) and ends when the client closes; with -k it serves
// two connections one after the other and ends through the context.
func TestBecatListen(t *testing.T) {
	fds := outlines.FDsBefore()
	t.Cleanup(func() { // registered first, so it runs after the test's other cleanups
		if err := outlines.NoFDLeak(fds); err != nil {
			t.Error(err)
		}
	})
	out := &outlines.Writer{}
	addr, done := listen(t, context.Background(), strings.NewReader("welcome\n"), out)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if l, err := bufio.NewReader(c).ReadString('\n'); err != nil || l != "welcome\n" {
		t.Fatalf("read %q, %v", l, err)
	}
	io.WriteString(c, "from client\n")
	c.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if out.String() != "from client\n" {
		t.Fatalf("stdout %q", out)
	}

	ctx, cancel := context.WithCancel(context.Background())
	out = &outlines.Writer{}
	addr, done = listen(t, ctx, strings.NewReader(""), out, "-k")
	for i, msg := range []string{"one\n", "two\n"} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, msg)
		c.Close()
		if _, ok := out.Wait(msg[:3], 5*time.Second); !ok {
			t.Fatalf("connection %d: stdout %q", i, out)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestBecatTLS runs a TLS listener and a TLS client, both becat: the client's standard
// input (with -N, the connection closes once it was sent) reaches the listener's
// standard output, and both print the same certificate fingerprint.
func TestBecatTLS(t *testing.T) {
	fds := outlines.FDsBefore()
	t.Cleanup(func() { // registered first, so it runs after the test's other cleanups
		if err := outlines.NoFDLeak(fds); err != nil {
			t.Error(err)
		}
	})
	out := &outlines.Writer{}
	srvErr := &outlines.Writer{}
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), []string{"-S", "-l", "127.0.0.1", "0"}, strings.NewReader(""), out, srvErr)
	}()
	addr, ok := srvErr.Wait("listening on ", 5*time.Second)
	if !ok {
		t.Fatalf("not listening: %s", srvErr)
	}
	fp, _ := srvErr.Wait("certificate SHA-256 ", time.Second)
	host, port, _ := net.SplitHostPort(addr)
	payload := strings.Repeat("secret line\n", 20000) // 240 KB
	var cliErr outlines.Writer
	if err := run(context.Background(), []string{"-S", "-N", host, port}, strings.NewReader(payload), io.Discard, &cliErr); err != nil {
		t.Fatalf("client: %v %s", err, cliErr.String())
	}
	if err := <-done; err != nil {
		t.Fatalf("server: %v", err)
	}
	if out.String() != payload {
		t.Fatalf("server got %d bytes of %d", len(out.String()), len(payload))
	}
	if fp == "" || !strings.Contains(cliErr.String(), "peer certificate SHA-256 "+fp) {
		t.Fatalf("fingerprints: server %q, client %s", fp, cliErr.String())
	}
}

// TestBecatTimeout gives up on a silent peer after the read timeout.
func TestBecatTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			peer <- c // silent until the test ends
		}
	}()
	defer func() {
		select {
		case c := <-peer:
			c.Close()
		default:
		}
	}()
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	err = run(context.Background(), []string{"-t", "100ms", host, port}, strings.NewReader(""), io.Discard, io.Discard)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("got %v, want a timeout", err)
	}
}

func TestBecatBadArgs(t *testing.T) {
	for _, args := range [][]string{nil, {"host"}, {"-k", "127.0.0.1", "1"}, {"127.0.0.1", "99999"}, {"-t", "-1s", "127.0.0.1", "1"},
		{"-K", "-1s", "127.0.0.1", "1"}, {"-p", "70000", "127.0.0.1", "1"}, {"-s", "localhost", "127.0.0.1", "1"},
		{"-p", "1"},               // connecting needs HOST PORT
		{"-l", "-s", "127.0.0.1"}, // listening without HOST PORT needs -p
	} {
		if err := run(context.Background(), args, strings.NewReader(""), io.Discard, io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	// Refused: reported as an error.
	if err := run(context.Background(), []string{"127.0.0.1", "1"}, strings.NewReader(""), io.Discard, io.Discard); err == nil {
		t.Error("refused connection not reported")
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// -s and -p: connecting, the connection comes from that address and port
// (also over TLS); listening, becat listens on them, HOST and PORT left out
// or overridden (libevent's becat listens on its source address).
func TestBecatSourceAddress(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		t.Run(fmt.Sprintf("connect/tls=%v", tlsOn), func(t *testing.T) {
			var srvArgs []string
			if tlsOn {
				srvArgs = []string{"-S"}
			}
			out := &outlines.Writer{}
			addr, done := listen(t, context.Background(), strings.NewReader(""), out, append(srvArgs, "-v")...)
			src := freePort(t)
			host, port, _ := net.SplitHostPort(addr)
			var cliErr outlines.Writer
			args := append(srvArgs, "-N", "-s", "127.0.0.1", "-p", strconv.Itoa(src), host, port)
			if err := run(context.Background(), args, strings.NewReader("from a chosen port\n"), io.Discard, &cliErr); err != nil {
				t.Fatalf("client: %v %s", err, cliErr.String())
			}
			if err := <-done; err != nil {
				t.Fatalf("server: %v", err)
			}
			if out.String() != "from a chosen port\n" {
				t.Fatalf("server got %q", out.String())
			}
		})
	}
	// The listener sees the source port (a plain listener, to read RemoteAddr).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	from := make(chan net.Addr, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		from <- c.RemoteAddr()
	}()
	src := freePort(t)
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if err := run(context.Background(), []string{"-s", "127.0.0.1", "-p", strconv.Itoa(src), host, port}, strings.NewReader(""), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if a := (<-from).(*net.TCPAddr); a.Port != src || !a.IP.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("connection from %v; want 127.0.0.1:%d", a, src)
	}

	for _, args := range [][]string{
		{"-l", "-p", "PORT"},                                // no HOST PORT: -s defaults to 127.0.0.1
		{"-l", "-s", "127.0.0.1", "-p", "PORT"},             // -s and -p
		{"-l", "-s", "127.0.0.1", "-p", "PORT", "::1", "1"}, // they override HOST PORT
	} {
		t.Run(fmt.Sprintf("listen %q", args), func(t *testing.T) {
			p := strconv.Itoa(freePort(t))
			for i := range args {
				if args[i] == "PORT" {
					args[i] = p
				}
			}
			out, errOut := &outlines.Writer{}, &outlines.Writer{}
			done := make(chan error, 1)
			go func() { done <- run(context.Background(), args, strings.NewReader(""), out, errOut) }()
			addr, ok := errOut.Wait("listening on ", 5*time.Second)
			if !ok || addr != "127.0.0.1:"+p {
				t.Fatalf("listening on %q; want 127.0.0.1:%s (%s)", addr, p, errOut)
			}
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(c, "hi\n")
			c.Close()
			if err := <-done; err != nil || out.String() != "hi\n" {
				t.Fatalf("run: %v, stdout %q", err, out)
			}
		})
	}
}
