// Command le-proxy is libevent's sample/le-proxy.c on bufev: a TCP proxy. Every
// connection accepted on LISTEN-ADDR gets an outbound connection to CONNECT-ADDR, and
// bytes are relayed both ways by moving chains between the two bufferevents, without
// copying.
//
//	le-proxy [-s] [-W] [-cafile FILE] [-servername NAME] [-insecure] [-idle D] LISTEN-ADDR CONNECT-ADDR
//	go run ./le-proxy 127.0.0.1:8080 example.com:80
//	go run ./le-proxy -s 127.0.0.1:8443 example.com:443
//
// -s speaks TLS to the upstream (the client side stays plain): by default as a TLS
// filter over a socket bufferevent (ssl.NewFilter), with -W as a TLS socket
// bufferevent (ssl.NewSocket). Unlike the C sample, which does not verify the server,
// the certificate is checked against the system roots (or -cafile) for -servername
// (default: CONNECT-ADDR's host); -insecure skips the check as the sample does.
//
// Backpressure is the sample's (see internal/proxy): when the output queued for one
// side reaches 512 KiB, reading from the other side stops until that output drained
// to 256 KiB, so a slow reader cannot make the proxy buffer without bound. On EOF the
// remaining data is flushed to the other side, which then shuts its write side down
// (after close_notify with -s): a half-close passes through, and the other direction
// keeps flowing until it ends too (the C sample closes both at the first EOF, which
// breaks clients that half-close after their request). On an error the other side is
// closed once its output drained.
//
// -idle closes a connection that relayed nothing for that long while nothing waited to
// be sent, and one whose peer took none of its pending output for that long (default
// 10 minutes, as nginx's proxy_timeout; 0 never closes one, as the C sample): without
// it a half-closed connection whose other end neither sends nor closes would stay open
// for good.
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
