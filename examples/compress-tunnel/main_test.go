package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bufev/bufev/examples/internal/outlines"
)

// start runs one end of the tunnel and returns its address and a stop function that
// returns its output.
func start(t *testing.T, args ...string) (string, func() string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &outlines.Writer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, append(args, "-listen", "127.0.0.1:0"), out, out) }()
	rest, ok := out.Wait(" listening on ", 5*time.Second)
	if !ok {
		cancel()
		t.Fatalf("not started: %v\n%s", <-done, out)
	}
	addr, _, _ := strings.Cut(rest, ",")
	return addr, func() string {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v\n%s", err, out)
		}
		return out.String()
	}
}

// logLines makes n bytes of compressible, log-like text.
func logLines(n int) []byte {
	var b bytes.Buffer
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "2026-11-26T08:%02d:%02d.%03dZ INFO request id=%d path=/api/v1/items/%d status=200 bytes=%d\n",
			i/60%60, i%60, i%1000, i, r.IntN(5000), r.IntN(100000))
	}
	return b.Bytes()[:n]
}

// TestTunnel pushes 4 MiB of log text through a client end and a server end to an
// echo server and back, for each codec: every byte comes back in order, both ends
// report the same compressed byte count, and the text compressed by at least 3x.
// Interactive round trips (a line at a time) also work: the compressor is flushed.
func TestTunnel(t *testing.T) {
	fds := outlines.FDsBefore()
	t.Cleanup(func() { // registered first, so it runs after the test's other cleanups
		if err := outlines.NoFDLeak(fds); err != nil {
			t.Error(err)
		}
	})
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() {
				// Plain Reader and Writer: TCP-to-TCP io.Copy would splice through
				// pooled pipes that outlive the test and look like leaked descriptors.
				io.Copy(struct{ io.Writer }{c}, struct{ io.Reader }{c})
				c.Close()
			}()
		}
	}()
	data := logLines(4 << 20)
	for _, codec := range []string{"zstd", "deflate"} {
		t.Run(codec, func(t *testing.T) {
			srvAddr, stopSrv := start(t, "-mode", "server", "-codec", codec, "-connect", echo.Addr().String())
			cliAddr, stopCli := start(t, "-mode", "client", "-codec", codec, "-connect", srvAddr)

			c, err := net.Dial("tcp", cliAddr)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(30 * time.Second))
			r := bufio.NewReader(c)
			for i := range 5 { // interactive: one line, wait for it
				line := fmt.Sprintf("ping %d\n", i)
				c.Write([]byte(line))
				if got, err := r.ReadString('\n'); err != nil || got != line {
					t.Fatalf("round trip %d: %q, %v", i, got, err)
				}
			}
			// The client reads everything, then closes (TestTunnelHalfClose covers a
			// client that half-closes first).
			go c.Write(data)
			got := make([]byte, len(data))
			_, err = io.ReadFull(r, got)
			c.Close()
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("bulk: %d of %d bytes back, equal %v, %v", len(got), len(data), bytes.Equal(got, data), err)
			}
			// Let both ends see the close before stopping them.
			time.Sleep(200 * time.Millisecond)
			cliOut, srvOut := stopCli(), stopSrv()
			re := regexp.MustCompile(`(\d+) plain bytes as (\d+) compressed \(ratio ([\d.]+)\)`)
			mc, ms := re.FindStringSubmatch(cliOut), re.FindStringSubmatch(srvOut)
			if mc == nil || ms == nil {
				t.Fatalf("summaries:\n%s\n%s", cliOut, srvOut)
			}
			plain, _ := strconv.Atoi(mc[1])
			comp, _ := strconv.Atoi(mc[2])
			if want := 2 * (len(data) + 5*len("ping 0\n")); plain != want {
				t.Errorf("client end: %d plain bytes, want %d", plain, want)
			}
			// Both ends saw every plain byte; the compressed counts may differ by the
			// stream trailers written at close, which the other end may not have read
			// before it was stopped.
			scomp, _ := strconv.Atoi(ms[2])
			if mc[1] != ms[1] || comp-scomp > 64 || scomp-comp > 64 {
				t.Errorf("ends disagree: client %s/%s, server %s/%s", mc[1], mc[2], ms[1], ms[2])
			}
			if plain < 3*comp {
				t.Errorf("ratio %s: log text should compress at least 3x", mc[3])
			}
			t.Logf("%s: %d plain bytes as %d compressed (ratio %s)", codec, plain, comp, mc[3])
		})
	}
}

func TestTunnelBadArgs(t *testing.T) {
	for _, args := range [][]string{
		{"-mode", "both", "-listen", "127.0.0.1:0", "-connect", "127.0.0.1:1"},
		{"-mode", "client", "-listen", "127.0.0.1:0"},
		{"-mode", "client", "-codec", "lzma", "-listen", "127.0.0.1:0", "-connect", "127.0.0.1:1"},
		{"-mode", "client", "-codec", "zstd", "-level", "99", "-listen", "127.0.0.1:0", "-connect", "127.0.0.1:1"},
		// A negative -idle was taken silently for "never" (run then served until its
		// context ended: a cancelled one here).
		{"-mode", "client", "-idle", "-1s", "-listen", "127.0.0.1:0", "-connect", "127.0.0.1:1"},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := run(ctx, args, io.Discard, io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

// TestTunnelHalfClose: a client that sends its request through both ends of the tunnel
// and half-closes still gets the whole response from an upstream that answers only after
// the request's EOF: the client end finishes the compressed stream (trailer, then the
// socket's write side is shut down), the server end passes the EOF on to the upstream,
// and the response flows back until the upstream closes.
func TestTunnelHalfClose(t *testing.T) {
	fds := outlines.FDsBefore()
	t.Cleanup(func() { // registered first, so it runs after the test's other cleanups
		if err := outlines.NoFDLeak(fds); err != nil {
			t.Error(err)
		}
	})
	upstream, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer upstream.Close()
	response := func(req []byte) []byte { return append(bytes.ToUpper(req), req...) }
	go func() {
		for {
			c, err := upstream.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				req, err := io.ReadAll(struct{ io.Reader }{c})
				if err == nil {
					c.Write(response(req))
				}
			}()
		}
	}()
	for _, codec := range []string{"zstd", "deflate"} {
		t.Run(codec, func(t *testing.T) {
			srvAddr, stopSrv := start(t, "-mode", "server", "-codec", codec, "-connect", upstream.Addr().String())
			cliAddr, stopCli := start(t, "-mode", "client", "-codec", codec, "-connect", srvAddr)
			defer func() { stopCli(); stopSrv() }()
			for _, size := range []int{100, 1 << 20} {
				c, err := net.Dial("tcp", cliAddr)
				if err != nil {
					t.Fatal(err)
				}
				c.SetDeadline(time.Now().Add(20 * time.Second))
				req := logLines(size)
				if _, err := c.Write(req); err != nil {
					t.Fatal(err)
				}
				if err := c.(*net.TCPConn).CloseWrite(); err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(struct{ io.Reader }{c})
				c.Close()
				if want := response(req); err != nil || !bytes.Equal(got, want) {
					t.Fatalf("%d-byte request: %d of %d response bytes, %v", size, len(got), len(want), err)
				}
			}
		})
	}
}
