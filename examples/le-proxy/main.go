package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
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
		fmt.Fprintln(os.Stderr, "le-proxy:", err)
		os.Exit(1)
	}
}

// run parses the command line and proxies until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("le-proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: le-proxy [-s] [-W] [-cafile FILE] [-servername NAME] [-insecure] [-idle D] LISTEN-ADDR CONNECT-ADDR")
		fs.PrintDefaults()
	}
	useTLS := fs.Bool("s", false, "speak TLS to the upstream")
	wrapper := fs.Bool("W", false, "with -s: a TLS socket bufferevent instead of a TLS filter over a socket")
	caFile := fs.String("cafile", "", "with -s: PEM file of the CAs to trust (default: the system roots)")
	serverName := fs.String("servername", "", "with -s: the name to verify (default: CONNECT-ADDR's host)")
	insecure := fs.Bool("insecure", false, "with -s: do not verify the upstream's certificate (the C sample's behaviour)")
	idle := fs.Duration("idle", 10*time.Minute, "close a connection idle this long (0: never)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return errors.New("need LISTEN-ADDR and CONNECT-ADDR")
	}
	if *idle < 0 {
		return fmt.Errorf("-idle %v: must not be negative (0 never closes an idle connection)", *idle)
	}
	cfg := proxy.Config{Listen: fs.Arg(0), Connect: fs.Arg(1), TLSSocket: *wrapper, Idle: *idle, Log: stderr}
	if *useTLS {
		tc := &tls.Config{ServerName: *serverName, InsecureSkipVerify: *insecure}
		if tc.ServerName == "" {
			host, _, err := net.SplitHostPort(cfg.Connect)
			if err != nil {
				return err
			}
			tc.ServerName = host
		}
		if *caFile != "" {
			pem, err := os.ReadFile(*caFile)
			if err != nil {
				return err
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return fmt.Errorf("%s: no certificate found", *caFile)
			}
		}
		cfg.TLS = tc
	}
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		return err
	}
	defer base.Close()
	srv, err := proxy.Start(base, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "le-proxy: listening on %s, proxying to %s\n", srv.Addr(), cfg.Connect)
	stopWatch := context.AfterFunc(ctx, func() { base.LoopExit(0) })
	defer stopWatch()
	err = base.Dispatch()
	st := srv.Stats()
	cerr := srv.Close()
	fmt.Fprintf(stdout, "le-proxy: %d connections, %d bytes relayed, %d backpressure pauses, peak queued %d bytes\n",
		st.Connections, st.Bytes, st.Paused, st.PeakQueued)
	return errors.Join(err, cerr)
}
