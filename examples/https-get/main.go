package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"time"

	"github.com/bufev/bufev/backends/socket"
	"github.com/bufev/bufev/backends/ssl"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // -h: usage printed
		}
		fmt.Fprintln(os.Stderr, "https-get:", err)
		os.Exit(1)
	}
}

// run fetches the URL.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("https-get", flag.ContinueOnError)
	fs.SetOutput(stderr)
	caFile := fs.String("cafile", "", "PEM file of the CAs to trust (default: the system roots)")
	body := fs.Bool("body", false, "print the body after the headers, as received (a chunked body is not decoded)")
	timeout := fs.Duration("timeout", 30*time.Second, "give up when the handshake, or a read or write, takes this long (0: never)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: https-get [-cafile FILE] [-body] [-timeout D] URL")
	}
	if *timeout < 0 {
		return fmt.Errorf("-timeout %v: must not be negative", *timeout)
	}
	u, err := url.Parse(fs.Arg(0))
	if err != nil {
		return err
	}
	if u.Scheme != "https" || u.Hostname() == "" {
		return fmt.Errorf("%q: need an https:// URL with a host", fs.Arg(0))
	}
	port := 443
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return fmt.Errorf("bad port %q", p)
		}
	}
	cfg := &tls.Config{ServerName: u.Hostname(), NextProtos: []string{"http/1.1"}}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			return err
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%s: no certificate found", *caFile)
		}
	}
	path := u.RequestURI()

	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		return err
	}
	defer base.Close()
	under, err := socket.New(base, -1, bufferevent.CloseOnFree)
	if err != nil {
		return err
	}
	bev, err := ssl.NewFilter(base, under, cfg, ssl.Connecting, bufferevent.CloseOnFree, ssl.HandshakeTimeout(*timeout))
	if err != nil {
		under.Close()
		return err
	}
	defer bev.Close()

	var result error
	inHeaders := true
	finish := func(err error) {
		result = err
		base.LoopBreak()
	}
	readLines := func(bev *bufferevent.BufferEvent) {
		in := bev.Input()
		for inHeaders {
			line, err := in.ReadLineSlice(evbuffer.EOLCRLF)
			if errors.Is(err, evbuffer.ErrNoLine) {
				return
			}
			if err != nil {
				finish(fmt.Errorf("response header: %w", err))
				return
			}
			if len(line) == 0 {
				inHeaders = false
				if !*body {
					finish(nil)
					return
				}
				fmt.Fprintln(stdout)
				break
			}
			fmt.Fprintf(stdout, "%s\n", line)
		}
		if _, err := in.WriteTo(stdout); err != nil {
			finish(err)
		}
	}
	bev.Input().SetMaxLineLength(16 << 10)
	_ = bev.SetTimeouts(*timeout, *timeout)
	_ = bev.SetCallbacks(readLines, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		switch {
		case what&bufferevent.Connected != 0:
			st, _ := ssl.ConnectionState(bev)
			fmt.Fprintf(stderr, "connected: %s, %s, ALPN %q, certificate for %v issued by %q\n",
				tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite), st.NegotiatedProtocol,
				st.PeerCertificates[0].DNSNames, st.PeerCertificates[0].Issuer.CommonName)
		case what&bufferevent.EOF != 0:
			readLines(bev)
			if inHeaders {
				finish(errors.New("connection closed inside the response headers"))
			} else {
				finish(nil)
			}
		default:
			if dnsErr := socket.DNSErr(under); dnsErr != nil {
				err = dnsErr
			}
			finish(fmt.Errorf("%v: %w", what, err))
		}
	})
	_ = bev.Enable(bufferevent.Read | bufferevent.Write)
	fmt.Fprintf(bev, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: bufev-https-get\r\nAccept: */*\r\nConnection: close\r\n\r\n",
		path, u.Host)
	if err := socket.ConnectHostname(ctx, under, "tcp", u.Hostname(), port); err != nil {
		return err
	}
	stopWatch := context.AfterFunc(ctx, func() { base.RunInLoop(func() { finish(ctx.Err()) }) })
	defer stopWatch()
	if err := base.Dispatch(); err != nil {
		return err
	}
	return result
}
