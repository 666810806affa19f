//go:build linux || darwin || freebsd

package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bufev/bufev/backends/async"
)

// lineWriter hands each complete output line to a channel (dropping lines nobody waits
// for, so a chatty server never blocks).
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	all   []string
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
		line = strings.TrimSuffix(line, "\n")
		w.all = append(w.all, line)
		select {
		case w.lines <- line:
		default:
		}
	}
}

func (w *lineWriter) output() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.all...)
}

// startServer runs the server with args and returns its address and a stop function that
// ends it and returns run's error.
func startServer(t *testing.T, args ...string) (string, *lineWriter, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &lineWriter{lines: make(chan string, 1)}
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"-listen", "127.0.0.1:0"}, args...), out) }()
	var addr string
	select {
	case line := <-out.lines:
		a, _, _ := strings.Cut(strings.TrimPrefix(line, "ratelimit-server: listening on "), " ")
		if _, _, err := net.SplitHostPort(a); err != nil {
			cancel()
			t.Fatalf("first line %q has no address", line)
		}
		addr = a
	case err := <-done:
		cancel()
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("server did not start")
	}
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("server did not stop")
			return nil
		}
	}
	t.Cleanup(func() { _ = stop() })
	return addr, out, stop
}

// download connects n clients that read for d and returns each one's byte count and the
// time from its dial to the end.
func download(t *testing.T, addr string, n int, d time.Duration) ([]int64, []time.Duration) {
	return downloadWith(t, func() (net.Conn, error) { return net.Dial("tcp", addr) }, n, d)
}

func downloadWith(t *testing.T, dial func() (net.Conn, error), n int, d time.Duration) ([]int64, []time.Duration) {
	t.Helper()
	counts := make([]int64, n)
	spans := make([]time.Duration, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			c, err := dial()
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			end := start.Add(d)
			_ = c.SetReadDeadline(end)
			buf := make([]byte, 64<<10)
			for {
				k, err := c.Read(buf)
				counts[i] += int64(k)
				if err != nil {
					break
				}
			}
			spans[i] = time.Since(start)
		}()
	}
	wg.Wait()
	return counts, spans
}

// checkRates checks each client's rate loosely: never above what its own bucket could give
// (the initial fill — one tick's worth — plus one rate per tick, with two ticks of slack;
// limit is the binding limit for one client), and at least 40% of the expected rate (a
// loaded machine may fall short; a limiter that stalls falls far short).
func checkRates(t *testing.T, counts []int64, spans []time.Duration, expected, limit float64, tick time.Duration) {
	t.Helper()
	for i, c := range counts {
		secs := spans[i].Seconds()
		upper := limit * (secs + 2*tick.Seconds()) * 1.05
		rate := float64(c) / secs
		t.Logf("client %d: %d bytes in %.2fs = %.0f B/s (expected %.0f, at most %.0f)", i, c, secs, rate, expected, limit)
		if float64(c) > upper {
			t.Errorf("client %d got %d bytes; its limit allows at most %.0f", i, c, upper)
		}
		if rate < 0.4*expected {
			t.Errorf("client %d: %.0f B/s, below 40%% of the expected %.0f", i, rate, expected)
		}
	}
}

// Three clients download from a server with a per-connection limit of 200 kB/s and a group
// limit of 450 kB/s for about two seconds: each gets about 150 kB/s (the group's share), the
// server reports per-client rates, and it shuts down cleanly.
func TestServerLimits(t *testing.T) {
	const conn, group, tick = 200000, 450000, 50 * time.Millisecond
	addr, out, stop := startServer(t, "-size", "67108864", "-conn-rate", "200000", "-group-rate", "450000",
		"-tick", tick.String(), "-interval", "500ms")
	counts, spans := download(t, addr, 3, 2*time.Second)
	checkRates(t, counts, spans, group/3, conn, tick)
	var sum int64
	for _, c := range counts {
		sum += c
	}
	// The group's bucket was full (4 ticks' worth) when the clients arrived.
	if maxTotal := group * (2.0 + 6*tick.Seconds()) * 1.05; float64(sum) > maxTotal {
		t.Errorf("clients got %d bytes in all; the group allows at most %.0f", sum, maxTotal)
	}
	t.Logf("all clients: %d bytes = %.0f B/s (group limit %d B/s)", sum, float64(sum)/2, group)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	lines := out.output()
	reports := 0
	for _, l := range lines {
		if strings.Contains(l, " 3 clients, ") && strings.Count(l, " B/s (") == 3 {
			reports++
		}
	}
	if reports == 0 {
		t.Errorf("no report line with three clients in:\n%s", strings.Join(lines, "\n"))
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, "3 connections served") {
		t.Errorf("last line %q", last)
	}
}

// With the async (io_uring) backend, a per-connection limit holds the same way, alone and
// under a tighter group limit.
func TestServerAsyncLimits(t *testing.T) {
	if err := async.Available(); err != nil {
		t.Skipf("io_uring unavailable here: %v", err)
	}
	const conn, tick = 150000, 50 * time.Millisecond
	for _, tc := range []struct {
		name  string
		group int
	}{{"conn", 0}, {"conn+group", 200000}} {
		t.Run(tc.name, func(t *testing.T) {
			addr, _, stop := startServer(t, "-backend", "async", "-size", "67108864", "-conn-rate", "150000",
				"-group-rate", strconv.Itoa(tc.group), "-tick", tick.String())
			counts, spans := download(t, addr, 2, 2*time.Second)
			expected := float64(conn)
			if tc.group > 0 {
				expected = float64(tc.group) / 2
			}
			checkRates(t, counts, spans, expected, conn, tick)
			if tc.group > 0 {
				var sum int64
				for _, c := range counts {
					sum += c
				}
				if maxTotal := float64(tc.group) * (2.0 + 6*tick.Seconds()) * 1.05; float64(sum) > maxTotal {
					t.Errorf("clients got %d bytes in all; the group allows at most %.0f", sum, maxTotal)
				}
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Over TLS the per-connection limit counts ciphertext: the plaintext a client receives
// stays below it (by the records' overhead, about 0.2% with full 16 KiB records).
func TestServerTLSConnLimit(t *testing.T) {
	const conn, tick = 150000, 50 * time.Millisecond
	addr, _, stop := startServer(t, "-tls", "-size", "67108864", "-conn-rate", "150000", "-group-rate", "0",
		"-tick", tick.String())
	counts, spans := downloadWith(t, func() (net.Conn, error) {
		return tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	}, 2, 2*time.Second)
	checkRates(t, counts, spans, conn, conn, tick)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// A small file is sent whole and the connection closed.
func TestServerSendsWholeFile(t *testing.T) {
	for _, backend := range []string{"socket", "async", "tls"} {
		t.Run(backend, func(t *testing.T) {
			if backend == "async" && async.Available() != nil {
				t.Skip("io_uring unavailable here")
			}
			args := []string{"-backend", backend, "-size", "300000", "-conn-rate", "10000000", "-group-rate", "0"}
			dial := net.Dial
			if backend == "tls" {
				args[1] = "socket"
				args = append(args, "-tls")
				dial = func(network, addr string) (net.Conn, error) {
					return tls.Dial(network, addr, &tls.Config{InsecureSkipVerify: true})
				}
			}
			addr, _, stop := startServer(t, args...)
			c, err := dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, err := io.Copy(io.Discard, c)
			if err != nil || n != 300000 {
				t.Fatalf("read %d bytes, %v; want the whole file, 300000, then EOF", n, err)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-backend", "carrier-pigeon"},
		{"-conn-rate", "-1"},
		{"-burst-ticks", "0"},
		{"-tick", "0s"},
		{"-interval", "0s"},
		{"-size", "0"},
		{"-file", "/nonexistent/file"},
		{"extra"},
		{"-tls", "-backend", "async"},
	} {
		if err := run(context.Background(), append([]string{"-listen", "127.0.0.1:0"}, args...), io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}
