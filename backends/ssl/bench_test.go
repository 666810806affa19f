//go:build linux

package ssl_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bufev/bufev/backends/socket"
	"github.com/bufev/bufev/backends/ssl"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
)

// The benchmarks measure the servers the way the bench module does: the
// server runs in the benchmark process, the client (crypto/tls, or net.Conn
// for the plain reference, identical for every server) in a child process
// — this test binary re-executed with benchChildEnv=1 — so cpu-ns/op
// (getrusage RUSAGE_SELF over the measured phase) and allocs/op are the
// server's alone. Protocol on the child's stdio:
//
//	child  → parent  "READY <tls version> <cipher suite>\n"  connected, one round trip done
//	parent → child   "GO\n"                                  start the measured phase
//	child  → parent  "DONE <p50 ns> <p99 ns>\n"              round-trip latencies (0 when streaming)

func init() { benchChild = runBenchChild }

// echoServer is an echo server under test: ssl (or, for the plain
// reference, socket) bufferevents on one loop ("bufev"), or crypto/tls over
// net.Conn (plain net.Conn) with a goroutine per connection ("stdlib").
type echoServer struct {
	addr  string
	close func()
}

// startBufevEcho serves TLS with cfg, or plain TCP when cfg is nil.
func startBufevEcho(b *testing.B, cfg *tls.Config) *echoServer {
	b.Helper()
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		b.Fatal(err)
	}
	echo := func(in, out *evbuffer.Buffer) { _ = out.AddBuffer(in) }
	var bevs []*bufferevent.BufferEvent
	ln, err := socket.Listen(base, "tcp", "127.0.0.1:0", func(_ *socket.Listener, fd int, _ net.Addr) {
		// The socket backend sets TCP_NODELAY itself, as Go's net package does.
		var bev *bufferevent.BufferEvent
		var err error
		if cfg != nil {
			bev, err = ssl.NewSocket(base, fd, cfg, ssl.Accepting, bufferevent.CloseOnFree)
		} else {
			bev, err = socket.New(base, fd, bufferevent.CloseOnFree)
			if err == nil {
				// 64 KiB per system call, as the ssl backend's hidden socket.
				err = bev.SetMaxSingleRead(64 << 10)
			}
			if err == nil {
				err = bev.SetMaxSingleWrite(64 << 10)
			}
		}
		if err != nil {
			b.Error(err)
			_ = syscall.Close(fd)
			return
		}
		bevs = append(bevs, bev)
		_ = bev.SetWatermark(bufferevent.Read, 0, 256<<10)
		_ = bev.SetCallbacks(func(bev *bufferevent.BufferEvent) { _ = bev.WithLock(echo) }, nil,
			func(bev *bufferevent.BufferEvent, what bufferevent.Events, _ error) {
				if what&(bufferevent.EOF|bufferevent.Error) != 0 {
					_ = bev.Close()
				}
			})
		_ = bev.Enable(bufferevent.ReadWrite)
	}, socket.ListenerOptions{})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = base.Loop(eventbase.LoopNoExitOnEmpty)
		close(done)
	}()
	return &echoServer{addr: ln.Addr().String(), close: func() {
		_ = base.Do(context.Background(), func() {
			_ = ln.Close()
			for _, bev := range bevs {
				_ = bev.Close()
			}
		})
		base.LoopBreak()
		<-done
		base.Close()
	}}
}

// startStdEcho serves TLS with cfg, or plain TCP when cfg is nil: a
// goroutine per connection, blocking reads and writes through a 32 KiB
// buffer (the standard library idiom, as in the bench module).
func startStdEcho(b *testing.B, cfg *tls.Config) *echoServer {
	b.Helper()
	var ln net.Listener
	var err error
	if cfg != nil {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", cfg)
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 32<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						if _, werr := c.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return &echoServer{addr: ln.Addr().String(), close: func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var benchServers = []struct {
	name  string
	start func(*testing.B, *tls.Config) *echoServer
}{
	{"bufev", startBufevEcho},
	{"stdlib", startStdEcho},
}

// negotiated is the TLS version and cipher suite the first TLS run
// negotiated; every other run must negotiate the same.
var negotiated string

// runEchoBench starts a server, runs the client in a child process for
// b.N messages and reports the server's CPU and allocations per message and
// the client's round-trip latency quantiles. ns/op is the wall time per
// message: the mean round trip when ping-ponging.
func runEchoBench(b *testing.B, start func(*testing.B, *tls.Config) *echoServer, useTLS bool, mode string, size int) {
	var srvCfg *tls.Config
	var caPEM []byte
	if useTLS {
		p := testPKI(b)
		srvCfg, caPEM = p.serverConfig(), p.caPEM
	}
	s := start(b, srvCfg)
	defer s.close()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if cpus := os.Getenv("SSL_BENCH_CLIENT_CPUS"); cpus != "" {
		// Pin the client (taskset's CPU list syntax), to compare the
		// servers with a fixed placement; see Performance in doc.go.
		cmd = exec.Command("taskset", "-c", cpus, os.Args[0], "-test.run=^$")
	}
	cmd.Env = append(os.Environ(),
		benchChildEnv+"=1",
		"SSL_BENCH_ADDR="+s.addr,
		"SSL_BENCH_MODE="+mode,
		"SSL_BENCH_SIZE="+strconv.Itoa(size),
		"SSL_BENCH_MSGS="+strconv.Itoa(b.N),
		"SSL_BENCH_CA="+string(caPEM))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Wait() }()
	defer stdin.Close()
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "READY") {
		_ = cmd.Process.Kill()
		b.Fatalf("client: %q %v", line, err)
	}
	if state := strings.TrimSpace(strings.TrimPrefix(line, "READY")); useTLS {
		if negotiated == "" {
			negotiated = state
			b.Logf("client and servers negotiate %s", state)
		} else if state != negotiated {
			b.Fatalf("negotiated %q, an earlier run %q: the servers must be compared on the same TLS version and cipher suite", state, negotiated)
		}
	}

	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	if _, err := io.WriteString(stdin, "GO\n"); err != nil {
		b.Fatal(err)
	}
	line, err = out.ReadString('\n')
	cpu := cpuTime() - cpu0
	b.StopTimer()
	var p50, p99 int64
	if _, perr := fmt.Sscanf(strings.TrimSpace(line), "DONE %d %d", &p50, &p99); err != nil || perr != nil {
		_ = cmd.Process.Kill()
		b.Fatalf("client: %q %v %v", line, err, perr)
	}
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
	if mode == "pingpong" {
		b.ReportMetric(float64(p50)/1e3, "p50-µs")
		b.ReportMetric(float64(p99)/1e3, "p99-µs")
	}
}

// BenchmarkTLSEcho compares a TLS echo server made of ssl bufferevents on
// one loop with crypto/tls over net.Conn and a goroutine per connection,
// in one run, against the same crypto/tls client in a child process.
// PingPong sends one message and waits for its echo (ns/op is the mean
// round trip); Stream keeps 16 KiB messages flowing both ways (MB/s).
// cpu-ns/op and allocs/op are the server's per message.
//
//	cd backends/ssl && go test -run '^$' -bench 'TLSEcho|PlainEcho' -benchmem -count 6
func BenchmarkTLSEcho(b *testing.B) {
	for _, size := range []int{64, 16 << 10} {
		for _, srv := range benchServers {
			b.Run(fmt.Sprintf("PingPong-%d/%s", size, srv.name), func(b *testing.B) {
				runEchoBench(b, srv.start, true, "pingpong", size)
			})
		}
	}
	for _, srv := range benchServers {
		b.Run("Stream-16384/"+srv.name, func(b *testing.B) {
			runEchoBench(b, srv.start, true, "stream", 16<<10)
		})
	}
}

// BenchmarkPlainEchoReference is the same 64-byte ping-pong without TLS
// (socket bufferevents on one loop against net.Conn with a goroutine per
// connection), to separate what the loop and socket layers cost from what
// the TLS layer adds in BenchmarkTLSEcho.
func BenchmarkPlainEchoReference(b *testing.B) {
	for _, srv := range benchServers {
		b.Run("PingPong-64/"+srv.name, func(b *testing.B) {
			runEchoBench(b, srv.start, false, "pingpong", 64)
		})
	}
}

// runBenchChild is the child process's main: one client connection, TLS
// when SSL_BENCH_CA holds the CA certificate.
func runBenchChild() int {
	if err := benchClient(); err != nil {
		fmt.Fprintln(os.Stderr, "ssl bench child:", err)
		return 1
	}
	return 0
}

func benchClient() error {
	addr, mode := os.Getenv("SSL_BENCH_ADDR"), os.Getenv("SSL_BENCH_MODE")
	size, err := strconv.Atoi(os.Getenv("SSL_BENCH_SIZE"))
	if err != nil {
		return err
	}
	msgs, err := strconv.Atoi(os.Getenv("SSL_BENCH_MSGS"))
	if err != nil {
		return err
	}
	var c net.Conn
	state := "plain"
	if ca := os.Getenv("SSL_BENCH_CA"); ca != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(ca)) {
			return fmt.Errorf("bad CA certificate")
		}
		tc, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "localhost"})
		if err != nil {
			return err
		}
		cs := tc.ConnectionState()
		state = tls.VersionName(cs.Version) + " " + tls.CipherSuiteName(cs.CipherSuite)
		c = tc
	} else if c, err = net.Dial("tcp", addr); err != nil {
		return err
	}
	defer c.Close()
	msg, reply := make([]byte, size), make([]byte, size)
	for i := range msg {
		msg[i] = byte(i)
	}
	// Warm up with one round trip.
	if _, err := c.Write(msg); err != nil {
		return err
	}
	if _, err := io.ReadFull(c, reply); err != nil {
		return err
	}
	fmt.Printf("READY %s\n", strings.ReplaceAll(state, " ", "/"))
	if line, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil || line != "GO\n" {
		return fmt.Errorf("waiting for GO: %q %v", line, err)
	}
	var p50, p99 time.Duration
	if mode == "stream" {
		errc := make(chan error, 1)
		go func() {
			for range msgs {
				if _, err := c.Write(msg); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
		buf := make([]byte, 64<<10)
		for want := msgs * size; want > 0; {
			n, err := c.Read(buf[:min(len(buf), want)])
			if err != nil {
				return err
			}
			want -= n
		}
		if err := <-errc; err != nil {
			return err
		}
	} else {
		lat := make([]time.Duration, msgs)
		for i := range msgs {
			t0 := time.Now()
			if _, err := c.Write(msg); err != nil {
				return err
			}
			if _, err := io.ReadFull(c, reply); err != nil {
				return err
			}
			lat[i] = time.Since(t0)
			if reply[0] != msg[0] || reply[size-1] != msg[size-1] {
				return fmt.Errorf("echo mismatch")
			}
		}
		slices.Sort(lat)
		p50, p99 = lat[len(lat)/2], lat[len(lat)*99/100]
	}
	_, err = fmt.Printf("DONE %d %d\n", p50.Nanoseconds(), p99.Nanoseconds())
	return err
}
