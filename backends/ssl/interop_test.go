//go:build linux

package ssl_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bufev/bufev/backends/socket"
	"github.com/bufev/bufev/backends/ssl"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
)

// peerProc is an openssl or curl process that is killed and waited for at
// the end of the test.
type peerProc struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr bytes.Buffer
	mu     sync.Mutex
	lines  chan string
	done   atomic.Bool
	waitc  chan struct{}
}

func lookTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		// .ci installs openssl and curl; a developer machine without them
		// cannot run the interop checks.
		t.Skipf("%s not installed: %v", name, err)
	}
	return path
}

// startPeer starts the command; its stdout lines are also sent to lines
// (for s_server's ACCEPT line).
func startPeer(t *testing.T, stdin io.Reader, name string, args ...string) *peerProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &peerProc{cmd: exec.CommandContext(ctx, name, args...), lines: make(chan string, 64), waitc: make(chan struct{})}
	p.cmd.Stdin = stdin
	p.cmd.Stderr = &lockedWriter{mu: &p.mu, w: &p.stderr}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.stdout.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		_ = p.cmd.Wait()
		p.done.Store(true)
		close(p.waitc)
	}()
	t.Cleanup(func() {
		cancel()
		<-p.waitc
	})
	return p
}

func (p *peerProc) output() (string, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String(), p.stderr.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

var tlsVersions = []struct {
	name    string
	v       uint16
	osslArg string
}{
	{"TLS1.2", tls.VersionTLS12, "-tls1_2"},
	{"TLS1.3", tls.VersionTLS13, "-tls1_3"},
}

// openssl s_client (with a client certificate and ALPN) against our
// server, TLS 1.2 and 1.3.
func TestInteropOpenSSLClient(t *testing.T) {
	openssl := lookTool(t, "openssl")
	p := testPKI(t)
	dir := p.writeFiles(t)
	for _, v := range tlsVersions {
		t.Run(v.name, func(t *testing.T) {
			base := newBase(t)
			defer base.Close()
			cfg := &tls.Config{
				Certificates: []tls.Certificate{p.server},
				ClientAuth:   tls.RequireAndVerifyClientCert,
				ClientCAs:    p.pool,
				NextProtos:   []string{"bufev-test"},
				MinVersion:   v.v,
				MaxVersion:   v.v,
			}
			var state tls.ConnectionState
			var srv *bufferevent.BufferEvent
			var failure error
			ln, err := socket.Listen(base, "tcp", "127.0.0.1:0", func(l *socket.Listener, fd int, _ net.Addr) {
				_ = l.Disable()
				bev, err := ssl.NewSocket(base, fd, cfg, ssl.Accepting, bufferevent.CloseOnFree)
				if err != nil {
					failure = err
					return
				}
				srv = bev
				_ = bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
					var line []byte
					_ = bev.WithLock(func(in, _ *evbuffer.Buffer) { line, _ = in.ReadLine(evbuffer.EOLLF) })
					if line == nil {
						return
					}
					_, _ = bev.WriteString("echo: " + string(line) + "\n")
					// Close (with close_notify) once the reply is out.
					_ = bev.SetCallbacks(nil, func(bev *bufferevent.BufferEvent) { _ = bev.Close() }, nil)
				}, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
					if what == bufferevent.Connected {
						state, _ = ssl.ConnectionState(bev)
						return
					}
					failure = fmt.Errorf("server event %v: %w", what, err)
					_ = bev.Close()
				})
				_ = bev.Enable(bufferevent.Read)
			}, socket.ListenerOptions{})
			must(t, err)
			defer ln.Close()
			proc := startPeer(t, strings.NewReader("hello bufev\n"), openssl, "s_client",
				"-connect", ln.Addr().String(), "-servername", "localhost",
				"-CAfile", filepath.Join(dir, "ca.pem"), "-verify_return_error",
				"-cert", filepath.Join(dir, "client.pem"), "-key", filepath.Join(dir, "client.key"),
				"-alpn", "bufev-test", v.osslArg, "-quiet")
			if !runUntil(t, base, 20*time.Second, proc.done.Load) {
				t.Fatal("s_client did not finish")
			}
			runUntil(t, base, 20*time.Millisecond, func() bool { return false })
			out, errOut := proc.output()
			if failure != nil {
				t.Fatalf("%v\ns_client stderr: %s", failure, errOut)
			}
			if !strings.Contains(out, "echo: hello bufev") {
				t.Fatalf("s_client output %q, stderr %q", out, errOut)
			}
			if state.Version != v.v || state.NegotiatedProtocol != "bufev-test" || state.ServerName != "localhost" ||
				len(state.PeerCertificates) == 0 || state.PeerCertificates[0].Subject.CommonName != "bufev client" {
				t.Errorf("server's view: version %#x ALPN %q SNI %q peer certs %d", state.Version, state.NegotiatedProtocol, state.ServerName, len(state.PeerCertificates))
			}
			_ = srv
		})
	}
}

// Our client (with a client certificate and ALPN) against openssl
// s_server -rev, TLS 1.2 and 1.3.
func TestInteropOpenSSLServer(t *testing.T) {
	openssl := lookTool(t, "openssl")
	p := testPKI(t)
	dir := p.writeFiles(t)
	for _, v := range tlsVersions {
		t.Run(v.name, func(t *testing.T) {
			// s_server waits for its stdin; keep it open until the end.
			stdinR, stdinW := io.Pipe()
			defer stdinW.Close()
			proc := startPeer(t, stdinR, openssl, "s_server",
				"-accept", "127.0.0.1:0", "-naccept", "1",
				"-cert", filepath.Join(dir, "server.pem"), "-key", filepath.Join(dir, "server.key"),
				"-CAfile", filepath.Join(dir, "ca.pem"), "-Verify", "1",
				"-alpn", "bufev-test", v.osslArg, "-rev")
			var addr string
			timeout := time.After(10 * time.Second)
			for addr == "" {
				select {
				case line := <-proc.lines:
					if strings.HasPrefix(line, "ACCEPT ") {
						addr = strings.TrimPrefix(line, "ACCEPT ")
					}
				case <-timeout:
					_, e := proc.output()
					t.Fatalf("s_server did not start: %s", e)
				}
			}
			tcpAddr, err := net.ResolveTCPAddr("tcp", addr)
			must(t, err)
			base := newBase(t)
			defer base.Close()
			cfg := p.clientConfig()
			cfg.Certificates = []tls.Certificate{p.client}
			cfg.NextProtos = []string{"bufev-test"}
			cfg.MinVersion, cfg.MaxVersion = v.v, v.v
			cli, err := ssl.NewSocket(base, -1, cfg, ssl.Connecting, bufferevent.CloseOnFree)
			must(t, err)
			var got []byte
			var state tls.ConnectionState
			var failure error
			must(t, cli.SetCallbacks(func(bev *bufferevent.BufferEvent) {
				var line []byte
				_ = bev.WithLock(func(in, _ *evbuffer.Buffer) { line, _ = in.ReadLine(evbuffer.EOLLF) })
				if line != nil {
					got = line
				}
			}, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
				if what == bufferevent.Connected {
					state, _ = ssl.ConnectionState(bev)
					return
				}
				failure = fmt.Errorf("client event %v: %w", what, err)
			}))
			must(t, cli.Enable(bufferevent.ReadWrite))
			must(t, ssl.Connect(cli, tcpAddr))
			_, _ = cli.WriteString("hello bufev\n")
			if !runUntil(t, base, 20*time.Second, func() bool { return got != nil || failure != nil }) {
				_, e := proc.output()
				t.Fatalf("no reply; s_server stderr: %s", e)
			}
			if failure != nil {
				t.Fatal(failure)
			}
			if string(got) != "vefub olleh" {
				t.Errorf("reply %q; want %q", got, "vefub olleh")
			}
			if state.Version != v.v || state.NegotiatedProtocol != "bufev-test" || len(state.PeerCertificates) == 0 ||
				state.PeerCertificates[0].Subject.CommonName != "localhost" {
				t.Errorf("client's view: version %#x ALPN %q peer certs %d", state.Version, state.NegotiatedProtocol, len(state.PeerCertificates))
			}
			must(t, cli.Close())
			runUntil(t, base, 20*time.Millisecond, func() bool { return false })
		})
	}
}

// chanListener is a net.Listener fed with the NetConns of accepted TLS
// bufferevents, for net/http.
type chanListener struct {
	conns  chan net.Conn
	addr   net.Addr
	closed chan struct{}
	once   sync.Once
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }

// curl against net/http served over bufferevent.NetConn of our TLS
// bufferevents.
func TestInteropCurlHTTPS(t *testing.T) {
	curl := lookTool(t, "curl")
	p := testPKI(t)
	dir := p.writeFiles(t)
	base := newBase(t)
	cfg := &tls.Config{Certificates: []tls.Certificate{p.server}, NextProtos: []string{"http/1.1"}}
	hl := &chanListener{conns: make(chan net.Conn, 16), closed: make(chan struct{})}
	ln, err := socket.Listen(base, "tcp", "127.0.0.1:0", func(_ *socket.Listener, fd int, _ net.Addr) {
		bev, err := ssl.NewSocket(base, fd, cfg, ssl.Accepting, bufferevent.CloseOnFree)
		if err != nil {
			t.Error(err)
			return
		}
		c, err := bufferevent.NetConn(bev)
		if err != nil {
			t.Error(err)
			_ = bev.Close()
			return
		}
		select {
		case hl.conns <- c:
		default:
			_ = c.Close()
		}
	}, socket.ListenerOptions{})
	must(t, err)
	hl.addr = ln.Addr()
	loopDone := make(chan error, 1)
	go func() { loopDone <- base.Dispatch() }()
	var remoteMu sync.Mutex
	var remotes []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		remoteMu.Lock()
		remotes = append(remotes, r.RemoteAddr)
		remoteMu.Unlock()
		fmt.Fprintf(w, "hello over bufev TLS, %s %s", r.Proto, r.URL.Path)
	}), ReadHeaderTimeout: 5 * time.Second}
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(hl) }()
	defer func() {
		_ = srv.Close()
		<-serveDone
		_ = base.Do(context.Background(), func() { _ = ln.Close() })
		base.LoopBreak()
		<-loopDone
		base.Close()
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	for i := range 2 {
		stdinR := strings.NewReader("")
		proc := startPeer(t, stdinR, curl, "-sS", "--max-time", "10", "--http1.1",
			"--cacert", filepath.Join(dir, "ca.pem"),
			fmt.Sprintf("https://localhost:%d/path%d", port, i))
		<-proc.waitc
		out, errOut := proc.output()
		want := fmt.Sprintf("hello over bufev TLS, HTTP/1.1 /path%d", i)
		if strings.TrimSpace(out) != want {
			t.Fatalf("curl output %q (stderr %q); want %q", out, errOut, want)
		}
	}
	remoteMu.Lock()
	defer remoteMu.Unlock()
	for _, r := range remotes {
		if !strings.HasPrefix(r, "127.0.0.1:") {
			t.Errorf("RemoteAddr seen by net/http = %q; want the curl client's 127.0.0.1 address", r)
		}
	}
}

// openssl s_server asks for a renegotiation (its "r" command) in the middle
// of a TLS 1.2 connection; our client, configured with
// tls.RenegotiateOnceAsClient, renegotiates on a short-lived goroutine and
// the data keeps flowing both ways. libevent's
// "bufferevent_renegotiate_socketpair" has the client start the
// renegotiation, which crypto/tls cannot do; this is the form it allows.
func TestInteropRenegotiation(t *testing.T) {
	openssl := lookTool(t, "openssl")
	p := testPKI(t)
	dir := p.writeFiles(t)
	stdinR, stdinW := io.Pipe()
	defer stdinW.Close()
	proc := startPeer(t, stdinR, openssl, "s_server",
		"-accept", "127.0.0.1:0", "-naccept", "1",
		"-cert", filepath.Join(dir, "server.pem"), "-key", filepath.Join(dir, "server.key"), "-tls1_2")
	var addr string
	timeout := time.After(10 * time.Second)
	for addr == "" {
		select {
		case line := <-proc.lines:
			if strings.HasPrefix(line, "ACCEPT ") {
				addr = strings.TrimPrefix(line, "ACCEPT ")
			}
		case <-timeout:
			_, e := proc.output()
			t.Fatalf("s_server did not start: %s", e)
		}
	}
	tcpAddr, err := net.ResolveTCPAddr("tcp", addr)
	must(t, err)
	base := newBase(t)
	defer base.Close()
	cfg := p.clientConfig()
	cfg.MaxVersion = tls.VersionTLS12
	cfg.Renegotiation = tls.RenegotiateOnceAsClient
	cli, err := ssl.NewSocket(base, -1, cfg, ssl.Connecting, bufferevent.CloseOnFree)
	must(t, err)
	var lines []string
	var failure error
	connected := false
	must(t, cli.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		for {
			var line []byte
			_ = bev.WithLock(func(in, _ *evbuffer.Buffer) { line, _ = in.ReadLine(evbuffer.EOLLF) })
			if line == nil {
				return
			}
			lines = append(lines, string(line))
		}
	}, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		if what == bufferevent.Connected {
			connected = true
			return
		}
		failure = fmt.Errorf("client event %v: %w", what, err)
	}))
	must(t, cli.Enable(bufferevent.ReadWrite))
	must(t, ssl.Connect(cli, tcpAddr))
	if !runUntil(t, base, 10*time.Second, func() bool { return connected || failure != nil }) || failure != nil {
		t.Fatalf("no connection: %v", failure)
	}
	send := func(s string) {
		go func() { _, _ = io.WriteString(stdinW, s) }()
	}
	send("before\n")
	if !runUntil(t, base, 10*time.Second, func() bool { return len(lines) == 1 || failure != nil }) {
		t.Fatalf("lines %q, %v", lines, failure)
	}
	send("r\n") // s_server: SSL_renegotiate + SSL_do_handshake
	renegotiated := func() bool {
		out, _ := proc.output()
		return strings.Contains(out, "SSL_do_handshake -> 1")
	}
	if !runUntil(t, base, 10*time.Second, func() bool { return renegotiated() || failure != nil }) || failure != nil {
		out, e := proc.output()
		t.Fatalf("renegotiation did not complete: %v\nstdout %s\nstderr %s", failure, out, e)
	}
	send("after\n")
	_, _ = cli.WriteString("from client\n")
	if !runUntil(t, base, 10*time.Second, func() bool {
		out, _ := proc.output()
		return (len(lines) == 2 && strings.Contains(out, "from client")) || failure != nil
	}) || failure != nil {
		out, e := proc.output()
		t.Fatalf("after renegotiation: lines %q, %v\nstdout %s\nstderr %s", lines, failure, out, e)
	}
	if lines[0] != "before" || lines[1] != "after" {
		t.Errorf("lines %q", lines)
	}
	must(t, cli.Close())
	runUntil(t, base, 20*time.Millisecond, func() bool { return false })
}
