package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"time"

	"github.com/bufev/bufev/backends/socket"
	"github.com/bufev/bufev/backends/ssl"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
	"github.com/bufev/bufev/examples/internal/certs"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // -h: usage printed
		}
		fmt.Fprintln(os.Stderr, "becat:", err)
		os.Exit(1)
	}
}

// Output limits for data from standard input.
const (
	outHigh = 1 << 20
	outLow  = 256 << 10
)

type options struct {
	listen, keep, tls, closeAtEOF, verbose bool
	readTimeout, writeTimeout, keepAlive   time.Duration
	maxRead                                int
	srcAddr                                string
	srcPort                                int
}

// cat is the program's state. Loop-confined, except where noted.
type cat struct {
	o      options
	base   *eventbase.Base
	stdout io.Writer
	stderr io.Writer
	tlsCfg *tls.Config
	ln     *socket.Listener

	bev      *bufferevent.BufferEvent // the current connection, nil when none
	up       bool                     // bev is connected (TLS: the handshake is done)
	shut     bool                     // -N: bev's write side was finished
	pending  evbuffer.Buffer          // standard input read while there was no connection
	stdinEOF bool
	waiting  chan struct{} // set while the stdin goroutine waits for the output to drain
	err      error
}

// run parses the command line and runs until the connection (or, with -k, ctx) ends.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("becat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.BoolVar(&o.listen, "l", false, "listen on HOST PORT instead of connecting")
	fs.BoolVar(&o.keep, "k", false, "with -l: keep listening after a connection ends")
	fs.BoolVar(&o.tls, "S", false, "TLS (self-signed certificate when listening; no verification when connecting)")
	fs.BoolVar(&o.closeAtEOF, "N", false, "shut the connection's write side down once standard input ended and was sent (the peer gets EOF)")
	fs.DurationVar(&o.readTimeout, "t", 0, "read timeout (0: none)")
	fs.DurationVar(&o.writeTimeout, "T", 0, "write timeout (0: none)")
	fs.IntVar(&o.maxRead, "b", 0, "maximum bytes per read (0: the default)")
	fs.BoolVar(&o.verbose, "v", false, "report connections on standard error")
	fs.StringVar(&o.srcAddr, "s", "", "source address (connecting: bind to it; listening: listen on it)")
	fs.IntVar(&o.srcPort, "p", 0, "source port (connecting: bind to it; listening: listen on it)")
	fs.DurationVar(&o.keepAlive, "K", 0, "TCP keepalive idle time and probe interval (0: off)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, portArg := fs.Arg(0), fs.Arg(1)
	switch {
	case fs.NArg() == 2:
	case fs.NArg() == 0 && o.listen && o.srcPort > 0:
	default:
		return errors.New("usage: becat [-l [-k]] [-S] [-N] [-s ADDR] [-p PORT] [-K DUR] [-t DUR] [-T DUR] [-b N] [-v] HOST PORT")
	}
	if o.keep && !o.listen {
		return errors.New("-k needs -l")
	}
	if o.readTimeout < 0 || o.writeTimeout < 0 || o.maxRead < 0 || o.keepAlive < 0 {
		return errors.New("timeouts, -K and -b must not be negative")
	}
	if o.srcPort < 0 || o.srcPort > 65535 {
		return fmt.Errorf("bad source port %d", o.srcPort)
	}
	if o.srcAddr != "" && net.ParseIP(o.srcAddr) == nil {
		return fmt.Errorf("bad source address %q (want an IP address)", o.srcAddr)
	}
	if o.listen {
		// -s and -p replace HOST and PORT (libevent's becat listens on its
		// source address).
		if o.srcAddr != "" {
			host = o.srcAddr
		} else if host == "" {
			host = "127.0.0.1"
		}
		if o.srcPort > 0 {
			portArg = strconv.Itoa(o.srcPort)
		}
	}
	port, err := strconv.Atoi(portArg)
	if err != nil || port < 0 || port > 65535 {
		return fmt.Errorf("bad port %q", portArg)
	}
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		return err
	}
	defer base.Close()
	c := &cat{o: o, base: base, stdout: stdout, stderr: stderr}
	if o.tls {
		if c.tlsCfg, err = c.tlsConfig(); err != nil {
			return err
		}
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	if o.listen {
		c.ln, err = socket.Listen(base, "tcp", addr, c.accept, socket.ListenerOptions{Flags: socket.ListenReuseAddr})
		if err != nil {
			return err
		}
		defer c.ln.Close()
		fmt.Fprintf(stderr, "listening on %s\n", c.ln.Addr())
	} else {
		if err := c.connect(ctx, host, port); err != nil {
			return err
		}
	}
	defer func() {
		if c.bev != nil {
			c.bev.Close()
		}
	}()

	// The stdin goroutine's Do calls end with run.
	stdinCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go c.readStdin(stdinCtx, stdin)
	stopWatch := context.AfterFunc(ctx, func() { base.LoopExit(0) })
	defer stopWatch()
	if err := base.Dispatch(); err != nil {
		return err
	}
	return c.err
}

// tlsConfig makes the server's self-signed certificate or the client's config.
func (c *cat) tlsConfig() (*tls.Config, error) {
	if !c.o.listen {
		// Like the C sample, the client accepts any certificate; it prints the
		// fingerprint so that it can be compared with the listener's.
		return &tls.Config{InsecureSkipVerify: true}, nil
	}
	cert, err := certs.SelfSigned()
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(c.stderr, "certificate SHA-256 %x\n", sha256.Sum256(cert.Certificate[0]))
	return &tls.Config{Certificates: []tls.Certificate{cert}}, nil
}

func (c *cat) connect(ctx context.Context, host string, port int) error {
	if c.o.srcAddr != "" || c.o.srcPort > 0 {
		return c.connectFrom(ctx, host, port)
	}
	var bev *bufferevent.BufferEvent
	var err error
	if c.o.tls {
		// A TLS filter over a socket connected by host name (resolved off the loop).
		under, err := socket.New(c.base, -1, bufferevent.CloseOnFree)
		if err != nil {
			return err
		}
		if bev, err = ssl.NewFilter(c.base, under, c.tlsCfg, ssl.Connecting, bufferevent.CloseOnFree); err != nil {
			under.Close()
			return err
		}
		if err := socket.ConnectHostname(ctx, under, "tcp", host, port); err != nil {
			bev.Close()
			return err
		}
	} else {
		if bev, err = socket.New(c.base, -1, bufferevent.CloseOnFree); err != nil {
			return err
		}
		if err := socket.ConnectHostname(ctx, bev, "tcp", host, port); err != nil {
			bev.Close()
			return err
		}
	}
	c.attach(bev)
	return nil
}

// connectFrom connects from the source address and port (-s, -p): net.Dialer
// binds and connects (blocking, before the loop runs), and a socket
// bufferevent takes over a duplicate of the connected socket.
func (c *cat) connectFrom(ctx context.Context, host string, port int) error {
	local := &net.TCPAddr{IP: net.ParseIP(c.o.srcAddr), Port: c.o.srcPort}
	d := net.Dialer{LocalAddr: local, KeepAlive: -1} // -K is applied below, as for the other paths
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	defer conn.Close() // the bufferevent has its own descriptor
	bev, err := socket.NewFromConn(c.base, conn.(*net.TCPConn), bufferevent.CloseOnFree)
	if err != nil {
		return err
	}
	if c.o.tls {
		tbev, err := ssl.NewFilter(c.base, bev, c.tlsCfg, ssl.Connecting, bufferevent.CloseOnFree)
		if err != nil {
			bev.Close()
			return err
		}
		bev = tbev
	}
	c.attach(bev)
	if !c.o.tls {
		c.connected()
	}
	return nil
}

func (c *cat) accept(ln *socket.Listener, fd int, peer net.Addr) {
	if c.bev != nil { // one connection at a time
		os.NewFile(uintptr(fd), "socket").Close()
		return
	}
	if c.o.keepAlive > 0 {
		if err := setKeepAlive(fd, c.o.keepAlive); err != nil {
			fmt.Fprintf(c.stderr, "keepalive: %v\n", err)
		}
	}
	bev, err := socket.New(c.base, fd, bufferevent.CloseOnFree)
	if err != nil {
		os.NewFile(uintptr(fd), "socket").Close() // still ours
		c.err = err
		return
	}
	if c.o.tls {
		// TLS over the socket bufferevent, which owns the descriptor from here on.
		tbev, err := ssl.NewFilter(c.base, bev, c.tlsCfg, ssl.Accepting, bufferevent.CloseOnFree)
		if err != nil {
			bev.Close()
			c.err = err
			return
		}
		bev = tbev
	}
	if c.o.verbose {
		fmt.Fprintf(c.stderr, "connection from %s\n", peer)
	}
	_ = ln.Disable()
	c.attach(bev)
	if !c.o.tls {
		c.connected()
	}
}

// attach installs the callbacks on a new connection and gives it what standard input
// produced so far.
func (c *cat) attach(bev *bufferevent.BufferEvent) {
	c.bev = bev
	_ = bev.SetTimeouts(c.o.readTimeout, c.o.writeTimeout)
	if c.o.maxRead > 0 {
		_ = bev.SetMaxSingleRead(c.o.maxRead)
	}
	_ = bev.SetWatermark(bufferevent.Write, outLow, 0)
	_ = bev.SetCallbacks(c.read, c.written, c.event)
	_ = bev.Enable(bufferevent.Read | bufferevent.Write)
	_ = bev.WriteBuffer(&c.pending)
}

func (c *cat) connected() {
	c.up = true
	if c.o.verbose {
		fmt.Fprintln(c.stderr, "connected")
	}
	if c.o.keepAlive > 0 && !c.o.listen {
		// Accepted sockets got it in accept.
		if fd, err := c.bev.FD(); err == nil && fd >= 0 {
			if err := setKeepAlive(fd, c.o.keepAlive); err != nil {
				fmt.Fprintf(c.stderr, "keepalive: %v\n", err)
			}
		}
	}
	if c.o.tls {
		if st, err := ssl.ConnectionState(c.bev); err == nil && len(st.PeerCertificates) > 0 {
			fmt.Fprintf(c.stderr, "%s, peer certificate SHA-256 %x\n", tls.VersionName(st.Version), sha256.Sum256(st.PeerCertificates[0].Raw))
		}
	}
	c.maybeClose()
}

// read writes the connection's input to standard output (evbuffer's WriteTo).
func (c *cat) read(bev *bufferevent.BufferEvent) {
	if _, err := bev.Input().WriteTo(c.stdout); err != nil {
		c.err = fmt.Errorf("stdout: %w", err)
		c.base.LoopBreak()
	}
}

// written runs when the output drained to outLow: wake the stdin reader.
func (c *cat) written(*bufferevent.BufferEvent) {
	if c.waiting != nil {
		close(c.waiting)
		c.waiting = nil
	}
	c.maybeClose()
}

// maybeClose does -N: once standard input ended on a connected connection, what it
// produced is sent and then the write side is shut down; the connection ends when the
// peer closes. (It used to close the connection, losing the peer's answer.)
func (c *cat) maybeClose() {
	if c.o.closeAtEOF && c.stdinEOF && c.bev != nil && c.up && !c.shut {
		c.shut = true
		_, _ = c.bev.Flush(bufferevent.Write, bufferevent.Finished)
	}
}

func (c *cat) event(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
	switch {
	case what&bufferevent.Connected != 0:
		c.connected()
		return
	case what&bufferevent.EOF != 0:
		c.read(bev)
		if c.o.verbose {
			fmt.Fprintln(c.stderr, "connection closed by the peer")
		}
		c.end(nil)
	default:
		c.end(fmt.Errorf("%v: %w", what, err))
	}
}

// end closes the connection; the program ends too unless -k keeps listening.
func (c *cat) end(err error) {
	if c.bev == nil {
		return
	}
	c.bev.Close()
	c.bev, c.up, c.shut = nil, false, false
	if c.waiting != nil {
		close(c.waiting)
		c.waiting = nil
	}
	if c.o.keep {
		if err != nil {
			fmt.Fprintf(c.stderr, "connection: %v\n", err)
		}
		_ = c.ln.Enable()
		return
	}
	c.err = err
	c.base.LoopExit(0)
}

// readStdin runs on its own goroutine: it reads standard input and hands each chunk to
// the loop, waiting while the connection's output is full. It returns at EOF, on a read
// error, or when ctx ends (a blocked Read then stays blocked until the process exits:
// standard input cannot be interrupted portably).
func (c *cat) readStdin(ctx context.Context, stdin io.Reader) {
	buf := make([]byte, 64<<10)
	for {
		n, rerr := stdin.Read(buf)
		var wait chan struct{}
		err := c.base.Do(ctx, func() {
			if n > 0 {
				if c.bev != nil {
					_, _ = c.bev.Write(buf[:n])
					if c.bev.Output().Len() >= outHigh {
						c.waiting = make(chan struct{})
						wait = c.waiting
					}
				} else {
					c.pending.Add(buf[:n])
				}
			}
			if rerr != nil {
				if !errors.Is(rerr, io.EOF) {
					fmt.Fprintf(c.stderr, "stdin: %v\n", rerr)
				}
				c.stdinEOF = true
				c.maybeClose()
			}
		})
		if err != nil || rerr != nil {
			return
		}
		if wait != nil {
			select {
			case <-wait:
			case <-ctx.Done():
				return
			}
		}
	}
}
