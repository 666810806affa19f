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
	"strings"
	"sync"
	"syscall"

	"github.com/bufev/bufev/backends/async"
	"github.com/bufev/bufev/eventbase"
	"github.com/bufev/bufev/examples/internal/certs"
	"github.com/bufev/bufev/examples/internal/echoserver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // -h: usage printed
		}
		fmt.Fprintln(os.Stderr, "echo:", err)
		os.Exit(1)
	}
}

// loop is one base with its echo listener.
type loop struct {
	base *eventbase.Base
	srv  *echoserver.Server
}

// run serves until ctx is done.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	fs.SetOutput(stdout)
	listen := fs.String("listen", "127.0.0.1:9000", "address to listen on (host:port, or a path with -network unix)")
	network := fs.String("network", "tcp", "tcp, tcp4, tcp6 or unix")
	backend := fs.String("backend", "socket", "socket (epoll/kqueue/poll readiness) or async (io_uring completions)")
	loops := fs.Int("loops", 1, "event loops (one goroutine each) sharing the port with SO_REUSEPORT")
	useTLS := fs.Bool("tls", false, "serve TLS with a generated self-signed certificate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *loops < 1 || *loops > 1024 {
		return errors.New("-loops must be between 1 and 1024")
	}
	if *loops > 1 && *network == "unix" {
		return errors.New("-loops > 1 needs a TCP address (SO_REUSEPORT)")
	}
	opts := echoserver.Options{Backend: *backend, ReusePort: *loops > 1}
	if *backend == "async" {
		if err := async.Available(); err != nil {
			fmt.Fprintf(stdout, "echo: io_uring is unavailable here (%v); falling back to the socket backend\n", err)
			opts.Backend = "socket"
		}
	}
	if *useTLS {
		cert, err := certs.SelfSigned()
		if err != nil {
			return err
		}
		opts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	}

	var ls []loop
	defer func() {
		for _, l := range ls {
			l.base.Close()
		}
	}()
	addr := *listen
	for i := range *loops {
		base, err := eventbase.New(eventbase.Config{})
		if err != nil {
			return err
		}
		srv, err := echoserver.ListenOptions(base, *network, addr, opts)
		if err != nil {
			base.Close()
			for _, l := range ls {
				l.srv.Close()
			}
			return err
		}
		ls = append(ls, loop{base, srv})
		if i == 0 {
			// With port 0 the first listener picks the port the others share.
			addr = srv.Addr().String()
		}
	}
	method := ls[0].base.Method()
	fmt.Fprintf(stdout, "echo: listening on %s (%d loop(s), backend %s, method %s, tls %v)\n", ls[0].srv.Addr(), len(ls), opts.Backend, method, *useTLS)

	// The context ends every loop from its own goroutine: LoopExit is safe for
	// concurrent use.
	stopWatch := context.AfterFunc(ctx, func() {
		for _, l := range ls {
			l.base.LoopExit(0)
		}
	})
	defer stopWatch()
	errs := make([]error, len(ls))
	stats := make([]echoserver.Stats, len(ls))
	var wg sync.WaitGroup
	for i, l := range ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := l.base.Dispatch()
			stats[i] = l.srv.Stats
			errs[i] = errors.Join(err, l.srv.Close())
		}()
	}
	wg.Wait()
	var total echoserver.Stats
	per := make([]string, len(ls))
	for i, st := range stats {
		total.Accepted += st.Accepted
		total.Bytes += st.Bytes
		total.Paused += st.Paused
		per[i] = fmt.Sprint(st.Accepted)
	}
	fmt.Fprintf(stdout, "echo: %d connections, %d bytes echoed, %d backpressure pauses\n", total.Accepted, total.Bytes, total.Paused)
	if len(ls) > 1 {
		fmt.Fprintf(stdout, "echo: connections per loop: %s\n", strings.Join(per, " "))
	}
	return errors.Join(errs...)
}

// hostPort is used by tests to dial the printed address.
func hostPort(line string) string {
	addr, _, _ := strings.Cut(strings.TrimPrefix(line, "echo: listening on "), " ")
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return ""
	}
	return addr
}
