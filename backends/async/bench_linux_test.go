//go:build linux

package async

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bufev/bufev/backends/socket"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
	"golang.org/x/sys/unix"
)

// BenchmarkEcho compares the async backend with the socket backend on an echo server:
// ping-pong of 64-byte messages over 1, 50 and 1000 connections (1000 skipped with
// -short) and streaming of 4 KiB messages over 50 connections. One op is one echoed
// message. The load generator runs in a child process (this test binary re-executed),
// so the metrics of this process are the server's alone:
//
//   - cpu-ns/msg: user+system CPU time of this process (getrusage) over the measured
//     phase per message — the server's CPU, its kernel time (system calls, io_uring
//     submission and completion work, loopback TCP it triggers) included;
//   - msgs/s: messages per second of wall time (noisy on a shared machine: the client
//     competes for the same cores);
//   - allocs/op: the server's allocations per message.
//
// server=async-si is the async backend with SetSingleIssuer. Each server runs one
// event loop, locked to its OS thread, with a listener of its own type, and read and write up to 64 KiB at once (SetMaxSingleRead/Write); the read
// callback moves the input to the output (a chain splice). Run:
//
//	go test -run '^$' -bench Echo -benchtime 20000x -count 5 | tee echo.txt
//	benchstat -col /server echo.txt
func BenchmarkEcho(b *testing.B) {

	scenarios := []struct {
		name        string
		stream      bool
		conns, size int
	}{
		{"pingpong/size=64/conns=1", false, 1, 64},
		{"pingpong/size=64/conns=50", false, 50, 64},
		{"pingpong/size=64/conns=1000", false, 1000, 64},
		{"stream/size=4096/conns=50", true, 50, 4096},
	}
	for _, sc := range scenarios {
		for _, srv := range []string{"socket", "async", "async-si"} {
			b.Run(sc.name+"/server="+srv, func(b *testing.B) {
				if sc.conns >= 1000 && testing.Short() {
					b.Skip("-short: 1000 connections skipped")
				}
				if srv != "socket" && Available() != nil {
					b.Skipf("io_uring unavailable: %v", Available())
				}
				runEcho(b, srv, sc.stream, sc.conns, sc.size)
			})
		}
	}
}

// echoServer runs an echo server of the given backend on its own locked goroutine.
func echoServer(tb testing.TB, kind string) (addr string, stop func()) {
	ready := make(chan string, 1)
	done := make(chan struct{})
	var base *eventbase.Base
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var err error
		base, err = eventbase.New(eventbase.Config{})
		if err != nil {
			tb.Error(err)
			ready <- ""
			return
		}
		defer base.Close()
		bevs := map[*bufferevent.BufferEvent]struct{}{}
		read := func(bev *bufferevent.BufferEvent) { bev.Output().AddBuffer(bev.Input()) }
		event := func(bev *bufferevent.BufferEvent, _ bufferevent.Events, _ error) {
			delete(bevs, bev)
			bev.Close()
		}
		serve := func(fd int, newBEV func(*eventbase.Base, int, bufferevent.Options) (*bufferevent.BufferEvent, error)) {
			unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
			bev, err := newBEV(base, fd, bufferevent.CloseOnFree)
			if err != nil {
				unix.Close(fd)
				return
			}
			bev.SetMaxSingleRead(64 << 10)
			bev.SetMaxSingleWrite(64 << 10)
			bev.SetCallbacks(read, nil, event)
			bev.Enable(bufferevent.ReadWrite)
			bevs[bev] = struct{}{}
		}
		var closeLn func()
		if kind == "async-si" {
			if err := SetSingleIssuer(base); err != nil {
				tb.Error(err)
				ready <- ""
				return
			}
		}
		if kind != "socket" {
			ln, err := Listen(base, "tcp4", "127.0.0.1:0", func(_ *Listener, fd int, _ net.Addr) { serve(fd, New) }, ListenerOptions{})
			if err != nil {
				tb.Error(err)
				ready <- ""
				return
			}
			closeLn = func() { ln.Close() }
			ready <- ln.Addr().String()
		} else {
			ln, err := socket.Listen(base, "tcp4", "127.0.0.1:0", func(_ *socket.Listener, fd int, _ net.Addr) { serve(fd, socket.New) }, socket.ListenerOptions{})
			if err != nil {
				tb.Error(err)
				ready <- ""
				return
			}
			closeLn = func() { ln.Close() }
			ready <- ln.Addr().String()
		}
		if err := base.Loop(eventbase.LoopNoExitOnEmpty); err != nil {
			tb.Error(err)
		}
		closeLn()
		for bev := range bevs {
			bev.Close()
		}
		for range 3 {
			base.Loop(eventbase.LoopNonBlock)
		}
	}()
	addr = <-ready
	if addr == "" {
		tb.FailNow()
	}
	return addr, func() {
		base.LoopBreak()
		<-done
	}
}

func runEcho(b *testing.B, kind string, stream bool, conns, size int) {
	addr, stop := echoServer(b, kind)
	defer stop()
	mode := "pingpong"
	if stream {
		mode = "stream"
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), benchChildEnv+"="+strings.Join([]string{addr, mode, strconv.Itoa(conns), strconv.Itoa(size), strconv.Itoa(b.N)}, ","))
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	out := bufio.NewReader(stdout)
	if line, err := out.ReadString('\n'); err != nil || line != "READY\n" {
		cmd.Process.Kill()
		b.Fatalf("client: %q %v", line, err)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	t0 := time.Now()
	io.WriteString(stdin, "GO\n")
	line, err := out.ReadString('\n')
	elapsed := time.Since(t0)
	cpu := processCPU() - cpu0
	b.StopTimer()
	if err != nil || line != "DONE\n" {
		cmd.Process.Kill()
		b.Fatalf("client: %q %v", line, err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/msg")
}

func processCPU() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The load generator (child process).

const benchChildEnv = "ASYNC_BENCH_CHILD"

func benchChild(spec string) int {
	f := strings.Split(spec, ",")
	if len(f) != 5 {
		fmt.Fprintln(os.Stderr, "bad spec", spec)
		return 2
	}
	addr, mode := f[0], f[1]
	conns, _ := strconv.Atoi(f[2])
	size, _ := strconv.Atoi(f[3])
	msgs, _ := strconv.Atoi(f[4])
	cs := make([]net.Conn, conns)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	sem := make(chan struct{}, 64)
	for i := range cs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", addr, 10*time.Second)
			if err != nil {
				fail(err)
				return
			}
			cs[i] = c
			msg := make([]byte, size)
			if _, err := c.Write(msg); err != nil {
				fail(err)
				return
			}
			if _, err := io.ReadFull(c, msg); err != nil {
				fail(err)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		fmt.Fprintln(os.Stderr, firstErr)
		return 1
	}
	fmt.Println("READY")
	if line, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil || line != "GO\n" {
		return 1
	}
	for i, c := range cs {
		n := msgs / conns
		if i < msgs%conns {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := make([]byte, size)
			if mode == "stream" {
				go func() {
					for range n {
						if _, err := c.Write(msg); err != nil {
							fail(err)
							return
						}
					}
				}()
				buf := make([]byte, 64<<10)
				for want := n * size; want > 0; {
					m, err := c.Read(buf[:min(len(buf), want)])
					if err != nil {
						fail(err)
						return
					}
					want -= m
				}
				return
			}
			buf := make([]byte, size)
			for range n {
				if _, err := c.Write(msg); err != nil {
					fail(err)
					return
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					fail(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, c := range cs {
		c.Close()
	}
	if firstErr != nil {
		fmt.Fprintln(os.Stderr, firstErr)
		return 1
	}
	fmt.Println("DONE")
	return 0
}
