package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/bits"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bufev/bufev/backends/socket"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
	"github.com/bufev/bufev/examples/internal/certs"
	"github.com/bufev/bufev/examples/internal/echoserver"
	"github.com/bufev/bufev/examples/internal/proxy"
	"github.com/bufev/bufev/ratelimit"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // -h: usage printed
		}
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

type config struct {
	conns    int
	size     int
	duration time.Duration
	every    time.Duration
	rate     int64
	codec    string
}

// path is one route to the echo service and what its clients measured. Loop-confined
// to the client loop while the clients run.
type path struct {
	name     string
	addr     *net.TCPAddr
	msgs     int64
	errors   int
	firstErr error
	hist     histogram
	lastMsgs int64
	note     string
}

func (p *path) fail(err error) {
	if p.errors++; p.firstErr == nil {
		p.firstErr = err
	}
}

// run starts the servers, runs the clients for the configured duration and reports.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stdout)
	var cfg config
	fs.IntVar(&cfg.conns, "conns", 25, "concurrent client connections per path")
	fs.IntVar(&cfg.size, "size", 512, "message size in bytes (at least 64)")
	fs.DurationVar(&cfg.duration, "duration", 8*time.Second, "how long the clients send")
	fs.DurationVar(&cfg.every, "progress", time.Second, "interval of the progress lines")
	fs.Int64Var(&cfg.rate, "rate", 512<<10, "bytes per second the rate-limited proxy reads from all its clients together")
	fs.StringVar(&cfg.codec, "codec", "zstd", "the tunnel's codec: zstd or deflate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.conns < 1 || cfg.size < 64 || cfg.duration <= 0 || cfg.every <= 0 || cfg.rate < 10 {
		return errors.New("need -conns ≥ 1, -size ≥ 64, positive -duration and -progress, -rate ≥ 10")
	}

	srv, err := startServers(cfg)
	if err != nil {
		return err
	}
	paths := []*path{
		{name: "direct", addr: srv.echoAddr},
		{name: "tls-proxy", addr: srv.tlsProxyAddr},
		{name: cfg.codec + "-tunnel", addr: srv.tunnelAddr},
		{name: "rate-limited", addr: srv.rateAddr},
	}
	fmt.Fprintf(stdout, "bufev demo: %d clients per path × %d-byte messages for %v (loops: servers, proxies, clients; method %s)\n",
		cfg.conns, cfg.size, cfg.duration, srv.method)
	for _, p := range paths {
		fmt.Fprintf(stdout, "  %-13s via %s\n", p.name, p.addr)
	}

	elapsed, cerr := runClients(ctx, cfg, paths, stdout)
	st := srv.stop()

	// The table.
	fmt.Fprintf(stdout, "\n%-13s %6s %10s %9s %10s\n", "path", "conns", "msgs/s", "MB/s", "p99")
	var fails []string
	var sent [4]int64
	for i, p := range paths {
		sent[i] = p.msgs * int64(cfg.size)
		secs := elapsed.Seconds()
		switch i {
		case 1:
			p.note = "le-proxy -s: TLS filter to a TLS echo server"
		case 2:
			saved := st.codec.Plain - st.codec.Compressed
			ratio := 0.0
			if st.codec.Compressed > 0 {
				ratio = float64(st.codec.Plain) / float64(st.codec.Compressed)
			}
			p.note = fmt.Sprintf("compression saved %.1f of %.1f MB (ratio %.1f)", float64(saved)/1e6, float64(st.codec.Plain)/1e6, ratio)
		case 3:
			measured := float64(sent[i]) / secs
			held := "held"
			if measured > float64(cfg.rate)*1.1 {
				held = "EXCEEDED"
			}
			p.note = fmt.Sprintf("rate limit %.0f KiB/s configured, %.0f KiB/s measured (%s)", float64(cfg.rate)/1024, measured/1024, held)
		}
		row := fmt.Sprintf("%-13s %6d %10.0f %9.2f %10v  %s", p.name, cfg.conns, float64(p.msgs)/secs,
			float64(sent[i])/secs/1e6, p.hist.quantile(0.99), p.note)
		fmt.Fprintln(stdout, strings.TrimRight(row, " "))
		switch {
		case p.errors > 0:
			fails = append(fails, fmt.Sprintf("%s: %d errors (first: %v)", p.name, p.errors, p.firstErr))
		case p.msgs == 0:
			fails = append(fails, p.name+": no message was echoed")
		}
	}
	// Every byte the clients got back went through the servers exactly once.
	if want := sent[0] + sent[2] + sent[3]; st.echoBytes != want {
		fails = append(fails, fmt.Sprintf("echo server echoed %d bytes, clients of direct, tunnel and rate-limited got back %d", st.echoBytes, want))
	}
	if st.tlsEchoBytes != sent[1] {
		fails = append(fails, fmt.Sprintf("TLS echo server echoed %d bytes, tls-proxy clients got back %d", st.tlsEchoBytes, sent[1]))
	}
	fmt.Fprintf(stdout, "\nservers: %d connections accepted, %d backpressure pauses; proxies: %d connections relayed, %d bytes\n",
		st.accepted, st.paused, st.proxied, st.proxiedBytes)
	if err := errors.Join(cerr, st.err); err != nil {
		return err
	}
	if len(fails) > 0 {
		return errors.New(strings.Join(fails, "; "))
	}
	fmt.Fprintln(stdout, "all echoed bytes verified: OK")
	return nil
}

// servers is the server side of the demo: two loops.
type servers struct {
	method                                       string
	echoAddr, tlsProxyAddr, tunnelAddr, rateAddr *net.TCPAddr
	stop                                         func() serverStats
}

type serverStats struct {
	echoBytes, tlsEchoBytes int64
	accepted, paused        int
	proxied                 int
	proxiedBytes            int64
	codec                   proxy.CodecStats
	err                     error
}

// startServers starts the echo servers on one loop and the proxies on another.
func startServers(cfg config) (*servers, error) {
	ca, err := certs.NewCA()
	if err != nil {
		return nil, err
	}
	cert, err := ca.Issue("127.0.0.1")
	if err != nil {
		return nil, err
	}
	echoBase, err := eventbase.New(eventbase.Config{})
	if err != nil {
		return nil, err
	}
	proxyBase, err := eventbase.New(eventbase.Config{})
	if err != nil {
		echoBase.Close()
		return nil, err
	}
	var closers []func() error
	fail := func(err error) (*servers, error) {
		for _, c := range closers {
			c()
		}
		echoBase.Close()
		proxyBase.Close()
		return nil, err
	}

	echo, err := echoserver.Listen(echoBase, "tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	closers = append(closers, echo.Close)
	tlsEcho, err := echoserver.ListenOptions(echoBase, "tcp", "127.0.0.1:0",
		echoserver.Options{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	if err != nil {
		return fail(err)
	}
	closers = append(closers, tlsEcho.Close)

	start := func(pc proxy.Config) (*proxy.Server, error) {
		pc.Listen = "127.0.0.1:0"
		s, err := proxy.Start(proxyBase, pc)
		if err == nil {
			closers = append(closers, s.Close)
		}
		return s, err
	}
	tlsProxy, err := start(proxy.Config{Connect: tlsEcho.Addr().String(),
		TLS: &tls.Config{ServerName: "127.0.0.1", RootCAs: ca.Pool()}})
	if err != nil {
		return fail(err)
	}
	tunnelSrv, err := start(proxy.Config{Connect: echo.Addr().String(), Codec: cfg.codec, CompressInbound: true})
	if err != nil {
		return fail(err)
	}
	tunnelCli, err := start(proxy.Config{Connect: tunnelSrv.Addr().String(), Codec: cfg.codec})
	if err != nil {
		return fail(err)
	}
	// The group's buckets refill every 100 ms with a tenth of the rate and hold at most
	// that: the proxy reads from all its clients together at cfg.rate bytes per second.
	perTick := max(cfg.rate/10, 1)
	rcfg, err := ratelimit.NewConfig(perTick, perTick, 1<<40, 1<<40, 100*time.Millisecond)
	if err != nil {
		return fail(err)
	}
	group, err := bufferevent.NewRateLimitGroup(proxyBase, rcfg)
	if err != nil {
		return fail(err)
	}
	closers = append(closers, group.Close)
	rateProxy, err := start(proxy.Config{Connect: echo.Addr().String(), Group: group})
	if err != nil {
		return fail(err)
	}

	var wg sync.WaitGroup
	var st serverStats
	errs := make([]error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		errs[0] = echoBase.Dispatch()
		st.echoBytes, st.tlsEchoBytes = echo.Stats.Bytes, tlsEcho.Stats.Bytes
		st.accepted = echo.Stats.Accepted + tlsEcho.Stats.Accepted
		st.paused = echo.Stats.Paused + tlsEcho.Stats.Paused
		errs[0] = errors.Join(errs[0], echo.Close(), tlsEcho.Close())
	}()
	go func() {
		defer wg.Done()
		errs[1] = proxyBase.Dispatch()
		var cerr []error
		for _, s := range []*proxy.Server{tlsProxy, tunnelSrv, tunnelCli, rateProxy} {
			cerr = append(cerr, s.Close())
			st.proxied += s.Stats().Connections
			st.proxiedBytes += s.Stats().Bytes
		}
		st.codec = tunnelCli.CodecStats() // counted when the connections closed
		cerr = append(cerr, group.Close())
		errs[1] = errors.Join(append(cerr, errs[1])...)
	}()
	return &servers{
		method:       echoBase.Method(),
		echoAddr:     echo.Addr().(*net.TCPAddr),
		tlsProxyAddr: tlsProxy.Addr().(*net.TCPAddr),
		tunnelAddr:   tunnelCli.Addr().(*net.TCPAddr),
		rateAddr:     rateProxy.Addr().(*net.TCPAddr),
		stop: func() serverStats {
			// Let the last closes reach the servers, then stop both loops.
			echoBase.LoopExit(200 * time.Millisecond)
			proxyBase.LoopExit(200 * time.Millisecond)
			wg.Wait()
			echoBase.Close()
			proxyBase.Close()
			st.err = errors.Join(errs...)
			return st
		},
	}, nil
}

// client is one connection's state. Loop-confined to the client loop.
type client struct {
	p       *path
	id      int
	bev     *bufferevent.BufferEvent
	seq     uint64
	sentAt  time.Time
	msg     []byte
	reply   []byte
	running bool
}

// filler is the text messages are made of: compressible, like most protocol traffic.
const filler = `{"method":"GET","path":"/api/v1/items","headers":{"accept":"application/json","user-agent":"bufev-demo"},"query":{"limit":50,"offset":0}} `

// fill writes message seq of this client: a header that changes with every message,
// then filler text.
func (c *client) fill() {
	h := c.msg[:0]
	h = append(h, "path="...)
	h = append(h, c.p.name...)
	h = append(h, " conn="...)
	h = strconv.AppendInt(h, int64(c.id), 10)
	h = append(h, " seq="...)
	h = strconv.AppendUint(h, c.seq, 10)
	h = append(h, ' ')
	for i := len(h); i < len(c.msg); i++ {
		c.msg[i] = filler[(i+int(c.seq))%len(filler)]
	}
}

// runClients drives cfg.conns connections per path on one loop until the duration
// ends, then lets each finish its round trip and closes it.
func runClients(ctx context.Context, cfg config, paths []*path, stdout io.Writer) (time.Duration, error) {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		return 0, err
	}
	defer base.Close()
	var clients []*client
	defer func() {
		for _, c := range clients {
			if c.running {
				c.bev.Close()
			}
		}
	}()
	stopping := false
	open := 0
	finish := func(c *client) {
		if c.running {
			c.running = false
			c.bev.Close()
			if open--; open == 0 {
				base.LoopExit(0)
			}
		}
	}
	send := func(c *client) {
		c.seq++
		c.fill()
		c.sentAt = time.Now()
		c.bev.Write(c.msg)
	}
	for _, p := range paths {
		for id := range cfg.conns {
			bev, err := socket.New(base, -1, bufferevent.CloseOnFree)
			if err != nil {
				return 0, err
			}
			c := &client{p: p, id: id, bev: bev, msg: make([]byte, cfg.size), reply: make([]byte, cfg.size), running: true}
			clients = append(clients, c)
			open++
			bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
				for bev.Input().Len() >= cfg.size {
					bev.Read(c.reply)
					if string(c.reply) != string(c.msg) {
						c.p.fail(fmt.Errorf("echoed %.40q for %.40q", c.reply, c.msg))
						finish(c)
						return
					}
					c.p.hist.record(time.Since(c.sentAt))
					c.p.msgs++
					if stopping {
						finish(c)
						return
					}
					send(c)
				}
			}, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
				if what&bufferevent.Connected != 0 {
					send(c)
					return
				}
				c.p.fail(fmt.Errorf("client event %v: %w", what, err))
				finish(c)
			})
			bev.Enable(bufferevent.Read | bufferevent.Write)
			if err := socket.Connect(bev, p.addr); err != nil {
				return 0, err
			}
		}
	}

	// Progress lines, then the stop.
	start := time.Now()
	var elapsed time.Duration
	lastAt := start
	progress, err := base.NewEvent(-1, eventbase.Persist, func(int, eventbase.What) {
		now := time.Now()
		var b strings.Builder
		fmt.Fprintf(&b, "  %5.1fs", now.Sub(start).Seconds())
		for _, p := range paths {
			fmt.Fprintf(&b, "  %s %6.0f msg/s", p.name, float64(p.msgs-p.lastMsgs)/now.Sub(lastAt).Seconds())
			p.lastMsgs = p.msgs
		}
		fmt.Fprintln(stdout, b.String())
		lastAt = now
	})
	if err != nil {
		return 0, err
	}
	defer progress.Free()
	progress.AddTimeout(cfg.every)
	var stopTimer, deadline *eventbase.Event
	stop := func() {
		if stopping {
			return
		}
		stopping = true
		elapsed = time.Since(start)
		progress.Del()
		stopTimer.Del()
		// Connections finish the round trip in flight and close; a path that cannot
		// finish within 10 s is reported.
		deadline.AddTimeout(10 * time.Second)
	}
	stopTimer, err = base.NewTimer(stop)
	if err != nil {
		return 0, err
	}
	defer stopTimer.Free()
	deadline, err = base.NewTimer(func() {
		for _, c := range clients {
			if c.running {
				c.p.fail(errors.New("round trip not finished 10 s after the stop"))
				finish(c)
			}
		}
	})
	if err != nil {
		return 0, err
	}
	defer deadline.Free()
	stopTimer.AddTimeout(cfg.duration)
	cancelWatch := context.AfterFunc(ctx, func() { base.RunInLoop(stop) })
	defer cancelWatch()
	if err := base.Dispatch(); err != nil {
		return 0, err
	}
	if elapsed == 0 {
		elapsed = time.Since(start)
	}
	return elapsed, nil
}

// histogram is a log-linear latency histogram (about 3% resolution).
type histogram struct {
	counts [64 + 58*32]uint64
	n      uint64
}

func (h *histogram) record(d time.Duration) {
	v := uint64(max(d, 0))
	i := int(v)
	if v >= 64 {
		e := bits.Len64(v) - 6
		i = 64 + (e-1)*32 + int(v>>e) - 32
	}
	h.counts[i]++
	h.n++
}

// quantile returns the latency below which a fraction q of the samples fall.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := max(uint64(q*float64(h.n)+0.5), 1)
	var seen uint64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			if i < 64 {
				return time.Duration(i)
			}
			e := (i-64)/32 + 1
			return (time.Duration((i-64)%32+32) << e).Round(time.Microsecond)
		}
	}
	return 0
}
