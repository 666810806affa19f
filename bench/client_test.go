//go:build linux || darwin || freebsd

package bench

import (
	"bufio"
	"fmt"
	"io"
	"math/bits"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

// The load generator runs in a child process (this test binary, re-executed with
// BENCH_CHILD=1) so that the benchmark process's CPU time and allocations are the
// server's alone. Protocol on the child's stdio:
//
//	child  → parent  "READY\n"              all connections open and warmed up
//	parent → child   "GO\n"                 start the measured phase
//	child  → parent  "DONE msgs p50 p99\n"  latencies in ns (0 for streaming)

const childEnv = "BENCH_CHILD"

// childConfig is passed through the environment.
type childConfig struct {
	Addr  string
	Mode  string // "pingpong" or "stream"
	Conns int
	Size  int
	Msgs  int // total over all connections
}

func (c childConfig) env() []string {
	return []string{
		childEnv + "=1",
		"BENCH_ADDR=" + c.Addr,
		"BENCH_MODE=" + c.Mode,
		"BENCH_CONNS=" + strconv.Itoa(c.Conns),
		"BENCH_SIZE=" + strconv.Itoa(c.Size),
		"BENCH_MSGS=" + strconv.Itoa(c.Msgs),
	}
}

func childConfigFromEnv() (childConfig, error) {
	var c childConfig
	var err error
	atoi := func(k string) int {
		n, e := strconv.Atoi(os.Getenv(k))
		if e != nil && err == nil {
			err = fmt.Errorf("%s: %w", k, e)
		}
		return n
	}
	c.Addr = os.Getenv("BENCH_ADDR")
	c.Mode = os.Getenv("BENCH_MODE")
	c.Conns = atoi("BENCH_CONNS")
	c.Size = atoi("BENCH_SIZE")
	c.Msgs = atoi("BENCH_MSGS")
	return c, err
}

// runChild is the load generator's main.
func runChild() int {
	cfg, err := childConfigFromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench child:", err)
		return 2
	}
	if err := clientRun(cfg, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench child:", err)
		return 1
	}
	return 0
}

func clientRun(cfg childConfig, in io.Reader, out io.Writer) error {
	conns := make([]net.Conn, cfg.Conns)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	// Dial with bounded parallelism so a 1000-connection run does not overflow the backlog.
	var wg sync.WaitGroup
	errs := make(chan error, cfg.Conns)
	sem := make(chan struct{}, 64)
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", cfg.Addr, 10*time.Second)
			if err != nil {
				errs <- err
				return
			}
			conns[i] = c
			// Warm up: one round trip proves the server serves this connection.
			msg := make([]byte, cfg.Size)
			if _, err := c.Write(msg); err != nil {
				errs <- err
				return
			}
			if _, err := io.ReadFull(c, msg); err != nil {
				errs <- err
			}
		}(i)
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	if _, err := io.WriteString(out, "READY\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil || line != "GO\n" {
		return fmt.Errorf("waiting for GO: %q %v", line, err)
	}

	hists := make([]histogram, cfg.Conns)
	for i, c := range conns {
		n := cfg.Msgs / cfg.Conns
		if i < cfg.Msgs%cfg.Conns {
			n++
		}
		if n == 0 {
			continue
		}
		wg.Add(1)
		go func(c net.Conn, n int, h *histogram) {
			defer wg.Done()
			var err error
			if cfg.Mode == "stream" {
				err = streamConn(c, n, cfg.Size)
			} else {
				err = pingPongConn(c, n, cfg.Size, h)
			}
			if err != nil {
				errs <- err
			}
		}(c, n, &hists[i])
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	var total histogram
	for i := range hists {
		total.merge(&hists[i])
	}
	_, err = fmt.Fprintf(out, "DONE %d %d %d\n", cfg.Msgs, total.quantile(0.50), total.quantile(0.99))
	return err
}

// pingPongConn sends one message and waits for its echo, n times.
func pingPongConn(c net.Conn, n, size int, h *histogram) error {
	msg := make([]byte, size)
	buf := make([]byte, size)
	for i := range msg {
		msg[i] = byte(i)
	}
	for range n {
		t0 := time.Now()
		if _, err := c.Write(msg); err != nil {
			return err
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			return err
		}
		h.record(time.Since(t0))
		if buf[0] != msg[0] || buf[size-1] != msg[size-1] {
			return fmt.Errorf("echo mismatch")
		}
	}
	return nil
}

// streamConn writes n messages back to back while a second goroutine reads the echo.
func streamConn(c net.Conn, n, size int) error {
	werr := make(chan error, 1)
	go func() {
		msg := make([]byte, size)
		for range n {
			if _, err := c.Write(msg); err != nil {
				werr <- err
				return
			}
		}
		werr <- nil
	}()
	buf := make([]byte, 64<<10)
	want := n * size
	for want > 0 {
		m, err := c.Read(buf[:min(len(buf), want)])
		if err != nil {
			return err
		}
		want -= m
	}
	return <-werr
}

// histogram is a log-linear latency histogram (about 3% resolution) that needs no
// allocation per sample.
type histogram struct {
	counts [64 + 58*32]uint64
	n      uint64
}

func (h *histogram) record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[bucketOf(v)]++
	h.n++
}

func bucketOf(v uint64) int {
	if v < 64 {
		return int(v)
	}
	e := bits.Len64(v) - 6 // v>>e is in [32, 64)
	return 64 + (e-1)*32 + int(v>>e) - 32
}

func bucketValue(i int) uint64 {
	if i < 64 {
		return uint64(i)
	}
	e := (i-64)/32 + 1
	m := uint64((i-64)%32 + 32)
	return m << e
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}

// quantile returns the smallest recorded bucket value at or above quantile q, in ns.
func (h *histogram) quantile(q float64) uint64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return bucketValue(i)
		}
	}
	return bucketValue(len(h.counts) - 1)
}
