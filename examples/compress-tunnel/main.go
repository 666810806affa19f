package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/bufev/bufev/eventbase"
	"github.com/bufev/bufev/examples/internal/proxy"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // -h: usage printed
		}
		fmt.Fprintln(os.Stderr, "compress-tunnel:", err)
		os.Exit(1)
	}
}

// run parses the command line and tunnels until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("compress-tunnel", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mode := fs.String("mode", "", "client (compress toward -connect) or server (decompress from clients)")
	codec := fs.String("codec", "zstd", "zstd or deflate")
	level := fs.Int("level", 0, "compression level (0: the codec's default)")
	listen := fs.String("listen", "", "address to listen on")
	connect := fs.String("connect", "", "address to connect to")
	idle := fs.Duration("idle", 10*time.Minute, "close a connection idle this long (0: never)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *mode != "client" && *mode != "server" {
		return errors.New("-mode must be client or server")
	}
	if *listen == "" || *connect == "" {
		return errors.New("need -listen and -connect")
	}
	if *idle < 0 {
		return fmt.Errorf("-idle %v: must not be negative (0 never closes an idle connection)", *idle)
	}
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		return err
	}
	defer base.Close()
	srv, err := proxy.Start(base, proxy.Config{Idle: *idle,
		Listen: *listen, Connect: *connect, Log: stderr,
		Codec: *codec, Level: *level, CompressInbound: *mode == "server",
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "compress-tunnel: %s listening on %s, connecting to %s, codec %s\n", *mode, srv.Addr(), *connect, *codec)
	stopWatch := context.AfterFunc(ctx, func() { base.LoopExit(0) })
	defer stopWatch()
	err = base.Dispatch()
	cerr := srv.Close()
	st, cs := srv.Stats(), srv.CodecStats()
	ratio := 0.0
	if cs.Compressed > 0 {
		ratio = float64(cs.Plain) / float64(cs.Compressed)
	}
	fmt.Fprintf(stdout, "compress-tunnel: %d connections, %d bytes relayed, %d plain bytes as %d compressed (ratio %.2f)\n",
		st.Connections, st.Bytes, cs.Plain, cs.Compressed, ratio)
	return errors.Join(err, cerr)
}
