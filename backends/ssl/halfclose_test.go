//go:build linux

package ssl_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/bufev/bufev/backends/socket"
	"github.com/bufev/bufev/backends/ssl"
	"github.com/bufev/bufev/bufferevent"
)

// Flush(Write, Finished) on a TLS bufferevent over a socket, in socket and filter mode,
// sends close_notify and then shuts the TCP write side down: a crypto/tls server reads
// the request, then EOF, and the raw connection shows the FIN; it can still answer, and
// the bufferevent reads the answer until the server's own close.
func TestSSLFinishedHalfClose(t *testing.T) {
	p := testPKI(t)
	for _, mode := range []string{"socket", "filter"} {
		t.Run(mode, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			request := bytes.Repeat([]byte("request "), 40000) // several records
			peer := make(chan error, 1)
			go func() {
				raw, err := ln.Accept()
				if err != nil {
					peer <- err
					return
				}
				defer raw.Close()
				raw.SetDeadline(time.Now().Add(5 * time.Second))
				tc := tls.Server(raw, p.serverConfig())
				got, err := io.ReadAll(tc) // close_notify ends it
				if err != nil {
					peer <- err
					return
				}
				if !bytes.Equal(got, request) {
					peer <- errors.New("server: the request differs")
					return
				}
				var b [1]byte
				if n, err := raw.Read(b[:]); n != 0 || err != io.EOF {
					peer <- errors.New("server: no TCP FIN after close_notify")
					return
				}
				if _, err := tc.Write([]byte("response")); err != nil {
					peer <- err
					return
				}
				peer <- tc.Close()
			}()

			base := newBase(t)
			defer base.Close()
			addr := ln.Addr()
			var bev *bufferevent.BufferEvent
			if mode == "socket" {
				bev, err = ssl.NewSocket(base, -1, p.clientConfig(), ssl.Connecting, bufferevent.CloseOnFree)
				if err == nil {
					err = ssl.Connect(bev, addr)
				}
			} else {
				var under *bufferevent.BufferEvent
				under, err = socket.New(base, -1, bufferevent.CloseOnFree)
				if err == nil {
					err = socket.Connect(under, addr)
				}
				if err == nil {
					bev, err = ssl.NewFilter(base, under, p.clientConfig(), ssl.Connecting, bufferevent.CloseOnFree)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			defer bev.Close()
			var got bytes.Buffer
			eof := false
			drain := func(bev *bufferevent.BufferEvent) {
				var tmp [512]byte
				for n, _ := bev.Read(tmp[:]); n > 0; n, _ = bev.Read(tmp[:]) {
					got.Write(tmp[:n])
				}
			}
			bev.SetCallbacks(drain, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
				switch {
				case what&bufferevent.Connected != 0:
				case what&bufferevent.EOF != 0:
					drain(bev)
					eof = true
				default:
					t.Errorf("event %v: %v", what, err)
					eof = true
				}
			})
			bev.Enable(bufferevent.ReadWrite)
			bev.Write(request)
			if _, err := bev.Flush(bufferevent.Write, bufferevent.Finished); err != nil {
				t.Fatal(err)
			}
			if !runUntil(t, base, 5*time.Second, func() bool { return eof }) {
				t.Fatal("no EOF from the server")
			}
			if err := <-peer; err != nil {
				t.Fatalf("server: %v", err)
			}
			if got.String() != "response" {
				t.Fatalf("read %q, want the server's response", got.String())
			}
		})
	}
}

// A close_notify ends only the direction it arrives on: two ssl bufferevents (over a
// pair, and in socket mode over TCP), the client sends its request and finishes; the
// server reads the request and EOF, then answers and finishes; the client reads the
// whole answer, then EOF. Before, the server's close_notify handling ended both
// directions (phase done, Write disabled), so the answer stayed in its output and the
// client never saw it: a half-close between two of our own TLS ends did not work.
func TestSSLHalfCloseBothOurs(t *testing.T) {
	p := testPKI(t)
	for _, mode := range []string{"pair", "socket"} {
		t.Run(mode, func(t *testing.T) {
			base := newBase(t)
			defer base.Close()
			var cli, srv *bufferevent.BufferEvent
			if mode == "pair" {
				cli, srv, _, _ = tlsOverPair(t, base, bufferevent.CloseOnFree)
			} else {
				fa, fb := tcpFDs(t)
				var err error
				cli, err = ssl.NewSocket(base, fa, p.clientConfig(), ssl.Connecting, bufferevent.CloseOnFree)
				must(t, err)
				srv, err = ssl.NewSocket(base, fb, p.serverConfig(), ssl.Accepting, bufferevent.CloseOnFree)
				must(t, err)
			}
			defer cli.Close()
			defer srv.Close()
			request := bytes.Repeat([]byte("request "), 10000)
			answer := bytes.Repeat([]byte("answer "), 20000)
			var gotReq, gotAns bytes.Buffer
			var srvEOF, cliEOF bool
			var errs []error
			readAll := func(dst *bytes.Buffer) func(*bufferevent.BufferEvent) {
				return func(bev *bufferevent.BufferEvent) {
					var tmp [4096]byte
					for n, _ := bev.Read(tmp[:]); n > 0; n, _ = bev.Read(tmp[:]) {
						dst.Write(tmp[:n])
					}
				}
			}
			must(t, srv.SetCallbacks(readAll(&gotReq), nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
				switch {
				case what&bufferevent.Connected != 0:
				case what&bufferevent.EOF != 0:
					readAll(&gotReq)(bev)
					srvEOF = true
					if _, err := bev.Write(answer); err != nil {
						errs = append(errs, fmt.Errorf("server write after EOF: %w", err))
					}
					if _, err := bev.Flush(bufferevent.Write, bufferevent.Finished); err != nil {
						errs = append(errs, fmt.Errorf("server finish: %w", err))
					}
				default:
					errs = append(errs, fmt.Errorf("server event %v: %v", what, err))
				}
			}))
			must(t, cli.SetCallbacks(readAll(&gotAns), nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
				switch {
				case what&bufferevent.Connected != 0:
				case what&bufferevent.EOF != 0:
					readAll(&gotAns)(bev)
					cliEOF = true
				default:
					errs = append(errs, fmt.Errorf("client event %v: %v", what, err))
					cliEOF = true
				}
			}))
			must(t, srv.Enable(bufferevent.ReadWrite))
			must(t, cli.Enable(bufferevent.ReadWrite))
			_, err := cli.Write(request)
			must(t, err)
			_, err = cli.Flush(bufferevent.Write, bufferevent.Finished)
			must(t, err)
			runUntil(t, base, 5*time.Second, func() bool { return cliEOF || len(errs) > 0 })
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			if !srvEOF || !bytes.Equal(gotReq.Bytes(), request) {
				t.Fatalf("server: EOF %v, %d of %d request bytes", srvEOF, gotReq.Len(), len(request))
			}
			if !cliEOF || !bytes.Equal(gotAns.Bytes(), answer) {
				t.Fatalf("client: EOF %v, %d of %d answer bytes (the server's close_notify handling ended its write side)", cliEOF, gotAns.Len(), len(answer))
			}
		})
	}
}

// Closing a TLS bufferevent with CloseOnFree once its output drained must not lose the
// ciphertext its transport still holds: here the transport's send buffer and the peer's
// receive buffer are small and the peer reads only after the close, so most of the
// records are still in the (hidden) socket bufferevent's output when Close runs. The
// output drained as soon as Finished encrypted it, which is when a relay like
// le-proxy's closes a side (its write callback, "output empty"); a filter over a
// socket lingers for this (filter.Linger), and a TLS bufferevent must too. Before, the
// close wrote what the socket took at once and closed the descriptor: the peer got a
// truncated stream.
func TestSSLCloseAfterFinishedKeepsCiphertext(t *testing.T) {
	p := testPKI(t)
	for _, mode := range []string{"socket", "filter"} {
		t.Run(mode, func(t *testing.T) {
			fa, fb := tcpFDs(t)
			if err := syscall.SetsockoptInt(fa, syscall.SOL_SOCKET, syscall.SO_SNDBUF, 64<<10); err != nil {
				t.Fatal(err)
			}
			if err := syscall.SetsockoptInt(fb, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 256<<10); err != nil {
				t.Fatal(err)
			}
			f := os.NewFile(uintptr(fb), "peer")
			raw, err := net.FileConn(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			raw.SetDeadline(time.Now().Add(10 * time.Second))
			data := bytes.Repeat([]byte("0123456789abcdef"), (4<<20)/16)
			closed := make(chan struct{})
			type result struct {
				n   int
				err error
			}
			peer := make(chan result, 1)
			go func() {
				tc := tls.Server(raw, p.serverConfig())
				if err := tc.Handshake(); err != nil {
					peer <- result{0, err}
					return
				}
				<-closed
				got, err := io.ReadAll(tc)
				if err == nil && !bytes.Equal(got, data) {
					err = errors.New("the data differs")
				}
				peer <- result{len(got), err}
			}()

			base := newBase(t)
			defer base.Close()
			var bev *bufferevent.BufferEvent
			if mode == "socket" {
				bev, err = ssl.NewSocket(base, fa, p.clientConfig(), ssl.Connecting, bufferevent.CloseOnFree)
			} else {
				var under *bufferevent.BufferEvent
				under, err = socket.New(base, fa, bufferevent.CloseOnFree)
				if err == nil {
					bev, err = ssl.NewFilter(base, under, p.clientConfig(), ssl.Connecting, bufferevent.CloseOnFree)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			connected := false
			must(t, bev.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
				if what&bufferevent.Connected != 0 {
					connected = true
					return
				}
				t.Errorf("event %v: %v", what, err)
			}))
			must(t, bev.Enable(bufferevent.ReadWrite))
			if !runUntil(t, base, 5*time.Second, func() bool { return connected }) {
				t.Fatal("no handshake")
			}
			_, err = bev.Write(data)
			must(t, err)
			_, err = bev.Flush(bufferevent.Write, bufferevent.Finished)
			must(t, err)
			if n := bev.Output().Len(); n != 0 {
				t.Fatalf("output holds %d bytes after Finished", n)
			}
			must(t, bev.Close())
			close(closed)
			var r result
			runUntil(t, base, 10*time.Second, func() bool {
				select {
				case r = <-peer:
					return true
				default:
					return false
				}
			})
			if r.err != nil || r.n != len(data) {
				t.Fatalf("peer read %d of %d bytes: %v", r.n, len(data), r.err)
			}
		})
	}
}

// Closing the base while a closed ssl bufferevent's socket lingers closes the socket
// (see TestSSLCloseAfterFinishedKeepsCiphertext): nobody else owns it any more.
func TestSSLLingerBaseClose(t *testing.T) {
	p := testPKI(t)
	fa, fb := tcpFDs(t)
	if err := syscall.SetsockoptInt(fa, syscall.SOL_SOCKET, syscall.SO_SNDBUF, 64<<10); err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fb), "peer")
	raw, err := net.FileConn(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(5 * time.Second))
	go func() { _ = tls.Server(raw, p.serverConfig()).Handshake() }() // then reads nothing
	base := newBase(t)
	bev, err := ssl.NewSocket(base, fa, p.clientConfig(), ssl.Connecting, bufferevent.CloseOnFree)
	must(t, err)
	connected := false
	must(t, bev.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, _ error) {
		connected = connected || what&bufferevent.Connected != 0
	}))
	must(t, bev.Enable(bufferevent.ReadWrite))
	if !runUntil(t, base, 5*time.Second, func() bool { return connected }) {
		t.Fatal("no handshake")
	}
	_, err = bev.Write(bytes.Repeat([]byte("x"), 8<<20))
	must(t, err)
	_, err = bev.Flush(bufferevent.Write, bufferevent.Finished)
	must(t, err)
	must(t, bev.Close()) // lingers: the peer does not read
	must(t, base.Close())
	var st syscall.Stat_t
	if err := syscall.Fstat(fa, &st); err != syscall.EBADF {
		t.Errorf("the lingering socket's descriptor is still open after the base's Close (fstat: %v)", err)
	}
}

// After the peer's close_notify has ended the read direction, an event of the
// underlying that carries an error or a timeout besides the transport's EOF
// (a deferred underlying coalesces the events of one turn: the FIN read
// with a failed write) reaches the user: writing failed. It was taken for
// the EOF alone and dropped, and the user, still writing, never heard.
func TestSSLErrorAfterCloseNotifyReported(t *testing.T) {
	p := testPKI(t)
	base := newBase(t)
	defer base.Close()
	fa, fb := tcpFDs(t)
	client, err := ssl.NewSocket(base, fa, p.clientConfig(), ssl.Connecting, bufferevent.CloseOnFree)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ssl.NewSocket(base, fb, p.serverConfig(), ssl.Accepting, bufferevent.CloseOnFree)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	var events []bufferevent.Events
	var lastErr error
	client.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		events = append(events, what)
		lastErr = err
	})
	connected := false
	server.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, _ error) {
		if what&bufferevent.Connected != 0 {
			connected = true
		}
	})
	client.Enable(bufferevent.ReadWrite)
	server.Enable(bufferevent.ReadWrite)
	if !runUntil(t, base, 5*time.Second, func() bool { return connected }) {
		t.Fatal("no handshake")
	}
	if _, err := server.Flush(bufferevent.Write, bufferevent.Finished); err != nil {
		t.Fatal(err)
	}
	hasEOF := func() bool {
		for _, e := range events {
			if e&bufferevent.EOF != 0 {
				return true
			}
		}
		return false
	}
	if !runUntil(t, base, 5*time.Second, hasEOF) {
		t.Fatalf("no EOF after the server's close_notify (events %v)", events)
	}
	events = nil
	ssl.UnderlyingEventForTest(client, bufferevent.EOF|bufferevent.Error|bufferevent.Reading|bufferevent.Writing, syscall.EPIPE)
	runUntil(t, base, 100*time.Millisecond, func() bool { return len(events) > 0 })
	if len(events) != 1 || events[0]&bufferevent.Error == 0 || events[0]&bufferevent.Writing == 0 || !errors.Is(lastErr, syscall.EPIPE) {
		t.Fatalf("events %v (last error %v); want one Writing|Error with EPIPE", events, lastErr)
	}
}
