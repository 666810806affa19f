//go:build linux || darwin || freebsd

package bench

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var loopsFlag = flag.Int("loops", 1, "event loops for the bufev and gnet servers")

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(runChild())
	}
	os.Exit(m.Run())
}

// server is one echo server implementation under test, run in this process.
type server struct {
	name  string
	start func(tb testing.TB, loops int) (addr string, stop func())
}

var servers = []server{
	{"bufev", startBufev},
	{"std", startStd},
	{"gnet", startGnet},
}

// scenario is one load shape.
type scenario struct {
	name  string
	mode  string
	conns int
	size  int
}

var scenarios = []scenario{
	{"pingpong/size=64/conns=1", "pingpong", 1, 64},
	{"pingpong/size=64/conns=50", "pingpong", 50, 64},
	{"pingpong/size=64/conns=1000", "pingpong", 1000, 64},
	{"stream/size=4096/conns=50", "stream", 50, 4096},
}

// BenchmarkEcho runs every scenario against every server in one run, so benchstat can
// compare servers (-col /server). One op is one echoed message. Besides ns/op and
// allocs/op (the server's: the client runs in a child process) it reports msgs/s, the
// client-observed p99 round-trip latency (ping-pong only) and the server's CPU time per
// message (user+system time of this process over the measured phase).
func BenchmarkEcho(b *testing.B) {
	for _, sc := range scenarios {
		for _, srv := range servers {
			b.Run(sc.name+"/server="+srv.name, func(b *testing.B) {
				runEcho(b, srv, sc)
			})
		}
	}
}

func runEcho(b *testing.B, srv server, sc scenario) {
	addr, stop := srv.start(b, *loopsFlag)
	defer stop()

	cfg := childConfig{Addr: addr, Mode: sc.mode, Conns: sc.conns, Size: sc.size, Msgs: b.N}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), cfg.env()...)
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
	defer cmd.Wait()
	defer stdin.Close()
	out := bufio.NewReader(stdout)
	if line, err := out.ReadString('\n'); err != nil || line != "READY\n" {
		cmd.Process.Kill()
		b.Fatalf("client: %q %v", line, err)
	}

	b.SetBytes(int64(sc.size))
	b.ReportAllocs()
	b.ResetTimer()
	valgrindControl("-z") // zero callgrind's counters: count the measured phase only
	r0, w0, ioOK := ioCalls()
	ru0 := usage()
	t0 := time.Now()
	if _, err := io.WriteString(stdin, "GO\n"); err != nil {
		b.Fatal(err)
	}
	line, err := out.ReadString('\n')
	elapsed := time.Since(t0)
	ru1 := usage()
	cpu := ru1.cpu() - ru0.cpu()
	r1, w1, ioOK1 := ioCalls()
	valgrindControl("-d", b.Name()) // dump them
	b.StopTimer()
	var msgs, p50, p99 int64
	if _, perr := fmt.Sscanf(strings.TrimSpace(line), "DONE %d %d %d", &msgs, &p50, &p99); err != nil || perr != nil {
		cmd.Process.Kill()
		b.Fatalf("client: %q %v %v", line, err, perr)
	}
	b.ReportMetric(float64(msgs)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(msgs), "cpu-ns/msg")
	if msgs > 0 {
		b.ReportMetric(float64((ru1.user-ru0.user).Nanoseconds())/float64(msgs), "user-ns/msg")
		b.ReportMetric(float64(ru1.vcsw-ru0.vcsw)/float64(msgs), "vcsw/msg")
		b.ReportMetric(float64(ru1.ivcsw-ru0.ivcsw)/float64(msgs), "ivcsw/msg")
	}
	if sc.mode == "pingpong" {
		b.ReportMetric(float64(p99)/1e3, "p99-µs")
	}
	if ioOK && ioOK1 && msgs > 0 {
		b.ReportMetric(float64(r1-r0)/float64(msgs), "reads/msg")
		b.ReportMetric(float64(w1-w0)/float64(msgs), "writes/msg")
	}
}

// rusage is what the benchmark reads of getrusage(RUSAGE_SELF): user and
// system CPU time, and voluntary and involuntary context switches.
type rusage struct {
	user, sys   time.Duration
	vcsw, ivcsw int64
}

func (r rusage) cpu() time.Duration { return r.user + r.sys }

// usage reads this process's rusage (zero if getrusage fails).
func usage() rusage {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return rusage{}
	}
	return rusage{user: time.Duration(ru.Utime.Nano()), sys: time.Duration(ru.Stime.Nano()), vcsw: int64(ru.Nvcsw), ivcsw: int64(ru.Nivcsw)}
}
