//go:build unix

package ssl_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bufev/bufev/backends/socket"
	"github.com/bufev/bufev/backends/ssl"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
	"go.uber.org/goleak"
)

// rawConn wraps fd in a net.Conn (the fd is duplicated and closed).
func rawConn(t testing.TB, fd int) net.Conn {
	t.Helper()
	f := os.NewFile(uintptr(fd), "peer")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type evRec struct {
	what bufferevent.Events
	err  error
}

func recorder(list *[]evRec) bufferevent.EventFunc {
	return func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		*list = append(*list, evRec{what, err})
	}
}

func settle(t testing.TB, base *eventbase.Base) {
	runUntil(t, base, 30*time.Millisecond, func() bool { return false })
}

// faultRun is one run of a peer-fault scenario: an ssl bufferevent over one
// end of a socket pair, recording its events, and the peer's end.
type faultRun struct {
	t    *testing.T
	p    *pki
	base *eventbase.Base
	peer int // the peer's descriptor; -1 once conn took it
	evs  []evRec
}

// conn turns the peer's end into a net.Conn (closed when the run ends).
func (r *faultRun) conn() net.Conn {
	c := rawConn(r.t, r.peer)
	r.peer = -1
	r.t.Cleanup(func() { c.Close() })
	return c
}

// wait runs the loop until n events were recorded.
func (r *faultRun) wait(n int, what string) {
	r.t.Helper()
	if !runUntil(r.t, r.base, 5*time.Second, func() bool { return len(r.evs) >= n }) {
		r.t.Fatalf("no %s (events %v)", what, r.evs)
	}
}

// faultCase is a peer misbehaving towards an ssl bufferevent in socket
// mode: peer plays it, check judges the events recorded.
type faultCase struct {
	name   string
	state  ssl.State // Accepting: server config; Connecting: client config
	extra  []ssl.Option
	enable bool // enable reading (needed to see what follows the handshake)
	peer   func(r *faultRun)
	check  func(t *testing.T, evs []evRec)
}

// TestFaultPeer runs every peer fault: each gives the documented event and
// error, no panic, and leaves no goroutine behind.
func TestFaultPeer(t *testing.T) {
	cases := []faultCase{{
		// Garbage instead of a ClientHello: one Reading|Error naming the
		// problem.
		name:  "garbage ClientHello",
		state: ssl.Accepting,
		peer: func(r *faultRun) {
			_, _ = r.conn().Write([]byte("GET / HTTP/1.0\r\nHost: x\r\n\r\n"))
			r.wait(1, "event")
		},
		check: func(t *testing.T, evs []evRec) {
			if len(evs) != 1 || evs[0].what != bufferevent.Reading|bufferevent.Error || !strings.Contains(evs[0].err.Error(), "tls:") {
				t.Fatalf("events %v; want one Reading|Error from crypto/tls", evs)
			}
			t.Logf("error: %v", evs[0].err)
		},
	}, {
		// A peer that completes the handshake and then cuts a record in
		// half: Error with ErrTruncated even with DirtyShutdown set (a
		// truncation is never a clean end).
		name:   "truncated record",
		state:  ssl.Accepting,
		extra:  []ssl.Option{ssl.WithFlags(ssl.DirtyShutdown)},
		enable: true,
		peer: func(r *faultRun) {
			raw := r.conn()
			hsDone := make(chan error, 1)
			go func() { hsDone <- tls.Client(raw, r.p.clientConfig()).Handshake() }()
			r.wait(1, "Connected")
			must(r.t, <-hsDone)
			// An application-data record header announcing 100 bytes, 10
			// of them, then the end of the stream.
			_, _ = raw.Write(append([]byte{23, 3, 3, 0, 100}, make([]byte, 10)...))
			_ = raw.(*net.UnixConn).CloseWrite()
			r.wait(2, "event after the truncation")
		},
		check: func(t *testing.T, evs []evRec) {
			if evs[0].what != bufferevent.Connected || evs[1].what != bufferevent.Reading|bufferevent.Error ||
				!errors.Is(evs[1].err, ssl.ErrTruncated) || !errors.Is(evs[1].err, io.ErrUnexpectedEOF) {
				t.Fatalf("events %v; want Connected then Reading|Error with ErrTruncated", evs)
			}
		},
	}, {
		// A peer that completes the handshake and then sends the header of
		// a record longer than TLS allows: Error at once, as crypto/tls
		// reports it over a net.Conn (record overflow). The adapter waited
		// for the whole 65 540 bytes the header announced before letting
		// crypto/tls look at it, so the connection stayed open, silent.
		name:   "oversized record header",
		state:  ssl.Accepting,
		enable: true,
		peer: func(r *faultRun) {
			raw := r.conn()
			hsDone := make(chan error, 1)
			go func() { hsDone <- tls.Client(raw, r.p.clientConfig()).Handshake() }()
			r.wait(1, "Connected")
			must(r.t, <-hsDone)
			_, _ = raw.Write([]byte{23, 3, 3, 0xff, 0xff})
			r.wait(2, "event after the oversized header")
		},
		check: func(t *testing.T, evs []evRec) {
			if evs[0].what != bufferevent.Connected || evs[1].what != bufferevent.Reading|bufferevent.Error ||
				!strings.Contains(evs[1].err.Error(), "oversized record") {
				t.Fatalf("events %v; want Connected then Reading|Error (oversized record)", evs)
			}
			t.Logf("error: %v", evs[1].err)
		},
	}, {
		// A peer that stops mid-handshake: the handshake timeout fires,
		// and the handshake goroutine is gone afterwards.
		name:  "stalled peer",
		state: ssl.Accepting,
		extra: []ssl.Option{ssl.HandshakeTimeout(100 * time.Millisecond)},
		peer: func(r *faultRun) {
			// Half a ClientHello record header, then silence.
			_, _ = r.conn().Write([]byte{22, 3, 1})
			r.wait(1, "event")
		},
		check: func(t *testing.T, evs []evRec) {
			if len(evs) != 1 || evs[0].what != bufferevent.Timeout || !errors.Is(evs[0].err, ssl.ErrHandshakeTimeout) {
				t.Fatalf("events %v; want one Timeout with ErrHandshakeTimeout", evs)
			}
		},
	}, {
		// The peer closes during the handshake: Error (dirty) by default.
		name:  "EOF during handshake",
		state: ssl.Connecting,
		peer: func(r *faultRun) {
			settle(r.t, r.base)
			_ = syscall.Shutdown(r.peer, syscall.SHUT_WR) // EOF, not a reset
			r.wait(1, "event")
		},
		check: func(t *testing.T, evs []evRec) {
			if len(evs) != 1 || evs[0].what != bufferevent.Reading|bufferevent.Error || !errors.Is(evs[0].err, io.ErrUnexpectedEOF) {
				t.Fatalf("events %v (%v); want Reading|Error (dirty shutdown)", evs, evs[0].err)
			}
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			r := &faultRun{t: t, p: testPKI(t), base: newBase(t)}
			defer r.base.Close()
			ours, peer := socketPair(t)
			r.peer = peer
			defer func() {
				if r.peer >= 0 {
					syscall.Close(r.peer)
				}
			}()
			cfg := r.p.serverConfig()
			if c.state == ssl.Connecting {
				cfg = r.p.clientConfig()
			}
			bev, err := ssl.NewSocket(r.base, ours, cfg, c.state, bufferevent.CloseOnFree, c.extra...)
			must(t, err)
			must(t, bev.SetCallbacks(nil, nil, recorder(&r.evs)))
			if c.enable {
				must(t, bev.Enable(bufferevent.Read))
			}
			c.peer(r)
			c.check(t, r.evs)
			must(t, bev.Close())
			settle(t, r.base)
		})
	}
}

// A server with a certificate the client does not trust: the client gets
// an Error matching *tls.CertificateVerificationError, the server an Error
// carrying the alert the client sent (errors.As tls.AlertError).
func TestFaultWrongCertificate(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	p := testPKI(t)
	base := newBase(t)
	defer base.Close()
	fc, fs := socketPair(t)
	cli, err := ssl.NewSocket(base, fc, p.clientConfig(), ssl.Connecting, bufferevent.CloseOnFree)
	must(t, err)
	srv, err := ssl.NewSocket(base, fs, &tls.Config{Certificates: []tls.Certificate{p.other}}, ssl.Accepting, bufferevent.CloseOnFree)
	must(t, err)
	var ce, se []evRec
	must(t, cli.SetCallbacks(nil, nil, recorder(&ce)))
	must(t, srv.SetCallbacks(nil, nil, recorder(&se)))
	if !runUntil(t, base, 5*time.Second, func() bool { return len(ce) > 0 && len(se) > 0 }) {
		t.Fatalf("client %v server %v", ce, se)
	}
	var cve *tls.CertificateVerificationError
	if len(ce) != 1 || ce[0].what&bufferevent.Error == 0 || !errors.As(ce[0].err, &cve) {
		t.Errorf("client events %v; want one Error with *tls.CertificateVerificationError", ce)
	}
	var ua x509.UnknownAuthorityError
	if cve != nil && !errors.As(cve.Err, &ua) {
		t.Errorf("verification error %v; want x509.UnknownAuthorityError", cve.Err)
	}
	var alert tls.AlertError
	if len(se) != 1 || se[0].what&bufferevent.Error == 0 || !errors.As(se[0].err, &alert) {
		t.Errorf("server events %v; want one Error carrying the client's alert", se)
	} else {
		t.Logf("server saw alert %d (%v)", uint8(alert), se[0].err)
	}
	errs, err := ssl.Errors(cli)
	if err != nil || len(errs) == 0 || !errors.As(errs[len(errs)-1], &cve) {
		t.Errorf("client Errors() = %v, %v", errs, err)
	}
	must(t, cli.Close())
	must(t, srv.Close())
	settle(t, base)
}

// Closing during the handshake stops the handshake goroutine.
func TestCloseDuringHandshake(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	p := testPKI(t)
	base := newBase(t)
	defer base.Close()
	fc, fs := socketPair(t)
	defer syscall.Close(fs)
	cli, err := ssl.NewSocket(base, fc, p.clientConfig(), ssl.Connecting, bufferevent.CloseOnFree)
	must(t, err)
	settle(t, base)
	if _, err := ssl.ConnectionState(cli); !errors.Is(err, ssl.ErrHandshaking) {
		t.Errorf("ConnectionState during the handshake = %v; want ErrHandshaking", err)
	}
	must(t, cli.Close())
	settle(t, base)
}

// Bad arguments give clear errors and leak nothing.
func TestBadArguments(t *testing.T) {
	p := testPKI(t)
	base := newBase(t)
	defer base.Close()
	noName := p.clientConfig()
	noName.ServerName = ""
	insecure := &tls.Config{InsecureSkipVerify: true}
	cases := []struct {
		name  string
		cfg   *tls.Config
		state ssl.State
		extra []ssl.Option
		want  error
	}{
		{"nil client config", nil, ssl.Connecting, nil, ssl.ErrNilConfig},
		{"nil server config", nil, ssl.Accepting, nil, ssl.ErrNilConfig},
		{"client without ServerName", noName, ssl.Connecting, nil, ssl.ErrNoServerName},
		{"server without certificate", &tls.Config{}, ssl.Accepting, nil, ssl.ErrNoCertificate},
		{"bad state", p.serverConfig(), ssl.State(9), nil, ssl.ErrInvalidState},
		{"Open without session", nil, ssl.Open, nil, ssl.ErrNoSession},
		{"Open with an attached session", nil, ssl.Open, []ssl.Option{ssl.WithSession(&ssl.Session{})}, ssl.ErrNoSession},
	}
	for _, c := range cases {
		if _, err := ssl.NewSocket(base, -1, c.cfg, c.state, 0, c.extra...); !errors.Is(err, c.want) {
			t.Errorf("NewSocket %s: %v; want %v", c.name, err, c.want)
		}
		u, err := socket.New(base, -1, 0)
		must(t, err)
		if _, err := ssl.NewFilter(base, u, c.cfg, c.state, 0, c.extra...); !errors.Is(err, c.want) {
			t.Errorf("NewFilter %s: %v; want %v", c.name, err, c.want)
		}
		must(t, u.Close())
	}
	if _, err := ssl.NewFilter(base, nil, p.serverConfig(), ssl.Accepting, 0); !errors.Is(err, ssl.ErrNilUnderlying) {
		t.Errorf("NewFilter(nil underlying) = %v", err)
	}
	if _, err := ssl.NewSocket(nil, -1, p.serverConfig(), ssl.Accepting, 0); !errors.Is(err, bufferevent.ErrNilBase) {
		t.Errorf("NewSocket(nil base) = %v", err)
	}
	if _, err := ssl.NewSocket(base, -1, p.serverConfig(), ssl.Accepting, bufferevent.UnlockCallbacks); !errors.Is(err, bufferevent.ErrInvalidOptions) {
		t.Errorf("NewSocket(UnlockCallbacks alone) = %v", err)
	}
	// An insecure client needs no ServerName.
	bev, err := ssl.NewSocket(base, -1, insecure, ssl.Connecting, 0)
	must(t, err)
	// Flags API.
	if prev, err := ssl.SetFlags(bev, ssl.DirtyShutdown); err != nil || prev != 0 {
		t.Errorf("SetFlags = %v, %v", prev, err)
	}
	if prev, err := ssl.SetFlags(bev, ssl.BatchWrite); err != nil || prev != ssl.DirtyShutdown {
		t.Errorf("SetFlags = %v, %v", prev, err)
	}
	if prev, err := ssl.ClearFlags(bev, ssl.DirtyShutdown); err != nil || prev != ssl.DirtyShutdown|ssl.BatchWrite {
		t.Errorf("ClearFlags = %v, %v", prev, err)
	}
	if f, err := ssl.GetFlags(bev); err != nil || f != ssl.BatchWrite {
		t.Errorf("GetFlags = %v, %v", f, err)
	}
	if _, err := ssl.SetFlags(bev, 1<<40); !errors.Is(err, ssl.ErrInvalidFlags) {
		t.Errorf("SetFlags(bad) = %v", err)
	}
	if _, err := ssl.ClearFlags(bev, 0); !errors.Is(err, ssl.ErrInvalidFlags) {
		t.Errorf("ClearFlags(0) = %v", err)
	}
	if _, err := ssl.SessionOf(bev); !errors.Is(err, ssl.ErrHandshaking) {
		t.Errorf("SessionOf during the handshake = %v", err)
	}
	if got := bev.Type(); got != ssl.TypeName {
		t.Errorf("Type() = %q", got)
	}
	must(t, bev.Close())
	if _, err := ssl.GetFlags(bev); !errors.Is(err, bufferevent.ErrClosed) {
		t.Errorf("GetFlags after Close = %v; want ErrClosed", err)
	}
	// Not an ssl bufferevent.
	u, err := socket.New(base, -1, 0)
	must(t, err)
	defer u.Close()
	if _, err := ssl.ConnectionState(u); !errors.Is(err, ssl.ErrNotSSL) {
		t.Errorf("ConnectionState(socket) = %v", err)
	}
	if _, err := ssl.GetFlags(nil); !errors.Is(err, ssl.ErrNotSSL) {
		t.Errorf("GetFlags(nil) = %v", err)
	}
	if err := ssl.Connect(u, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}); !errors.Is(err, ssl.ErrNotSSL) {
		t.Errorf("Connect(socket) = %v", err)
	}
	if _, err := bufferevent.Open(base, ssl.TypeName, 0); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("bufferevent.Open(ssl) = %v; want ErrUnsupported", err)
	}
	settle(t, base)
}

// Closing the base under a bufferevent whose handshake is waiting (a
// misuse) does not leave the handshake goroutine behind for longer than
// the handshake timeout.
func TestBaseClosedDuringHandshake(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	p := testPKI(t)
	base := newBase(t)
	fc, fs := socketPair(t)
	defer syscall.Close(fs)
	defer syscall.Close(fc)
	_, err := ssl.NewSocket(base, fc, p.clientConfig(), ssl.Connecting, 0, ssl.HandshakeTimeout(50*time.Millisecond))
	must(t, err)
	settle(t, base)
	base.Close()
	// The backstop fires at timeout + 1 s; goleak.VerifyNone retries for a
	// while before failing.
	time.Sleep(1200 * time.Millisecond)
}

// A base closed during a handshake with the default handshake timeout, or
// none, ends the handshake goroutine with it. It waited for the backstop
// (11 s with the default timeout) or, without a timeout, for good: a
// server shutting down mid-handshake leaked a goroutine per connection.
func TestBaseClosedDuringHandshakeEndsGoroutine(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra []ssl.Option
	}{{"default timeout", nil}, {"no timeout", []ssl.Option{ssl.HandshakeTimeout(0)}}} {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			p := testPKI(t)
			base := newBase(t)
			fc, fs := socketPair(t)
			defer syscall.Close(fs)
			defer syscall.Close(fc)
			_, err := ssl.NewSocket(base, fc, p.clientConfig(), ssl.Connecting, 0, tc.extra...)
			must(t, err)
			settle(t, base)
			base.Close()
		})
	}
}
