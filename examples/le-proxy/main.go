// Command le-proxy is libevent's sample/le-proxy.c on bufev: a TCP proxy. Every
// connection accepted on LISTEN-ADDR gets an outbound connection to CONNECT-ADDR, and
// bytes are relayed both ways by moving chains between the two bufferevents, without
// copying.
//
//	le-proxy [-s] [-W] [-cafile FILE] [-servername NAME] [-insecure] LISTEN-ADDR CONNECT-ADDR
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
// to 256 KiB, so a slow reader cannot make the proxy buffer without bound. On EOF or an
// error the remaining data is flushed to the other side, which is closed once its
// output drained.
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

	"github.com/bufev/bufev/backends/socket"
	"github.com/bufev/bufev/backends/ssl"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
	"github.com/bufev/bufev/examples/internal/proxy"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "le-proxy:", err)
		os.Exit(1)
	}
}

// Config describes one proxy; Serve runs it on a base. The demo uses it too.
type Config struct {
	Listen, Connect string
	TLS             *tls.Config // nil: plain upstream
	TLSSocket       bool        // -W: ssl.NewSocket instead of ssl.NewFilter over a socket
	Log             io.Writer
}

// Server is a running proxy. Loop-confined.
type Server struct {
	ln    *socket.Listener
	proxy proxy.Proxy
	open  map[*proxy.Side]struct{}
}

// Addr is the listening address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Stats returns the relay counters. Loop-confined.
func (s *Server) Stats() proxy.Stats { return s.proxy.Stats }

// Close stops listening and closes every connection.
func (s *Server) Close() error {
	err := s.ln.Close()
	for side := range s.open {
		side.Bev.Close()
	}
	clear(s.open)
	return err
}

// Start listens on cfg.Listen and proxies to cfg.Connect on base. Loop-confined.
func Start(base *eventbase.Base, cfg Config) (*Server, error) {
	upstream, err := net.ResolveTCPAddr("tcp", cfg.Connect)
	if err != nil {
		return nil, fmt.Errorf("connect address: %w", err)
	}
	s := &Server{open: make(map[*proxy.Side]struct{}), proxy: proxy.Proxy{Log: cfg.Log}}
	opts := bufferevent.CloseOnFree | bufferevent.DeferCallbacks
	s.ln, err = socket.Listen(base, "tcp", cfg.Listen, func(_ *socket.Listener, fd int, _ net.Addr) {
		in, err := socket.New(base, fd, opts)
		if err != nil {
			os.NewFile(uintptr(fd), "socket").Close()
			return
		}
		out, err := dial(base, upstream, cfg, opts)
		if err != nil {
			if cfg.Log != nil {
				fmt.Fprintf(cfg.Log, "outbound: %v\n", err)
			}
			in.Close()
			return
		}
		si, so := &proxy.Side{Bev: in}, &proxy.Side{Bev: out}
		si.OnClose = func() { delete(s.open, si) }
		so.OnClose = func() { delete(s.open, so) }
		s.open[si], s.open[so] = struct{}{}, struct{}{}
		s.proxy.Link(si, so)
	}, socket.ListenerOptions{Flags: socket.ListenReuseAddr})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// dial creates the outbound bufferevent and starts connecting it.
func dial(base *eventbase.Base, addr *net.TCPAddr, cfg Config, opts bufferevent.Options) (*bufferevent.BufferEvent, error) {
	if cfg.TLS != nil && cfg.TLSSocket {
		bev, err := ssl.NewSocket(base, -1, cfg.TLS, ssl.Connecting, opts)
		if err != nil {
			return nil, err
		}
		if err := ssl.Connect(bev, addr); err != nil {
			bev.Close()
			return nil, err
		}
		return bev, nil
	}
	bev, err := socket.New(base, -1, opts)
	if err != nil {
		return nil, err
	}
	if err := socket.Connect(bev, addr); err != nil {
		bev.Close()
		return nil, err
	}
	if cfg.TLS == nil {
		return bev, nil
	}
	tbev, err := ssl.NewFilter(base, bev, cfg.TLS, ssl.Connecting, opts)
	if err != nil {
		bev.Close()
		return nil, err
	}
	return tbev, nil
}

// run parses the command line and proxies until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("le-proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: le-proxy [-s] [-W] [-cafile FILE] [-servername NAME] [-insecure] LISTEN-ADDR CONNECT-ADDR")
		fs.PrintDefaults()
	}
	useTLS := fs.Bool("s", false, "speak TLS to the upstream")
	wrapper := fs.Bool("W", false, "with -s: a TLS socket bufferevent instead of a TLS filter over a socket")
	caFile := fs.String("cafile", "", "with -s: PEM file of the CAs to trust (default: the system roots)")
	serverName := fs.String("servername", "", "with -s: the name to verify (default: CONNECT-ADDR's host)")
	insecure := fs.Bool("insecure", false, "with -s: do not verify the upstream's certificate (the C sample's behaviour)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return errors.New("need LISTEN-ADDR and CONNECT-ADDR")
	}
	cfg := Config{Listen: fs.Arg(0), Connect: fs.Arg(1), TLSSocket: *wrapper, Log: stderr}
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
	srv, err := Start(base, cfg)
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
