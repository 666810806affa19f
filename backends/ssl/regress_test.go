//go:build unix

package ssl_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/bufev/bufev/backends/socket"
	"github.com/bufev/bufev/backends/ssl"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
)

// socketPair returns a connected AF_UNIX stream pair, as libevent's tests
// use evutil_socketpair.
func socketPair(t testing.TB) (a, b int) {
	t.Helper()
	syscall.ForkLock.RLock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		t.Fatal(err)
	}
	return fds[0], fds[1]
}

// pingPong is the shared scenario of libevent's test/regress_ssl.c
// (regress_bufferevent_openssl): the client sends "1\n"; each side reads a
// number and answers n+1; the side that reads 1001 closes itself without
// close_notify, so the survivor sees a dirty shutdown.
type pingPong struct {
	filter            bool // filter mode over socket bufferevents
	dirty             bool // DirtyShutdown flag
	batch             bool // BatchWrite flag
	writeAfterConnect bool // the client writes "1\n" on Connected
	startOpen         bool // handshake first, then re-wrap in state Open
	fdCheck           bool // FD / SetFD(-1) checks in the final event callback
	freedCheck        bool // no I/O event pending in the final event callback
}

type ppResult struct {
	connected, eof, errs, timeouts int
	finished                       int
	lastErr                        error
	clientHasPeerCert              bool
	serverHasPeerCert              bool
}

func runPingPong(t *testing.T, pc pingPong) ppResult {
	t.Helper()
	p := testPKI(t)
	base := newBase(t)
	defer base.Close()
	fc, fs := socketPair(t)
	var res ppResult
	var flags ssl.Flags = ssl.NoCloseNotify // libevent's free sends no close_notify
	if pc.dirty {
		flags |= ssl.DirtyShutdown
	}
	if pc.batch {
		flags |= ssl.BatchWrite
	}
	opts := bufferevent.DeferCallbacks
	mk := func(fd int, cfg tlsConfigFn, state ssl.State, o bufferevent.Options, extra ...ssl.Option) *bufferevent.BufferEvent {
		t.Helper()
		extra = append(extra, ssl.WithFlags(flags))
		var bev *bufferevent.BufferEvent
		var err error
		if pc.filter {
			u, uerr := socket.New(base, fd, bufferevent.CloseOnFree)
			if uerr != nil {
				t.Fatal(uerr)
			}
			bev, err = ssl.NewFilter(base, u, cfg(), state, o, extra...)
		} else {
			bev, err = ssl.NewSocket(base, fd, cfg(), state, o, extra...)
		}
		if err != nil {
			t.Fatal(err)
		}
		return bev
	}
	var cli, srv *bufferevent.BufferEvent
	var underC, underS *bufferevent.BufferEvent
	if pc.startOpen {
		// First handshake, until both are connected; then release the
		// sessions without closing anything.
		c0 := mk(fc, p.clientConfig, ssl.Connecting, opts)
		s0 := mk(fs, p.serverConfig, ssl.Accepting, opts)
		if err := handshake(t, base, c0, s0); err != nil {
			t.Fatal(err)
		}
		sc, err := ssl.SessionOf(c0)
		if err != nil {
			t.Fatal(err)
		}
		ss, err := ssl.SessionOf(s0)
		if err != nil {
			t.Fatal(err)
		}
		underC, underS = c0.Underlying(), s0.Underlying()
		must(t, c0.Close())
		must(t, s0.Close())
		if pc.filter {
			var err error
			if cli, err = ssl.NewFilter(base, underC, nil, ssl.Open, opts|bufferevent.CloseOnFree, ssl.WithSession(sc), ssl.WithFlags(flags)); err != nil {
				t.Fatal(err)
			}
			if srv, err = ssl.NewFilter(base, underS, nil, ssl.Open, opts|bufferevent.CloseOnFree, ssl.WithSession(ss), ssl.WithFlags(flags)); err != nil {
				t.Fatal(err)
			}
		} else {
			var err error
			if cli, err = ssl.NewSocket(base, fc, nil, ssl.Open, opts|bufferevent.CloseOnFree, ssl.WithSession(sc), ssl.WithFlags(flags)); err != nil {
				t.Fatal(err)
			}
			if srv, err = ssl.NewSocket(base, fs, nil, ssl.Open, opts|bufferevent.CloseOnFree, ssl.WithSession(ss), ssl.WithFlags(flags)); err != nil {
				t.Fatal(err)
			}
		}
		res.connected = 2 // counted by the first pair
		cs, _ := ssl.ConnectionState(cli)
		res.clientHasPeerCert = len(cs.PeerCertificates) > 0
		cs, _ = ssl.ConnectionState(srv)
		res.serverHasPeerCert = len(cs.PeerCertificates) > 0
	} else {
		cli = mk(fc, p.clientConfig, ssl.Connecting, opts|bufferevent.CloseOnFree)
		srv = mk(fs, p.serverConfig, ssl.Accepting, opts|bufferevent.CloseOnFree)
	}
	done := false
	readcb := func(bev *bufferevent.BufferEvent) {
		for {
			var line []byte
			_ = bev.WithLock(func(in, _ *evbuffer.Buffer) {
				line, _ = in.ReadLine(evbuffer.EOLLF)
			})
			if line == nil {
				return
			}
			n, err := strconv.Atoi(string(line))
			if err != nil {
				t.Errorf("bad line %q", line)
				return
			}
			if n == 1001 {
				res.finished++
				_ = bev.Close() // no close_notify: NoCloseNotify
				return
			}
			_, _ = bev.WriteString(strconv.Itoa(n+1) + "\n")
		}
	}
	eventcb := func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		switch {
		case what&bufferevent.Connected != 0:
			res.connected++
			cs, cerr := ssl.ConnectionState(bev)
			if cerr != nil {
				t.Errorf("ConnectionState after Connected: %v", cerr)
			}
			if bev == cli {
				res.clientHasPeerCert = len(cs.PeerCertificates) > 0
				if pc.writeAfterConnect {
					_, _ = bev.WriteString("1\n")
				}
			} else {
				res.serverHasPeerCert = len(cs.PeerCertificates) > 0
			}
			return
		case what&bufferevent.EOF != 0:
			res.eof++
		case what&bufferevent.Error != 0:
			res.errs++
		case what&bufferevent.Timeout != 0:
			res.timeouts++
		}
		res.lastErr = err
		if pc.fdCheck {
			fd, ferr := bev.FD()
			if ferr != nil || fd < 0 {
				t.Errorf("FD() in the final event = %d, %v; want a descriptor", fd, ferr)
			}
			if err := bev.SetFD(-1); err != nil {
				t.Errorf("SetFD(-1) = %v", err)
			}
			fd2, _ := bev.FD()
			if pc.filter {
				if fd2 != fd {
					t.Errorf("filter mode: FD() after SetFD(-1) = %d; want the underlying's %d", fd2, fd)
				}
			} else if fd2 != -1 {
				t.Errorf("socket mode: FD() after SetFD(-1) = %d; want -1", fd2)
			}
		}
		if pc.freedCheck {
			fd := fc
			_ = base.ForEachEvent(func(ev *eventbase.Event) error {
				if ev.FD() == fd {
					if w, _ := ev.Pending(eventbase.Read | eventbase.Write); w != 0 {
						t.Errorf("an I/O event is still pending on the fd after the final event: %v", w)
					}
				}
				return nil
			})
		}
		done = true
		_ = bev.Close()
	}
	must(t, cli.SetCallbacks(readcb, nil, eventcb))
	must(t, srv.SetCallbacks(readcb, nil, eventcb))
	must(t, cli.Enable(bufferevent.ReadWrite))
	must(t, srv.Enable(bufferevent.ReadWrite))
	if !pc.writeAfterConnect || pc.startOpen {
		_, _ = cli.WriteString("1\n")
	}
	if !runUntil(t, base, 20*time.Second, func() bool { return done }) {
		t.Fatalf("ping-pong did not finish: %+v", res)
	}
	runUntil(t, base, 20*time.Millisecond, func() bool { return false })
	if pc.fdCheck && !pc.filter {
		syscall.Close(fc) // SetFD(-1) left it to us
	}
	return res
}

type tlsConfigFn = func() *tls.Config

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Mirrors libevent test/regress_ssl.c "bufferevent_socketpair",
// "_batch_write", "_write_after_connect", "bufferevent_filter",
// "_filter_write_after_connect", "_startopen", "_dirty_shutdown",
// "_startopen_dirty_shutdown", "_fd", "_freed", "_freed_fd" and their
// filter variants: the exchange finishes once, both ends see Connected
// (the client with the server's certificate, the server without a client
// certificate) and the survivor sees exactly one Error — or, with the
// dirty-shutdown flag, exactly one EOF and no Error.
func TestRegressPingPong(t *testing.T) {
	cases := []struct {
		name string
		pc   pingPong
	}{
		{"bufferevent_socketpair", pingPong{}},
		{"bufferevent_socketpair_batch_write", pingPong{batch: true}},
		{"bufferevent_socketpair_write_after_connect", pingPong{writeAfterConnect: true}},
		{"bufferevent_filter", pingPong{filter: true}},
		{"bufferevent_filter_write_after_connect", pingPong{filter: true, writeAfterConnect: true}},
		{"bufferevent_socketpair_startopen", pingPong{startOpen: true}},
		{"bufferevent_filter_startopen", pingPong{filter: true, startOpen: true}},
		{"bufferevent_socketpair_dirty_shutdown", pingPong{dirty: true}},
		{"bufferevent_filter_dirty_shutdown", pingPong{filter: true, dirty: true}},
		{"bufferevent_socketpair_startopen_dirty_shutdown", pingPong{startOpen: true, dirty: true}},
		{"bufferevent_filter_startopen_dirty_shutdown", pingPong{filter: true, startOpen: true, dirty: true}},
		{"bufferevent_socketpair_fd", pingPong{fdCheck: true}},
		{"bufferevent_socketpair_freed", pingPong{freedCheck: true}},
		{"bufferevent_socketpair_freed_fd", pingPong{freedCheck: true, fdCheck: true}},
		{"bufferevent_filter_freed_fd", pingPong{filter: true, freedCheck: true, fdCheck: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runPingPong(t, c.pc)
			if r.finished != 1 {
				t.Errorf("finished %d times; want 1", r.finished)
			}
			if r.connected != 2 {
				t.Errorf("Connected events = %d; want 2", r.connected)
			}
			if !r.clientHasPeerCert || r.serverHasPeerCert {
				t.Errorf("peer certificates: client %v (want true), server %v (want false)", r.clientHasPeerCert, r.serverHasPeerCert)
			}
			if r.timeouts != 0 {
				t.Errorf("timeouts = %d; want 0", r.timeouts)
			}
			if c.pc.dirty {
				if r.eof != 1 || r.errs != 0 || !errors.Is(r.lastErr, io.EOF) {
					t.Errorf("EOF %d, Error %d (%v); want 1 EOF with io.EOF and no Error", r.eof, r.errs, r.lastErr)
				}
			} else if r.errs != 1 || r.eof != 0 || !errors.Is(r.lastErr, ssl.ErrDirtyShutdown) {
				t.Errorf("EOF %d, Error %d (%v); want 1 Error with ErrDirtyShutdown and no EOF", r.eof, r.errs, r.lastErr)
			}
		})
	}
}

// Mirrors libevent test/regress_ssl.c "bufferevent_socketpair_timeout":
// the server never answers; the client, with read and write timeouts, gets
// exactly one Timeout and neither Connected nor EOF nor Error.
func TestRegressTimeout(t *testing.T) {
	for _, freedFD := range []bool{false, true} {
		name := "bufferevent_socketpair_timeout"
		if freedFD {
			name += "_freed_fd"
		}
		t.Run(name, func(t *testing.T) { regressTimeout(t, freedFD) })
	}
}

// regressTimeout mirrors "bufferevent_socketpair_timeout" and, with
// freedFD, "bufferevent_socketpair_timeout_freed_fd": FD is valid in the
// timeout handler, SetFD(-1) succeeds and leaves FD -1, and afterwards no
// I/O event is pending on the old descriptor.
func regressTimeout(t *testing.T, freedFD bool) {
	p := testPKI(t)
	base := newBase(t)
	defer base.Close()
	fc, fs := socketPair(t)
	defer syscall.Close(fs)
	cli, err := ssl.NewSocket(base, fc, p.clientConfig(), ssl.Connecting, bufferevent.CloseOnFree|bufferevent.DeferCallbacks)
	must(t, err)
	var events []bufferevent.Events
	var errs []error
	must(t, cli.SetCallbacks(nil, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		events = append(events, what)
		errs = append(errs, err)
		if !freedFD {
			return
		}
		if fd, err := bev.FD(); err != nil || fd != fc {
			t.Errorf("FD() in the timeout handler = %d, %v; want %d", fd, err, fc)
		}
		must(t, bev.SetFD(-1))
		if fd, _ := bev.FD(); fd != -1 {
			t.Errorf("FD() after SetFD(-1) = %d", fd)
		}
		_ = base.ForEachEvent(func(ev *eventbase.Event) error {
			if ev.FD() == fc {
				if w, _ := ev.Pending(eventbase.Read | eventbase.Write); w != 0 {
					t.Errorf("event %v still pending on the old descriptor", w)
				}
			}
			return nil
		})
	}))
	must(t, cli.SetTimeouts(100*time.Millisecond, 100*time.Millisecond))
	must(t, cli.Enable(bufferevent.ReadWrite))
	runUntil(t, base, 400*time.Millisecond, func() bool { return false })
	if len(events) != 1 || events[0]&bufferevent.Timeout == 0 || !errors.Is(errs[0], errDeadline) {
		t.Errorf("events %v (%v); want exactly one Timeout", events, errs)
	}
	must(t, cli.Close())
	runUntil(t, base, 20*time.Millisecond, func() bool { return false })
	if freedFD {
		syscall.Close(fc)
	}
}

// Mirrors the handshake-timeout half of libevent's
// "bufferevent_socketpair_timeout" with bufev's own handshake timeout:
// one Timeout event with ErrHandshakeTimeout, and the peer that stopped
// mid-handshake leaves no goroutine behind (checked by TestMain).
func TestHandshakeTimeout(t *testing.T) {
	p := testPKI(t)
	base := newBase(t)
	defer base.Close()
	fc, fs := socketPair(t)
	defer syscall.Close(fs)
	cli, err := ssl.NewSocket(base, fc, p.clientConfig(), ssl.Connecting, bufferevent.CloseOnFree, ssl.HandshakeTimeout(50*time.Millisecond))
	must(t, err)
	var events []bufferevent.Events
	var gotErr error
	must(t, cli.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		events = append(events, what)
		gotErr = err
	}))
	runUntil(t, base, 300*time.Millisecond, func() bool { return false })
	if len(events) != 1 || events[0] != bufferevent.Timeout || !errors.Is(gotErr, ssl.ErrHandshakeTimeout) || !errors.Is(gotErr, errDeadline) {
		t.Errorf("events %v (%v); want one Timeout with ErrHandshakeTimeout", events, gotErr)
	}
	if errs, _ := ssl.Errors(cli); len(errs) != 1 {
		t.Errorf("Errors() = %v; want the timeout", errs)
	}
	must(t, cli.Close())
	runUntil(t, base, 20*time.Millisecond, func() bool { return false })
}

// Mirrors libevent test/regress_ssl.c "bufferevent_connect": a listener
// wraps the accepted fd in an Accepting ssl bufferevent; the client is an
// ssl bufferevent with fd -1 that connects with Connect, queues "1\n" and
// closes itself in its write callback; nothing hangs.
func TestRegressConnect(t *testing.T) {
	p := testPKI(t)
	base := newBase(t)
	defer base.Close()
	var srv *bufferevent.BufferEvent
	var got bytes.Buffer
	serverDone := false
	ln, err := socket.Listen(base, "tcp", "127.0.0.1:0", func(l *socket.Listener, fd int, _ net.Addr) {
		var err error
		srv, err = ssl.NewSocket(base, fd, p.serverConfig(), ssl.Accepting, bufferevent.CloseOnFree)
		if err != nil {
			t.Error(err)
			return
		}
		_ = srv.SetCallbacks(func(bev *bufferevent.BufferEvent) {
			_ = bev.ReadBuffer(evbuffer.New())
			got.WriteString("1\n")
		}, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
			if what&(bufferevent.EOF|bufferevent.Error) != 0 {
				serverDone = true
				_ = bev.Close()
			}
		})
		_ = srv.Enable(bufferevent.Read)
		_ = l.Disable()
	}, socket.ListenerOptions{})
	must(t, err)
	defer ln.Close()
	cli, err := ssl.NewSocket(base, -1, p.clientConfig(), ssl.Connecting, bufferevent.CloseOnFree)
	must(t, err)
	clientClosed := false
	must(t, cli.SetCallbacks(nil, func(bev *bufferevent.BufferEvent) {
		clientClosed = true
		_ = bev.Close()
	}, nil))
	must(t, ssl.Connect(cli, ln.Addr()))
	_, _ = cli.WriteString("1\n")
	if !runUntil(t, base, 10*time.Second, func() bool { return clientClosed && serverDone }) {
		t.Fatalf("client closed %v, server done %v", clientClosed, serverDone)
	}
	if got.String() != "1\n" {
		t.Errorf("server read %q", got.String())
	}
}

// Mirrors libevent test/regress_ssl.c "bufferevent_connect_sleep": the
// server starts its TLS side only after a delay; the waiting client does
// not busy-loop (its transport sees few reads and writes).
func TestRegressConnectSleep(t *testing.T) {
	p := testPKI(t)
	base := newBase(t)
	defer base.Close()
	fc, fs := socketPair(t)
	u, err := socket.New(base, fc, bufferevent.CloseOnFree)
	must(t, err)
	reads, writes := 0, 0
	u.Input().AddCallback(func(_ *evbuffer.Buffer, info evbuffer.CallbackInfo) {
		if info.Added > 0 {
			reads++
		}
	})
	u.Output().AddCallback(func(_ *evbuffer.Buffer, info evbuffer.CallbackInfo) {
		if info.Deleted > 0 {
			writes++
		}
	})
	cli, err := ssl.NewFilter(base, u, p.clientConfig(), ssl.Connecting, bufferevent.CloseOnFree)
	must(t, err)
	connected := 0
	cb := func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		if what == bufferevent.Connected {
			connected++
		} else {
			t.Errorf("event %v: %v", what, err)
		}
	}
	must(t, cli.SetCallbacks(nil, nil, cb))
	must(t, cli.Enable(bufferevent.ReadWrite))
	var srv *bufferevent.BufferEvent
	timer, err := base.NewTimer(func() {
		srv, err = ssl.NewSocket(base, fs, p.serverConfig(), ssl.Accepting, bufferevent.CloseOnFree)
		if err != nil {
			t.Error(err)
			return
		}
		_ = srv.SetCallbacks(nil, nil, cb)
	})
	must(t, err)
	must(t, timer.AddTimeout(300*time.Millisecond))
	if !runUntil(t, base, 10*time.Second, func() bool { return connected == 2 }) {
		t.Fatalf("connected = %d", connected)
	}
	timer.Free()
	if reads > 100 || writes > 100 {
		t.Errorf("client transport: %d reads, %d writes while waiting; want ≤ 100 each (no busy loop)", reads, writes)
	}
	t.Logf("client transport: %d reads, %d writes", reads, writes)
	must(t, cli.Close())
	must(t, srv.Close())
	runUntil(t, base, 20*time.Millisecond, func() bool { return false })
}

// Mirrors libevent test/regress_ssl.c "bufferevent_wm", "_wm_filter",
// "_wm_defer" and "_wm_filter_defer": with a 5 KiB read high watermark,
// each read callback drains at most 512 bytes and answers with a 1 KiB
// buffer reference; both sides must reach 40 KiB without stalling while
// the input sits at or above the watermark.
func TestRegressWatermarks(t *testing.T) {
	for _, c := range []struct {
		name   string
		filter bool
		opts   bufferevent.Options
	}{
		{"bufferevent_wm", false, 0},
		{"bufferevent_wm_filter", true, 0},
		{"bufferevent_wm_defer", false, bufferevent.DeferCallbacks},
		{"bufferevent_wm_filter_defer", true, bufferevent.DeferCallbacks},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := testPKI(t)
			base := newBase(t)
			defer base.Close()
			var srv *bufferevent.BufferEvent
			const limit = 40 << 10
			const high = 5 << 10
			payload := bytes.Repeat([]byte{'x'}, 1024)
			recv := map[*bufferevent.BufferEvent]int{}
			var stop bool
			readcb := func(bev *bufferevent.BufferEvent) {
				var inLen int
				_ = bev.WithLock(func(in, _ *evbuffer.Buffer) { inLen = in.Len() })
				if inLen > high+16<<10 {
					t.Errorf("input %d bytes, far above the high watermark %d", inLen, high)
				}
				buf := make([]byte, 512)
				n, _ := bev.Read(buf)
				recv[bev] += n
				if recv[bev] < limit {
					_ = bev.WithLock(func(_, out *evbuffer.Buffer) { _ = out.AddReference(payload, nil) })
				}
			}
			setup := func(bev *bufferevent.BufferEvent) {
				must(t, bev.SetWatermark(bufferevent.Read, 0, high))
				must(t, bev.SetCallbacks(readcb, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
					if what != bufferevent.Connected {
						t.Errorf("event %v: %v", what, err)
						stop = true
					}
				}))
				must(t, bev.Enable(bufferevent.ReadWrite))
			}
			ln, err := socket.Listen(base, "tcp", "127.0.0.1:0", func(l *socket.Listener, fd int, _ net.Addr) {
				var err error
				srv, err = ssl.NewSocket(base, fd, p.serverConfig(), ssl.Accepting, c.opts|bufferevent.CloseOnFree)
				if err != nil {
					t.Error(err)
					return
				}
				setup(srv)
				_ = l.Disable()
			}, socket.ListenerOptions{})
			must(t, err)
			defer ln.Close()
			var cli *bufferevent.BufferEvent
			if c.filter {
				u, err := socket.New(base, -1, bufferevent.CloseOnFree)
				must(t, err)
				must(t, socket.Connect(u, ln.Addr()))
				cli, err = ssl.NewFilter(base, u, p.clientConfig(), ssl.Connecting, c.opts|bufferevent.CloseOnFree)
				must(t, err)
			} else {
				cli, err = ssl.NewSocket(base, -1, p.clientConfig(), ssl.Connecting, c.opts|bufferevent.CloseOnFree)
				must(t, err)
				must(t, ssl.Connect(cli, ln.Addr()))
			}
			setup(cli)
			_ = cli.WithLock(func(_, out *evbuffer.Buffer) { _ = out.AddReference(payload, nil) })
			if !runUntil(t, base, 20*time.Second, func() bool {
				return stop || (srv != nil && recv[cli] >= limit && recv[srv] >= limit)
			}) {
				t.Fatalf("stalled: client got %d, server got %d", recv[cli], recv[srv])
			}
			must(t, cli.Close())
			if srv != nil {
				must(t, srv.Close())
			}
			runUntil(t, base, 20*time.Millisecond, func() bool { return false })
		})
	}
}

var errDeadline = os.ErrDeadlineExceeded
