//go:build linux

package socket

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/backend/dialer/dialertest"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
	"golang.org/x/sys/unix"
)

// testStr is libevent's TEST_STR; the listener side sends it with its trailing NUL.
const testStr = "Now is the time for all good events to signal for the good of their protocol"

// Mirrors libevent test/regress_bufferevent.c "bufferevent" (the legacy test) and
// "bufferevent_flush_normal/_flush/_finished": two socket bufferevents over a socketpair;
// FD, Underlying and the enabled bits behave; 8333 bytes written by one arrive at the
// other; the writer's write callback runs once its output drained; Flush is a no-op
// returning (false, nil) in every mode.
func TestSocketLegacy(t *testing.T) {
	for _, mode := range []struct {
		name  string
		flush bool
		mode  bufferevent.FlushMode
	}{
		{"plain", false, 0},
		{"flush_normal", true, bufferevent.Normal},
		{"flush_flush", true, bufferevent.Flush},
		{"flush_finished", true, bufferevent.Finished},
	} {
		t.Run(mode.name, func(t *testing.T) {
			base := newBase(t)
			pair := socketPair(t)
			bev1, err := New(base, pair[0], 0)
			if err != nil {
				t.Fatal(err)
			}
			defer bev1.Close()
			bev2, err := New(base, pair[1], 0)
			if err != nil {
				t.Fatal(err)
			}
			defer bev2.Close()
			if fd, err := bev1.FD(); err != nil || fd != pair[0] {
				t.Fatalf("FD = %d, %v; want %d", fd, err, pair[0])
			}
			if bev1.Underlying() != nil {
				t.Fatal("Underlying of a socket bufferevent is not nil")
			}
			if bev1.Type() != "socket" {
				t.Fatalf("Type = %q", bev1.Type())
			}
			bev1.Disable(bufferevent.Read)
			if got := bev1.Enabled(); got != bufferevent.Write {
				t.Fatalf("Enabled = %v; want Write", got)
			}
			bev2.Enable(bufferevent.Read)
			if got := bev2.Enabled(); got != bufferevent.ReadWrite {
				t.Fatalf("Enabled = %v; want Read|Write", got)
			}
			testOK := 0
			data := make([]byte, 8333)
			for i := range data {
				data[i] = byte(i)
			}
			bev2.SetCallbacks(func(bev *bufferevent.BufferEvent) {
				if bev.Input().Len() == len(data) {
					got := make([]byte, len(data))
					bev.Read(got)
					if !bytes.Equal(got, data) {
						t.Error("data differs")
					}
					testOK++
					bev.Disable(bufferevent.Read)
				}
			}, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
				t.Errorf("reader event %v: %v", what, err)
			})
			bev1.SetCallbacks(nil, func(bev *bufferevent.BufferEvent) {
				if bev.Output().Len() == 0 {
					testOK++
					bev.Disable(bufferevent.Write)
				}
			}, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
				t.Errorf("writer event %v: %v", what, err)
			})
			bev1.Write(data)
			if mode.flush {
				if produced, err := bev1.Flush(bufferevent.Write, mode.mode); produced || err != nil {
					t.Fatalf("Flush = %v, %v; want false, nil", produced, err)
				}
			}
			dispatch(t, base, 5*time.Second)
			if testOK != 2 {
				t.Fatalf("test_ok = %d; want 2", testOK)
			}
		})
	}
}

// Mirrors libevent test/regress_bufferevent.c "bufferevent_watermarks": a reader with
// read watermarks (10, 20) sees 10 to 20 bytes per read callback; a writer with write
// watermarks (100, 2000) sees its write callback only with at most 100 bytes pending;
// 65000 bytes go through; the writer's write event ends idle.
func TestSocketWatermarks(t *testing.T) {
	base := newBase(t)
	pair := socketPair(t)
	w, _ := New(base, pair[0], 0)
	defer w.Close()
	r, _ := New(base, pair[1], 0)
	defer r.Close()
	for _, b := range []*bufferevent.BufferEvent{w, r} {
		for _, d := range []bufferevent.Direction{bufferevent.Read, bufferevent.Write} {
			if lo, hi, err := b.Watermark(d); lo != 0 || hi != 0 || err != nil {
				t.Fatalf("default watermark %v = %d, %d, %v", d, lo, hi, err)
			}
		}
	}
	r.SetWatermark(bufferevent.Read, 10, 20)
	w.SetWatermark(bufferevent.Write, 100, 2000)
	if lo, hi, _ := r.Watermark(bufferevent.Read); lo != 10 || hi != 20 {
		t.Fatalf("read watermark = %d, %d", lo, hi)
	}
	if _, _, err := r.Watermark(bufferevent.ReadWrite); err == nil {
		t.Fatal("Watermark(Read|Write) succeeded")
	}
	const total = 65000
	sent, got := 0, 0
	counters := 0
	chunk := make([]byte, 1024)
	r.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		n := bev.Input().Len()
		if n < 10 || n > 20 {
			t.Errorf("read callback with %d bytes; want 10..20", n)
		}
		bev.Input().Drain(n)
		got += n
		if got == total {
			counters++
			bev.Disable(bufferevent.Read)
		}
	}, nil, nil)
	w.SetCallbacks(nil, func(bev *bufferevent.BufferEvent) {
		if n := bev.Output().Len(); n > 100 {
			t.Errorf("write callback with %d bytes pending; want at most 100", n)
		}
		for sent < total && bev.Output().Len() < 2000 {
			k := min(len(chunk), total-sent)
			bev.Write(chunk[:k])
			sent += k
		}
		if sent == total && bev.Output().Len() == 0 && bev.Enabled()&bufferevent.Write != 0 {
			counters++
			bev.Disable(bufferevent.Write)
		}
	}, nil)
	r.Enable(bufferevent.Read)
	w.Enable(bufferevent.Write)
	dispatch(t, base, 10*time.Second)
	if counters != 2 || got != total {
		t.Fatalf("counters %d, received %d; want 2, %d", counters, got, total)
	}
	if s, _ := lookupSock(w); s.wOn {
		t.Fatal("writer's write event still pending")
	}
}

// connectFlags are libevent's bufferevent_connect variants.
var connectFlags = []struct {
	name string
	opts bufferevent.Options
}{
	{"bufferevent_connect", 0},
	{"bufferevent_connect_defer", bufferevent.DeferCallbacks},
	{"bufferevent_connect_lock", bufferevent.ThreadSafe},
	{"bufferevent_connect_lock_defer", bufferevent.ThreadSafe | bufferevent.DeferCallbacks},
	{"bufferevent_connect_unlocked_cbs", bufferevent.ThreadSafe | bufferevent.DeferCallbacks | bufferevent.UnlockCallbacks},
}

// Mirrors libevent test/regress_bufferevent.c "bufferevent_connect", "_defer", "_lock",
// "_lock_defer" and "_unlocked_cbs": a listener whose accept callback sends TEST_STR
// (with its NUL) and closes once flushed; two fd-less client bufferevents connect,
// enable reading when Connected, and check the string on EOF.
func TestSocketConnect(t *testing.T) {
	for _, v := range connectFlags {
		t.Run(v.name, func(t *testing.T) {
			opts := v.opts | bufferevent.CloseOnFree
			base := newBase(t)
			ln, err := Listen(base, "tcp", "127.0.0.1:0", func(l *Listener, fd int, _ net.Addr) {
				bev, err := New(base, fd, opts)
				if err != nil {
					t.Error(err)
					closeFD(fd)
					return
				}
				bev.SetCallbacks(nil, func(bev *bufferevent.BufferEvent) {
					if bev.Output().Len() == 0 {
						bev.Close()
					}
				}, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
					t.Errorf("sender event %v: %v", what, err)
					bev.Close()
				})
				bev.Write(append([]byte(testStr), 0))
			}, ListenerOptions{Flags: ListenCloseOnFree | ListenReuseAddr, Backlog: 16})
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			strings, reads := 0, 0
			var clients []*bufferevent.BufferEvent
			for range 2 {
				bev, err := New(base, -1, opts)
				if err != nil {
					t.Fatal(err)
				}
				defer bev.Close()
				clients = append(clients, bev)
				bev.SetCallbacks(func(*bufferevent.BufferEvent) { reads++ }, nil,
					func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
						if what&bufferevent.Error != 0 {
							t.Errorf("connector error %v: %v", what, err)
							return
						}
						if what&bufferevent.Connected != 0 {
							bev.Enable(bufferevent.Read)
						}
						if what&bufferevent.EOF != 0 {
							buf := make([]byte, 512)
							n, _ := bev.Read(buf)
							if string(buf[:n]) != testStr+"\x00" {
								t.Errorf("read %q", buf[:n])
							}
							if strings++; strings == 2 {
								base.LoopExit(0)
							}
						}
					})
				bev.Enable(bufferevent.Read)
			}
			for _, bev := range clients {
				if err := Connect(bev, ln.Addr()); err != nil {
					t.Fatal(err)
				}
			}
			dispatch(t, base, 5*time.Second)
			if strings != 2 || reads < 2 {
				t.Fatalf("strings %d, read callbacks %d; want 2, >=2", strings, reads)
			}
		})
	}
}

// Mirrors libevent test/regress_bufferevent.c "bufferevent_connect_fail",
// "bufferevent_connect_fail_eventcb" and "bufferevent_connect_fail_eventcb_defer" through
// the shared scenario (see dialertest.ConnectRefused).
func TestSocketConnectFail(t *testing.T) {
	dialertest.ConnectRefused(t, dialBackend)
}

// TestSocketConnectErrors: argument errors are synchronous, everything else asynchronous
// — a Unix socket path that does not exist gives ENOENT through the event callback.
func TestSocketConnectErrors(t *testing.T) {
	base := newBase(t)
	bev, _ := New(base, -1, bufferevent.CloseOnFree)
	defer bev.Close()
	if err := Connect(bev, nil); !errors.Is(err, ErrNoAddress) {
		t.Fatalf("Connect(nil) = %v; want ErrNoAddress", err)
	}
	if err := Connect(bev, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}); !errors.Is(err, ErrAddress) {
		t.Fatalf("Connect(udp) = %v; want ErrAddress", err)
	}
	for _, a := range []net.Addr{(*net.TCPAddr)(nil), (*net.UnixAddr)(nil)} {
		if err := Connect(bev, a); !errors.Is(err, ErrNoAddress) {
			t.Fatalf("Connect(%T nil) = %v; want ErrNoAddress", a, err)
		}
	}
	if err := Connect(bev, &net.TCPAddr{IP: net.IP{1, 2, 3}}); !errors.Is(err, ErrAddress) {
		t.Fatalf("Connect(3-byte IP) = %v; want ErrAddress", err)
	}
	if err := Connect(nil, &net.TCPAddr{}); !errors.Is(err, ErrNotSocket) {
		t.Fatalf("Connect(nil bev) = %v; want ErrNotSocket", err)
	}
	for _, tc := range []struct {
		network, host string
		port          int
	}{
		{"udp", "localhost", 80}, {"tcp", "localhost", 0}, {"tcp", "localhost", 65536}, {"tcp", "", 80}, {"tcp", "[]", 80},
	} {
		var op *net.OpError
		if err := ConnectHostname(context.Background(), bev, tc.network, tc.host, tc.port); !errors.Is(err, ErrAddress) || !errors.As(err, &op) || op.Op != "dial" {
			t.Errorf("ConnectHostname(%q, %q, %d) = %v; want a dial *net.OpError wrapping ErrAddress", tc.network, tc.host, tc.port, err)
		}
	}
	var gotErr error
	bev.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) { gotErr = err })
	if err := Connect(bev, &net.UnixAddr{Name: tempSocketPath(t), Net: "unix"}); err != nil {
		t.Fatal(err)
	}
	dispatch(t, base, 5*time.Second)
	if !errors.Is(gotErr, syscall.ENOENT) {
		t.Fatalf("error %v; want ENOENT", gotErr)
	}
	bev.Close()
	if err := Connect(bev, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}); !errors.Is(err, bufferevent.ErrClosed) {
		t.Fatalf("Connect after Close = %v; want ErrClosed", err)
	}
}

// echoListener starts a listener answering every connection with an echo bufferevent.
func echoListener(t *testing.T, base *eventbase.Base, network, addr string) *Listener {
	t.Helper()
	ln, err := Listen(base, network, addr, func(_ *Listener, fd int, _ net.Addr) {
		bev, err := New(base, fd, bufferevent.CloseOnFree)
		if err != nil {
			closeFD(fd)
			return
		}
		bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
			bev.Output().AddBuffer(bev.Input())
		}, nil, func(bev *bufferevent.BufferEvent, _ bufferevent.Events, _ error) { bev.Close() })
		bev.Enable(bufferevent.ReadWrite)
	}, ListenerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// roundTrip sends msg on bev (connecting or connected) and waits for the echo.
func roundTrip(t *testing.T, base *eventbase.Base, bev *bufferevent.BufferEvent, msg string) (connected bool) {
	t.Helper()
	var got strings.Builder
	bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		buf := make([]byte, 256)
		n, _ := bev.Read(buf)
		got.Write(buf[:n])
		if got.Len() >= len(msg) {
			base.LoopBreak()
		}
	}, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		if what&bufferevent.Connected != 0 {
			connected = true
			return
		}
		t.Errorf("event %v: %v", what, err)
		base.LoopBreak()
	})
	bev.Enable(bufferevent.ReadWrite)
	bev.WriteString(msg)
	dispatch(t, base, 5*time.Second)
	if got.String() != msg {
		t.Fatalf("echo %q; want %q", got.String(), msg)
	}
	return connected
}

// TestSocketConnectFamilies connects to TCP over IPv4 and IPv6 and to a Unix socket, with
// output written before the connect completes.
func TestSocketConnectFamilies(t *testing.T) {
	base := newBase(t)
	cases := []struct{ network, addr string }{{"tcp4", "127.0.0.1:0"}, {"tcp6", "[::1]:0"}, {"unix", tempSocketPath(t)}}
	for _, c := range cases {
		t.Run(c.network, func(t *testing.T) {
			ln := echoListener(t, base, c.network, c.addr)
			bev, _ := New(base, -1, 0)
			defer bev.Close()
			if err := Connect(bev, ln.Addr()); err != nil {
				t.Fatal(err)
			}
			if !roundTrip(t, base, bev, "hello "+c.network) {
				t.Fatal("no Connected event")
			}
			s, _ := lookupSock(bev)
			if s.RemoteAddr().String() != ln.Addr().String() {
				t.Fatalf("RemoteAddr %v; want %v", s.RemoteAddr(), ln.Addr())
			}
		})
	}
}

// TestSocketConnectHostname mirrors libevent test/regress_dns.c
// "bufferevent_connect_hostname" with Go's resolver: names, IPv4 and bracketed IPv6
// literals connect; every resolved address is tried in order.
func TestSocketConnectHostname(t *testing.T) {
	base := newBase(t)
	ln4 := echoListener(t, base, "tcp4", "127.0.0.1:0")
	port := ln4.Addr().(*net.TCPAddr).Port
	for _, host := range []string{"localhost", "127.0.0.1"} {
		t.Run(host, func(t *testing.T) {
			bev, _ := New(base, -1, 0)
			defer bev.Close()
			if err := ConnectHostname(context.Background(), bev, "tcp4", host, port); err != nil {
				t.Fatal(err)
			}
			if !roundTrip(t, base, bev, "hi "+host) {
				t.Fatal("no Connected event")
			}
			if DNSErr(bev) != nil {
				t.Fatalf("DNSErr = %v", DNSErr(bev))
			}
		})
	}
	t.Run("[::1]", func(t *testing.T) {
		ln6 := echoListener(t, base, "tcp6", "[::1]:0")
		bev, _ := New(base, -1, 0)
		defer bev.Close()
		if err := ConnectHostname(context.Background(), bev, "tcp", "[::1]", ln6.Addr().(*net.TCPAddr).Port); err != nil {
			t.Fatal(err)
		}
		roundTrip(t, base, bev, "hi v6")
	})
	t.Run("fallback", func(t *testing.T) {
		// ::1 on this port refuses (only 127.0.0.1 listens): the second address wins.
		setResolver(t, func(ctx context.Context, network, host string) ([]netip.Addr, error) {
			return []netip.Addr{netip.MustParseAddr("::1"), netip.MustParseAddr("127.0.0.1")}, nil
		})
		bev, _ := New(base, -1, 0)
		defer bev.Close()
		if err := ConnectHostname(context.Background(), bev, "tcp", "two.example", port); err != nil {
			t.Fatal(err)
		}
		roundTrip(t, base, bev, "second address")
		s, _ := lookupSock(bev)
		if ra := s.RemoteAddr().(*net.TCPAddr); !ra.IP.Equal(net.IPv4(127, 0, 0, 1)) {
			t.Fatalf("connected to %v; want 127.0.0.1", ra)
		}
	})
	t.Run("all-fail", func(t *testing.T) {
		dead := dialertest.ClosedPort(t)
		setResolver(t, func(ctx context.Context, network, host string) ([]netip.Addr, error) {
			return []netip.Addr{netip.MustParseAddr("::1"), netip.MustParseAddr("127.0.0.1")}, nil
		})
		bev, _ := New(base, -1, 0)
		defer bev.Close()
		events := 0
		var gotErr error
		bev.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
			events++
			gotErr = err
			base.LoopExit(50 * time.Millisecond) // time enough for a second, wrong, callback
		})
		ConnectHostname(context.Background(), bev, "tcp", "two.example", dead.Port)
		dispatch(t, base, 5*time.Second)
		var op *net.OpError
		if events != 1 || !errors.Is(gotErr, syscall.ECONNREFUSED) || !errors.As(gotErr, &op) {
			t.Fatalf("%d events, err %v; want one ECONNREFUSED", events, gotErr)
		}
		if a := op.Addr.(*net.TCPAddr); !a.IP.Equal(net.IPv4(127, 0, 0, 1)) {
			t.Fatalf("error names %v; want the last address tried", op.Addr)
		}
	})
	t.Run("dns-error", func(t *testing.T) {
		setResolver(t, func(ctx context.Context, network, host string) ([]netip.Addr, error) {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		})
		bev, _ := New(base, -1, 0)
		defer bev.Close()
		var gotWhat bufferevent.Events
		var gotErr error
		bev.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
			gotWhat, gotErr = what, err
			base.LoopExit(0)
		})
		ConnectHostname(context.Background(), bev, "tcp", "nowhere.invalid", 80)
		dispatch(t, base, 5*time.Second)
		var de *DNSError
		var nde *net.DNSError
		if gotWhat != bufferevent.Error || !errors.As(gotErr, &de) || !errors.As(gotErr, &nde) || !nde.IsNotFound {
			t.Fatalf("event %v, err %v; want Error with a *DNSError wrapping *net.DNSError", gotWhat, gotErr)
		}
		if !errors.Is(DNSErr(bev), gotErr) {
			t.Fatalf("DNSErr = %v", DNSErr(bev))
		}
	})
	t.Run("cancel-on-close", func(t *testing.T) {
		started := make(chan struct{})
		setResolver(t, func(ctx context.Context, network, host string) ([]netip.Addr, error) {
			close(started)
			<-ctx.Done() // a lookup that never answers by itself
			return nil, ctx.Err()
		})
		bev, _ := New(base, -1, 0)
		events := 0
		bev.SetCallbacks(nil, nil, func(*bufferevent.BufferEvent, bufferevent.Events, error) { events++ })
		ConnectHostname(context.Background(), bev, "tcp", "slow.example", 80)
		<-started
		bev.Close()
		base.Loop(eventbase.LoopNonBlock)
		time.Sleep(20 * time.Millisecond)
		base.Loop(eventbase.LoopNonBlock)
		if events != 0 {
			t.Fatal("event callback after Close")
		}
		// goleak in TestMain checks that the lookup goroutine ended.
	})
	t.Run("ctx-timeout", func(t *testing.T) {
		setResolver(t, func(ctx context.Context, network, host string) ([]netip.Addr, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		})
		bev, _ := New(base, -1, 0)
		defer bev.Close()
		var gotErr error
		bev.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, _ bufferevent.Events, err error) {
			gotErr = err
			base.LoopExit(0)
		})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		ConnectHostname(ctx, bev, "tcp", "slow.example", 80)
		dispatch(t, base, 5*time.Second)
		var de *DNSError
		if !errors.As(gotErr, &de) || !errors.Is(gotErr, context.DeadlineExceeded) || !de.Timeout() {
			t.Fatalf("err %v; want a *DNSError wrapping context.DeadlineExceeded", gotErr)
		}
	})
}

func setResolver(t *testing.T, fn func(ctx context.Context, network, host string) ([]netip.Addr, error)) {
	old := lookupNetIP
	lookupNetIP = fn
	t.Cleanup(func() { lookupNetIP = old })
}

// Mirrors libevent test/regress_bufferevent.c "bufferevent_timeout": bev1 (no socket,
// output queued, reading and writing) times out once reading (150ms) and once writing
// (100ms); bev2 (writing only) times out once writing — a socket bufferevent arms its
// write timeout even with an empty output; no read or write callback runs.
func TestSocketTimeout(t *testing.T) {
	type res struct{ calls, rto, wto, rw int }
	base := newBase(t)
	bev1, _ := New(base, -1, 0)
	defer bev1.Close()
	bev2, _ := New(base, -1, 0)
	defer bev2.Close()
	cbs := func(r *res) (bufferevent.ReadFunc, bufferevent.ReadFunc, bufferevent.EventFunc) {
		return func(*bufferevent.BufferEvent) { r.rw++ }, func(*bufferevent.BufferEvent) { r.rw++ },
			func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
				r.calls++
				if what == bufferevent.Reading|bufferevent.Timeout {
					r.rto++
				}
				if what == bufferevent.Writing|bufferevent.Timeout {
					r.wto++
				}
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Errorf("timeout error %v", err)
				}
			}
	}
	var r1, r2 res
	bev2.Disable(bufferevent.Read)
	bev1.SetCallbacks(cbs(&r1))
	bev1.SetTimeouts(150*time.Millisecond, 100*time.Millisecond)
	bev1.WriteString("ABCDEFG")
	bev1.Enable(bufferevent.ReadWrite)
	bev2.SetCallbacks(cbs(&r2))
	bev2.SetTimeouts(100*time.Millisecond, 200*time.Millisecond)
	bev2.Enable(bufferevent.Write)
	base.LoopExit(350 * time.Millisecond)
	dispatch(t, base, 5*time.Second)
	if r1 != (res{calls: 2, rto: 1, wto: 1}) {
		t.Errorf("bev1 %+v; want 2 calls, 1 read and 1 write timeout", r1)
	}
	if r2 != (res{calls: 1, wto: 1}) {
		t.Errorf("bev2 %+v; want 1 call, 1 write timeout", r2)
	}
}

// TestSocketReadTimeoutResets: a read timeout counts from the last successful read, so a
// peer that keeps sending more often than the timeout never triggers it.
func TestSocketReadTimeoutResets(t *testing.T) {
	base := newBase(t)
	pair := socketPair(t)
	bev, _ := New(base, pair[1], 0)
	defer bev.Close()
	timeouts, reads := 0, 0
	bev.SetCallbacks(func(b *bufferevent.BufferEvent) { reads++; b.Input().Drain(b.Input().Len()) }, nil,
		func(*bufferevent.BufferEvent, bufferevent.Events, error) { timeouts++ })
	bev.SetTimeouts(150*time.Millisecond, 0)
	bev.Enable(bufferevent.Read)
	tick, _ := base.NewEvent(-1, eventbase.Persist, func(int, eventbase.What) { unix.Write(pair[0], []byte("x")) })
	tick.AddTimeout(30 * time.Millisecond)
	base.LoopExit(400 * time.Millisecond)
	dispatch(t, base, 5*time.Second)
	tick.Free()
	if timeouts != 0 || reads == 0 {
		t.Fatalf("timeouts %d, reads %d; want 0 timeouts", timeouts, reads)
	}
}

// Mirrors libevent test/regress_bufferevent.c "bufferevent_trigger", "_defer",
// "_postpone" and "_defer_postpone": in the read callback, raising the low watermark
// above the input and triggering honours it (no callback); IgnoreWatermarks runs the
// read callback again (at once, or later when deferred by option or TriggerDefer), which
// then triggers the event callback with all bits; two read callbacks in total.
func TestSocketTrigger(t *testing.T) {
	for _, v := range []struct {
		name string
		opts bufferevent.Options
		trig bufferevent.TriggerOptions
	}{
		{"bufferevent_trigger", 0, 0},
		{"bufferevent_trigger_defer", bufferevent.DeferCallbacks, 0},
		{"bufferevent_trigger_postpone", 0, bufferevent.TriggerDefer},
		{"bufferevent_trigger_defer_postpone", bufferevent.DeferCallbacks, bufferevent.TriggerDefer},
	} {
		t.Run(v.name, func(t *testing.T) {
			base := newBase(t)
			pair := socketPair(t)
			bev, _ := New(base, pair[1], v.opts)
			defer bev.Close()
			reads := 0
			var eventWhat bufferevent.Events
			bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
				reads++
				if reads == 1 {
					n := bev.Input().Len()
					bev.SetWatermark(bufferevent.Read, n+1, 0)
					bev.Trigger(bufferevent.Read, v.trig)
					if reads != 1 {
						t.Error("Trigger ran the read callback below the low watermark")
					}
					bev.Trigger(bufferevent.Read, v.trig|bufferevent.IgnoreWatermarks)
					immediate := v.opts&bufferevent.DeferCallbacks == 0 && v.trig == 0
					if immediate != (reads == 2) {
						t.Errorf("after IgnoreWatermarks reads = %d (immediate %v)", reads, immediate)
					}
					return
				}
				bev.TriggerEvent(^bufferevent.Events(0), nil, v.trig)
			}, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, _ error) {
				eventWhat = what
				base.LoopExit(0)
			})
			bev.Enable(bufferevent.Read)
			unix.Write(pair[0], []byte("test data"))
			dispatch(t, base, 5*time.Second)
			if reads != 2 || eventWhat != ^bufferevent.Events(0) {
				t.Fatalf("reads %d, event %#x; want 2, all bits", reads, uint16(eventWhat))
			}
		})
	}
}

// Mirrors libevent test/regress_bufferevent.c "bufferevent_read_failed": 9 bytes arrive;
// reading 8 gives 8 (1 left); with the input's front frozen, Read gives 0 and an error.
func TestSocketReadFailed(t *testing.T) {
	base := newBase(t)
	pair := socketPair(t)
	bev, _ := New(base, pair[1], 0)
	defer bev.Close()
	bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		buf := make([]byte, 8)
		if n, err := bev.Read(buf); n != 8 || err != nil {
			t.Errorf("Read = %d, %v; want 8", n, err)
		}
		if bev.Input().Len() != 1 {
			t.Errorf("%d bytes left; want 1", bev.Input().Len())
		}
		bev.Input().Freeze(true)
		if n, err := bev.Read(buf); n != 0 || !errors.Is(err, evbuffer.ErrFrozen) {
			t.Errorf("Read of a frozen input = %d, %v; want 0, ErrFrozen", n, err)
		}
		bev.Input().Unfreeze(true)
		base.LoopExit(0)
	}, nil, nil)
	bev.Enable(bufferevent.Read)
	unix.Write(pair[0], []byte("test data"))
	dispatch(t, base, 5*time.Second)
}

// TestSocketSendfile: a file added with AddFile reaches the peer (through sendfile) among
// in-memory data, in order.
func TestSocketSendfile(t *testing.T) {
	base := newBase(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	content := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	f, err := os.CreateTemp(t.TempDir(), "sendfile")
	if err != nil {
		t.Fatal(err)
	}
	f.Write(content)
	f.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c)
		got <- b
	}()
	bev, _ := New(base, -1, 0)
	defer bev.Close()
	Connect(bev, ln.Addr())
	fd, err := unix.Open(f.Name(), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	bev.WriteString("head:")
	if err := bev.Output().AddFile(fd, 0, -1); err != nil {
		t.Fatal(err)
	}
	bev.WriteString(":tail")
	bev.SetCallbacks(nil, func(bev *bufferevent.BufferEvent) {
		if bev.Output().Len() == 0 {
			s, _ := lookupSock(bev)
			unix.Shutdown(s.fd, unix.SHUT_WR)
			base.LoopExit(0)
		}
	}, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		if what != bufferevent.Connected {
			t.Errorf("event %v: %v", what, err)
		}
	})
	dispatch(t, base, 10*time.Second)
	want := append(append([]byte("head:"), content...), ":tail"...)
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("peer got %d bytes; want %d identical", len(b), len(want))
	}
}

// TestSocketNewFromConn adopts a *net.TCPConn's descriptor (duplicated): the bufferevent
// talks over it and closes its duplicate; the original conn stays usable for Close.
func TestSocketNewFromConn(t *testing.T) {
	base := newBase(t)
	ln := echoListener(t, base, "tcp", "127.0.0.1:0")
	// Dial while the loop is not running: the handshake completes in the kernel backlog.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	bev, err := NewFromConn(base, c.(*net.TCPConn), 0)
	if err != nil {
		t.Fatal(err)
	}
	c.Close() // the duplicate keeps the connection open
	roundTrip(t, base, bev, "adopted")
	if err := bev.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFromConn(base, nil, 0); err == nil {
		t.Fatal("NewFromConn(nil) succeeded")
	}
	pc, _ := net.ListenPacket("udp", "127.0.0.1:0")
	defer pc.Close()
	if _, err := NewFromConn(base, pc.(*net.UDPConn), 0); !errors.Is(err, ErrNotStream) {
		t.Fatalf("NewFromConn(udp) = %v; want ErrNotStream", err)
	}
}

// TestSocketOpen: the registered type creates an fd-less socket bufferevent.
func TestSocketOpen(t *testing.T) {
	base := newBase(t)
	bev, err := bufferevent.Open(base, "socket", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer bev.Close()
	if fd, err := bev.FD(); fd != -1 || err != nil {
		t.Fatalf("FD = %d, %v; want -1, nil", fd, err)
	}
}

// TestSocketConnectInProgress: Connect with a nil address adopts a socket whose connect
// the caller started (libevent's bufferevent_socket_connect(bev, NULL, 0)).
func TestSocketConnectInProgress(t *testing.T) {
	base := newBase(t)
	ln := echoListener(t, base, "tcp4", "127.0.0.1:0")
	fd, err := newSocket(unix.AF_INET)
	if err != nil {
		t.Fatal(err)
	}
	sa, _ := sockaddrFromNetAddr(ln.Addr())
	if res, err := startConnect(fd, sa); res == connectFailed {
		t.Fatal(err)
	}
	bev, err := New(base, fd, bufferevent.CloseOnFree)
	if err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	defer bev.Close()
	if err := Connect(bev, nil); err != nil {
		t.Fatal(err)
	}
	if !roundTrip(t, base, bev, "in progress") {
		t.Fatal("no Connected event")
	}
}

// TestSocketSetFD: a bufferevent created without a socket starts reading once SetFD gives
// it one, with the directions enabled before; the old descriptor is left alone.
func TestSocketSetFD(t *testing.T) {
	base := newBase(t)
	p1, p2 := socketPair(t), socketPair(t)
	bev, _ := New(base, -1, 0)
	defer bev.Close()
	var got []byte
	bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		buf := make([]byte, 64)
		n, _ := bev.Read(buf)
		got = append(got, buf[:n]...)
		base.LoopExit(0)
	}, nil, nil)
	bev.Enable(bufferevent.Read)
	if err := bev.SetFD(p1[1]); err != nil {
		t.Fatal(err)
	}
	unix.Write(p1[0], []byte("one"))
	dispatch(t, base, 5*time.Second)
	if err := bev.SetFD(p2[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.FcntlInt(uintptr(p1[1]), unix.F_GETFD, 0); err != nil {
		t.Fatal("SetFD closed the previous descriptor")
	}
	unix.Write(p2[0], []byte("two"))
	dispatch(t, base, 5*time.Second)
	if string(got) != "onetwo" {
		t.Fatalf("got %q", got)
	}
	if fd, _ := bev.FD(); fd != p2[1] {
		t.Fatalf("FD = %d; want %d", fd, p2[1])
	}
	if err := bev.SetFD(-1); err != nil {
		t.Fatal(err)
	}
	if err := bev.SetFD(123456); err == nil {
		t.Fatal("SetFD(bad descriptor) succeeded")
	}
}

// BenchmarkSocketEcho measures one 64-byte round trip between two socket bufferevents
// on one loop (a socketpair): the echo path must not allocate.
func BenchmarkSocketEcho(b *testing.B) {
	base := newBase(b)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	cli, _ := New(base, fds[0], bufferevent.CloseOnFree)
	srv, _ := New(base, fds[1], bufferevent.CloseOnFree)
	defer cli.Close()
	defer srv.Close()
	msg := make([]byte, 64)
	buf := make([]byte, 64)
	left := b.N
	srv.SetCallbacks(func(bev *bufferevent.BufferEvent) { bev.Output().AddBuffer(bev.Input()) }, nil, nil)
	cli.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		for bev.Input().Len() >= len(buf) {
			bev.Read(buf)
			if left--; left == 0 {
				base.LoopBreak()
				return
			}
			bev.Write(msg)
		}
	}, nil, nil)
	srv.Enable(bufferevent.ReadWrite)
	cli.Enable(bufferevent.ReadWrite)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	cli.Write(msg)
	base.Dispatch()
}
