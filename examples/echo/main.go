// Command echo is an echo server on bufev: every connection gets back what it sends,
// through socket bufferevents on one event loop, with watermark backpressure (reading
// from a client pauses while 1 MiB of echo is queued for it, and its input never holds
// more than 64 KiB).
//
//	go run ./echo -listen 127.0.0.1:9000
//
// It prints the address it is bound to (useful with port 0) and runs until interrupted
// (SIGINT or SIGTERM), then closes every connection and exits cleanly.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/bufev/bufev/eventbase"
	"github.com/bufev/bufev/examples/internal/echoserver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		os.Exit(1)
	}
}

// run serves until ctx is done.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	fs.SetOutput(stdout)
	listen := fs.String("listen", "127.0.0.1:9000", "address to listen on (host:port, or a path with -network unix)")
	network := fs.String("network", "tcp", "tcp, tcp4, tcp6 or unix")
	if err := fs.Parse(args); err != nil {
		return err
	}
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		return err
	}
	defer base.Close()
	srv, err := echoserver.Listen(base, *network, *listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "echo: listening on %s\n", srv.Addr())
	// The context ends the loop from its own goroutine: LoopExit is safe for concurrent use.
	stopWatch := context.AfterFunc(ctx, func() { base.LoopExit(0) })
	defer stopWatch()
	if err := base.Dispatch(); err != nil {
		return err
	}
	st := srv.Stats
	err = srv.Close()
	fmt.Fprintf(stdout, "echo: %d connections, %d bytes echoed, %d backpressure pauses\n", st.Accepted, st.Bytes, st.Paused)
	return err
}
