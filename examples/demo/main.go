// Command demo runs bufev's echo server and drives it with a bundled client: many
// concurrent connections, each sending a message and waiting for its echo, for a few
// seconds. It prints live progress and a final line with the throughput (messages per
// second, MB/s) and the 99th-percentile round-trip latency, checks every echoed byte,
// and exits non-zero if anything failed.
//
// Server and client are both bufev: each runs its own event loop (one goroutine each),
// the server with socket bufferevents accepted by a listener, the client with socket
// bufferevents connected by ConnectHostname. No goroutine per connection.
//
//	make demo
//	cd examples && go run ./demo -conns 200 -duration 5s
//
// The evbuffer tour that used to live here is in ../buffer-tour.
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/bits"
	"net"
	"os"
	"os/signal"
	"time"

	"github.com/bufev/bufev/backends/socket"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
	"github.com/bufev/bufev/examples/internal/echoserver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

type config struct {
	conns    int
	size     int
	duration time.Duration
	every    time.Duration
}

// run starts the server, runs the client for the configured duration and reports.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stdout)
	var cfg config
	fs.IntVar(&cfg.conns, "conns", 100, "concurrent client connections")
	fs.IntVar(&cfg.size, "size", 64, "message size in bytes (at least 16)")
	fs.DurationVar(&cfg.duration, "duration", 3*time.Second, "how long the clients send")
	fs.DurationVar(&cfg.every, "progress", 500*time.Millisecond, "interval of the progress lines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.conns < 1 || cfg.size < 16 || cfg.duration <= 0 || cfg.every <= 0 {
		return errors.New("need -conns ≥ 1, -size ≥ 16, positive -duration and -progress")
	}

	// The server: an echo listener on its own loop.
	srvBase, err := eventbase.New(eventbase.Config{})
	if err != nil {
		return err
	}
	srv, err := echoserver.Listen(srvBase, "tcp", "127.0.0.1:0")
	if err != nil {
		srvBase.Close()
		return err
	}
	srvDone := make(chan error, 1)
	var stats echoserver.Stats
	go func() {
		err := srvBase.Dispatch()
		stats = srv.Stats
		srv.Close()
		srvBase.Close()
		srvDone <- err
	}()
	port := srv.Addr().(*net.TCPAddr).Port
	fmt.Fprintf(stdout, "echo server on %s (method %s); %d clients × %d-byte messages for %v\n",
		srv.Addr(), srvBase.Method(), cfg.conns, cfg.size, cfg.duration)

	res, cerr := runClients(ctx, cfg, port, stdout)
	srvBase.LoopExit(0)
	serr := <-srvDone

	fmt.Fprintf(stdout, "echo demo: %d connections, %.1fs: %d messages, %.0f msgs/s, %.2f MB/s, p99 latency %v, %d errors\n",
		cfg.conns, res.elapsed.Seconds(), res.msgs, float64(res.msgs)/res.elapsed.Seconds(),
		float64(res.msgs)*float64(cfg.size)/res.elapsed.Seconds()/1e6, res.hist.quantile(0.99), res.errors)
	fmt.Fprintf(stdout, "server: %d connections accepted, %d bytes echoed, %d backpressure pauses\n",
		stats.Accepted, stats.Bytes, stats.Paused)
	switch {
	case cerr != nil:
		return cerr
	case serr != nil:
		return serr
	case res.errors > 0:
		return fmt.Errorf("%d errors (first: %v)", res.errors, res.firstErr)
	case res.msgs == 0:
		return errors.New("no message was echoed")
	case stats.Bytes != res.msgs*int64(cfg.size):
		return fmt.Errorf("server echoed %d bytes, clients got back %d", stats.Bytes, res.msgs*int64(cfg.size))
	}
	return nil
}

// results of the client run.
type results struct {
	msgs     int64
	errors   int
	firstErr error
	elapsed  time.Duration
	hist     histogram
}

// client is one connection's state. All of it is owned by the client loop.
type client struct {
	bev     *bufferevent.BufferEvent
	seq     uint64
	sentAt  time.Time
	msg     []byte
	reply   []byte
	running bool
}

// runClients drives cfg.conns connections on a loop of their own until the duration
// ends, then lets each finish its round trip and closes it.
func runClients(ctx context.Context, cfg config, port int, stdout io.Writer) (*results, error) {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		return nil, err
	}
	defer base.Close()
	res := &results{}
	fail := func(err error) {
		if res.errors++; res.firstErr == nil {
			res.firstErr = err
		}
	}
	stopping := false
	open := 0
	var start time.Time
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
		binary.BigEndian.PutUint64(c.msg, c.seq)
		for i := 8; i < len(c.msg); i++ {
			c.msg[i] = byte(c.seq) + byte(i)
		}
		c.sentAt = time.Now()
		c.bev.Write(c.msg)
	}
	for range cfg.conns {
		bev, err := socket.New(base, -1, bufferevent.CloseOnFree)
		if err != nil {
			return res, err
		}
		c := &client{bev: bev, msg: make([]byte, cfg.size), reply: make([]byte, cfg.size), running: true}
		open++
		bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
			for bev.Input().Len() >= cfg.size {
				bev.Read(c.reply)
				if string(c.reply) != string(c.msg) {
					fail(fmt.Errorf("connection echoed %q for %q", c.reply[:8], c.msg[:8]))
					finish(c)
					return
				}
				res.hist.record(time.Since(c.sentAt))
				res.msgs++
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
			fail(fmt.Errorf("client event %v: %w", what, err))
			finish(c)
		})
		bev.Enable(bufferevent.Read | bufferevent.Write)
		if err := socket.ConnectHostname(ctx, bev, "tcp", "localhost", port); err != nil {
			return res, err
		}
	}

	// Progress lines, then the stop.
	start = time.Now()
	var lastMsgs int64
	lastAt := start
	progress, err := base.NewEvent(-1, eventbase.Persist, func(int, eventbase.What) {
		now := time.Now()
		fmt.Fprintf(stdout, "  %5.1fs  %9d msgs  %8.0f msgs/s  p99 %-9v  open %d\n",
			now.Sub(start).Seconds(), res.msgs, float64(res.msgs-lastMsgs)/now.Sub(lastAt).Seconds(),
			res.hist.quantile(0.99), open)
		lastMsgs, lastAt = res.msgs, now
	})
	if err != nil {
		return res, err
	}
	defer progress.Free()
	progress.AddTimeout(cfg.every)
	var stopTimer *eventbase.Event
	stop := func() {
		if stopping {
			return
		}
		stopping = true
		res.elapsed = time.Since(start)
		progress.Del()
		stopTimer.Del()
		// Connections finish their round trip in flight and close.
	}
	stopTimer, err = base.NewTimer(stop)
	if err != nil {
		return res, err
	}
	defer stopTimer.Free()
	stopTimer.AddTimeout(cfg.duration)
	cancelWatch := context.AfterFunc(ctx, func() { base.RunInLoop(stop) })
	defer cancelWatch()
	if err := base.Dispatch(); err != nil {
		return res, err
	}
	if res.elapsed == 0 {
		res.elapsed = time.Since(start)
	}
	return res, nil
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
