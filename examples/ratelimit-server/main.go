package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/bufev/bufev/backends/async"
	"github.com/bufev/bufev/backends/socket"
	"github.com/bufev/bufev/backends/ssl"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
	"github.com/bufev/bufev/examples/internal/certs"
	"github.com/bufev/bufev/ratelimit"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // -h: usage printed
		}
		fmt.Fprintln(os.Stderr, "ratelimit-server:", err)
		os.Exit(1)
	}
}

// options are the parsed flags.
type options struct {
	listen, file, backend string
	tls                   bool
	size                  int64
	connRate, groupRate   int64
	tick, interval        time.Duration
	burstTicks            int64
}

func parse(args []string, stdout io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("ratelimit-server", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:9100", "address to listen on (host:port)")
	fs.StringVar(&o.file, "file", "", "file to serve (default: a generated file of -size bytes, removed at exit)")
	fs.Int64Var(&o.size, "size", 256<<20, "size of the generated file when -file is not given")
	fs.StringVar(&o.backend, "backend", "socket", "socket (readiness, sendfile) or async (io_uring completions)")
	fs.Int64Var(&o.connRate, "conn-rate", 1<<20, "per-connection limit, bytes per second (0: none)")
	fs.Int64Var(&o.groupRate, "group-rate", 4<<20, "limit for all connections together, bytes per second (0: none)")
	fs.DurationVar(&o.tick, "tick", 100*time.Millisecond, "token-bucket tick (whole milliseconds)")
	fs.Int64Var(&o.burstTicks, "burst-ticks", 4, "bucket size in ticks' worth of rate (at least 1)")
	fs.DurationVar(&o.interval, "interval", time.Second, "report interval")
	fs.BoolVar(&o.tls, "tls", false, "serve over TLS with a generated self-signed certificate (socket backend)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	case o.backend != "socket" && o.backend != "async":
		return o, fmt.Errorf("-backend %q: want socket or async", o.backend)
	case o.tls && o.backend != "socket":
		return o, errors.New("-tls needs -backend socket")
	case o.connRate < 0 || o.groupRate < 0:
		return o, errors.New("rates must not be negative")
	case o.burstTicks < 1:
		return o, errors.New("-burst-ticks must be at least 1")
	case o.interval <= 0:
		return o, errors.New("-interval must be positive")
	case o.file == "" && o.size <= 0:
		return o, errors.New("-size must be positive")
	}
	return o, nil
}

// bucket converts a rate in bytes per second into a token-bucket config for the tick: the
// rate per tick (at least one byte) and a burst of burstTicks ticks. nil for rate 0.
func bucket(rate int64, tick time.Duration, burstTicks int64) (*ratelimit.Config, error) {
	if rate == 0 {
		return nil, nil
	}
	perTick := max(int64(float64(rate)*tick.Seconds()), 1)
	return ratelimit.NewConfig(perTick, perTick*burstTicks, perTick, perTick*burstTicks, tick)
}

// client is one connection being served. Loop-confined.
type client struct {
	bev      *bufferevent.BufferEvent
	peer     string
	queued   int64 // bytes of the file put into the output so far
	lastSent int64 // sent at the previous report
	fd       int   // async backend and TLS: the file, read piece by piece; -1 otherwise
}

func (c *client) sent() int64 { return c.queued - int64(c.bev.Output().Len()) }

// server is the loop-confined state.
type server struct {
	o       options
	stdout  io.Writer
	base    *eventbase.Base
	path    string
	size    int64
	connCfg *ratelimit.Config
	tlsCfg  *tls.Config
	group   *bufferevent.RateLimitGroup
	clients map[*bufferevent.BufferEvent]*client
	last    time.Time
	served  int
}

func run(ctx context.Context, args []string, stdout io.Writer) (err error) {
	o, err := parse(args, stdout)
	if err != nil {
		return err
	}
	if o.backend == "async" {
		if err := async.Available(); err != nil {
			return fmt.Errorf("-backend async: %w", err)
		}
	}
	s := &server{clients: map[*bufferevent.BufferEvent]*client{}}
	path := o.file
	if path == "" {
		f, err := os.CreateTemp("", "ratelimit-server-*.bin")
		if err != nil {
			return err
		}
		path = f.Name()
		defer os.Remove(path)
		err = f.Truncate(o.size) // sparse: reads as zeros
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	if o.tls {
		cert, err := certs.SelfSigned()
		if err != nil {
			return err
		}
		s.tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}

	s.o, s.stdout, s.path, s.size = o, stdout, path, st.Size()
	if s.connCfg, err = bucket(o.connRate, o.tick, o.burstTicks); err != nil {
		return fmt.Errorf("-conn-rate: %w", err)
	}
	groupCfg, err := bucket(o.groupRate, o.tick, o.burstTicks)
	if err != nil {
		return fmt.Errorf("-group-rate: %w", err)
	}
	if s.base, err = eventbase.New(eventbase.Config{}); err != nil {
		return err
	}
	defer s.base.Close()
	if groupCfg != nil {
		if s.group, err = bufferevent.NewRateLimitGroup(s.base, groupCfg); err != nil {
			return err
		}
	}
	ln, err := socket.Listen(s.base, "tcp", o.listen, s.accept, socket.ListenerOptions{Flags: socket.ListenReuseAddr})
	if err != nil {
		return err
	}
	report, err := s.base.NewEvent(-1, eventbase.Persist, func(int, eventbase.What) { s.report() })
	if err != nil {
		ln.Close()
		return err
	}
	s.last = time.Now()
	if err := report.AddTimeout(o.interval); err != nil {
		ln.Close()
		return err
	}
	fmt.Fprintf(stdout, "ratelimit-server: listening on %s (file %s, %d bytes, backend %s, tls %v, per connection %s, group %s)\n",
		ln.Addr(), path, s.size, o.backend, o.tls, describe(s.connCfg), describe(groupCfg))

	stopWatch := context.AfterFunc(ctx, func() { _ = s.base.LoopExit(0) })
	defer stopWatch()
	err = s.base.Loop(eventbase.LoopNoExitOnEmpty)

	// Shut down on this goroutine, which ran the loop: close the connections (they leave
	// the group), then the group.
	report.Free()
	err = errors.Join(err, ln.Close())
	for _, c := range s.sorted() {
		s.drop(c)
	}
	if s.group != nil {
		_, written := s.group.Group().Totals()
		fmt.Fprintf(stdout, "ratelimit-server: %d connections served, %d bytes sent in all\n", s.served, written)
		err = errors.Join(err, s.group.Close())
	} else {
		fmt.Fprintf(stdout, "ratelimit-server: %d connections served\n", s.served)
	}
	return err
}

func describe(cfg *ratelimit.Config) string {
	if cfg == nil {
		return "unlimited"
	}
	return cfg.String()
}

// accept wraps a new connection, limits it and queues the file.
func (s *server) accept(_ *socket.Listener, fd int, peer net.Addr) {
	var bev *bufferevent.BufferEvent
	var err error
	switch {
	case s.tlsCfg != nil:
		bev, err = ssl.NewSocket(s.base, fd, s.tlsCfg, ssl.Accepting, bufferevent.CloseOnFree)
	case s.o.backend == "async":
		bev, err = async.New(s.base, fd, bufferevent.CloseOnFree)
	default:
		bev, err = socket.New(s.base, fd, bufferevent.CloseOnFree)
	}
	if err != nil {
		_ = closeFile(fd)
		fmt.Fprintf(s.stdout, "ratelimit-server: %v: %v\n", peer, err)
		return
	}
	c := &client{bev: bev, peer: peer.String(), fd: -1}
	s.clients[bev] = c
	s.served++
	if err := s.start(c); err != nil {
		fmt.Fprintf(s.stdout, "ratelimit-server: %v: %v\n", peer, err)
		s.drop(c)
	}
}

const piece = 256 << 10

func (s *server) start(c *client) error {
	bev := c.bev
	if s.connCfg != nil {
		if err := bev.SetRateLimit(s.connCfg); err != nil {
			return err
		}
	}
	if s.group != nil {
		if err := bev.JoinGroup(s.group); err != nil {
			return err
		}
	}
	fd, err := openFile(s.path)
	if err != nil {
		return err
	}
	if s.o.backend == "async" || s.tlsCfg != nil {
		// Fed piece by piece from the write callback, which runs when the output drops to
		// the low watermark.
		c.fd = fd
		if err := bev.SetWatermark(bufferevent.Write, piece, 0); err != nil {
			return err
		}
		if err := s.feed(c); err != nil {
			return err
		}
	} else {
		// The whole file as one segment: sendfile moves it, the limiter paces it.
		// AddFile owns fd from here on.
		if err := bev.Output().AddFile(fd, 0, s.size); err != nil {
			return err
		}
		c.queued = s.size
	}
	if err := bev.SetCallbacks(s.discard, s.written, s.event); err != nil {
		return err
	}
	return bev.Enable(bufferevent.ReadWrite)
}

// feed tops the output up to two pieces from the file (async backend, TLS).
func (s *server) feed(c *client) error {
	out := c.bev.Output()
	buf := make([]byte, piece)
	for out.Len() < 2*piece && c.queued < s.size {
		n, err := preadFile(c.fd, buf[:min(int64(piece), s.size-c.queued)], c.queued)
		if n > 0 {
			if _, werr := c.bev.Write(buf[:n]); werr != nil {
				return werr
			}
			c.queued += int64(n)
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return io.ErrUnexpectedEOF
		}
	}
	return nil
}

// discard drops whatever a client sends.
func (s *server) discard(bev *bufferevent.BufferEvent) { _ = bev.Input().Drain(bev.Input().Len()) }

// written runs when the output drained to its low watermark: feed more, or, once the
// whole file left, close.
func (s *server) written(bev *bufferevent.BufferEvent) {
	c := s.clients[bev]
	if c == nil {
		return
	}
	if c.queued < s.size {
		if err := s.feed(c); err != nil {
			fmt.Fprintf(s.stdout, "ratelimit-server: %s: %v\n", c.peer, err)
			s.drop(c)
		}
		return
	}
	if bev.Output().Len() == 0 {
		fmt.Fprintf(s.stdout, "ratelimit-server: %s: file sent\n", c.peer)
		s.drop(c)
	}
}

func (s *server) event(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
	c := s.clients[bev]
	if c == nil || what&bufferevent.Connected != 0 { // TLS: the handshake completed
		return
	}
	if what&bufferevent.EOF == 0 {
		fmt.Fprintf(s.stdout, "ratelimit-server: %s: %v (%v)\n", c.peer, what, err)
	}
	s.drop(c)
}

func (s *server) drop(c *client) {
	delete(s.clients, c.bev)
	_ = c.bev.Close()
	if c.fd >= 0 {
		_ = closeFile(c.fd)
		c.fd = -1
	}
}

func (s *server) sorted() []*client {
	cs := make([]*client, 0, len(s.clients))
	for _, c := range s.clients {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].peer < cs[j].peer })
	return cs
}

// report prints every client's rate since the previous report, then the group's state.
func (s *server) report() {
	now := time.Now()
	secs := now.Sub(s.last).Seconds()
	s.last = now
	var total int64
	var parts []string
	for _, c := range s.sorted() {
		sent := c.sent()
		d := sent - c.lastSent
		c.lastSent = sent
		total += d
		parts = append(parts, fmt.Sprintf("%s %.0f B/s (%d sent)", c.peer, float64(d)/secs, sent))
	}
	slices.Sort(parts)
	line := fmt.Sprintf("ratelimit-server: %d clients, %.0f B/s in all", len(parts), float64(total)/secs)
	if len(parts) > 0 {
		line += ": " + strings.Join(parts, ", ")
	}
	fmt.Fprintln(s.stdout, line)
	if s.group != nil {
		g := s.group.Group()
		_, written := g.Totals()
		fmt.Fprintf(s.stdout, "ratelimit-server: group: %d members, %d bytes written, bucket %d\n", g.Len(), written, g.WriteLimit())
	}
}
