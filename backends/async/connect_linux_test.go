//go:build linux

package async

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/backend/dialer/dialertest"
	"golang.org/x/sys/unix"
)

// Mirrors libevent test/regress_bufferevent.c "bufferevent_connect", "_defer", "_lock",
// "_lock_defer" and "_unlocked_cbs" (run by libevent as iocp/bufferevent_connect* on an
// IOCP base): a listener whose accept callback sends TEST_STR (with its NUL) and closes
// once flushed; two fd-less client bufferevents connect, enable reading when Connected,
// and check the string on EOF. Here the listener, the sender and the clients are all
// async.
func TestConnect(t *testing.T) {
	variants := []bufferevent.Options{0, bufferevent.DeferCallbacks, bufferevent.ThreadSafe,
		bufferevent.ThreadSafe | bufferevent.DeferCallbacks,
		bufferevent.ThreadSafe | bufferevent.DeferCallbacks | bufferevent.UnlockCallbacks}
	for _, v := range variants {
		t.Run(dialertest.OptionName(v), func(t *testing.T) {
			checkFDs(t)
			opts := v | bufferevent.CloseOnFree
			base := newBase(t)
			ln, err := Listen(base, "tcp", "127.0.0.1:0", func(l *Listener, fd int, _ net.Addr) {
				bev, err := New(base, fd, opts)
				if err != nil {
					t.Error(err)
					unix.Close(fd)
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
			}, ListenerOptions{Flags: ListenReuseAddr, Backlog: 16})
			if err != nil {
				t.Fatal(err)
			}
			strs, reads := 0, 0
			var clients []*bufferevent.BufferEvent
			for range 2 {
				bev, err := New(base, -1, opts)
				if err != nil {
					t.Fatal(err)
				}
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
							if strs++; strs == 2 {
								ln.Close()
								for _, c := range clients {
									c.Close()
								}
							}
						}
					})
			}
			for _, bev := range clients {
				if err := Connect(bev, ln.Addr()); err != nil {
					t.Fatal(err)
				}
			}
			dispatch(t, base, 5*time.Second)
			if strs != 2 || reads < 2 {
				t.Fatalf("strings %d, read callbacks %d; want 2, >=2", strs, reads)
			}
			if ringOf(base) != nil {
				t.Fatal("the ring outlived its last user")
			}
		})
	}
}

// Mirrors libevent test/regress_bufferevent.c "bufferevent_connect_fail",
// "bufferevent_connect_fail_eventcb" and "bufferevent_connect_fail_eventcb_defer" through
// the shared scenario (see dialertest.ConnectRefused), checking for leaked descriptors.
func TestConnectFail(t *testing.T) {
	b := dialBackend
	b.Setup = func(t *testing.T) { checkFDs(t) }
	dialertest.ConnectRefused(t, b)
}

// TestConnectErrors: argument errors are synchronous; others reach the event callback.
func TestConnectErrors(t *testing.T) {
	checkFDs(t)
	base := newBase(t)
	bev, err := New(base, -1, bufferevent.CloseOnFree)
	if err != nil {
		t.Fatal(err)
	}
	defer bev.Close()
	if err := Connect(bev, nil); !errors.Is(err, ErrNoAddress) {
		t.Errorf("Connect(nil) = %v; want ErrNoAddress", err)
	}
	if err := Connect(bev, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 0}); !errors.Is(err, ErrAddress) {
		t.Errorf("Connect(port 0) = %v; want ErrAddress", err)
	}
	if err := Connect(nil, &net.TCPAddr{}); !errors.Is(err, ErrNotAsync) {
		t.Errorf("Connect(nil bev) = %v; want ErrNotAsync", err)
	}
	if err := ConnectHostname(context.Background(), bev, "udp", "localhost", 80); !errors.Is(err, ErrAddress) {
		t.Errorf("ConnectHostname(udp) = %v; want ErrAddress", err)
	}
	if err := ConnectHostname(context.Background(), bev, "tcp", "localhost", 70000); !errors.Is(err, ErrAddress) {
		t.Errorf("ConnectHostname(port 70000) = %v; want ErrAddress", err)
	}
	// A Unix socket path that does not exist: ENOENT, asynchronously.
	var got error
	bev.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) { got = err })
	if err := Connect(bev, &net.UnixAddr{Name: t.TempDir() + "/none", Net: "unix"}); err != nil {
		t.Fatal(err)
	}
	dispatch(t, base, 5*time.Second)
	if !errors.Is(got, syscall.ENOENT) {
		t.Fatalf("event error %v; want ENOENT", got)
	}
	bev.Close()
	if err := Connect(bev, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}); !errors.Is(err, bufferevent.ErrClosed) {
		t.Errorf("Connect after Close = %v; want ErrClosed", err)
	}
}

// Mirrors libevent's hostname connect (regress_bufferevent.c "bufferevent_connect_hostname"
// semantics, minus evdns): a name that resolves to a refused address and then a
// listening one connects to the second (libevent would stop at the first), and a failed
// lookup reports a *DNSError.
func TestConnectHostname(t *testing.T) {
	checkFDs(t)
	base := newBase(t)
	accepted := 0
	var got []bufferevent.Events
	var gotErr error
	ln, err := Listen(base, "tcp", "127.0.0.1:0", func(l *Listener, fd int, _ net.Addr) {
		accepted++
		unix.Close(fd)
		if len(got) > 0 {
			base.LoopBreak()
		}
	}, ListenerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	old := lookupNetIP
	defer func() { lookupNetIP = old }()
	lookupNetIP = func(ctx context.Context, network, host string) ([]netip.Addr, error) {
		if host == "bad.example" {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		return []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.1")}, nil
	}
	bev, err := New(base, -1, bufferevent.CloseOnFree)
	if err != nil {
		t.Fatal(err)
	}
	bev.SetCallbacks(nil, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		got = append(got, what)
		gotErr = err
		if accepted > 0 || what != bufferevent.Connected {
			base.LoopBreak() // the listener keeps the loop busy
		}
	})
	// 127.0.0.2 refuses (nothing listens on that port there).
	if err := ConnectHostname(context.Background(), bev, "tcp", "good.example", port); err != nil {
		t.Fatal(err)
	}
	dispatch(t, base, 5*time.Second)
	if len(got) != 1 || got[0] != bufferevent.Connected {
		t.Fatalf("events %v (%v); want [Connected]", got, gotErr)
	}
	got = nil
	bev2, err := New(base, -1, bufferevent.CloseOnFree)
	if err != nil {
		t.Fatal(err)
	}
	bev2.SetCallbacks(nil, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		got = append(got, what)
		gotErr = err
		base.LoopBreak()
	})
	if err := ConnectHostname(context.Background(), bev2, "tcp", "bad.example", port); err != nil {
		t.Fatal(err)
	}
	dispatch(t, base, 5*time.Second)
	var dnsErr *DNSError
	if len(got) != 1 || got[0] != bufferevent.Error || !errors.As(gotErr, &dnsErr) || DNSErr(bev2) == nil {
		t.Fatalf("events %v, err %v; want [Error] with a *DNSError", got, gotErr)
	}
	bev.Close()
	bev2.Close()
	ln.Close()
	if accepted != 1 {
		t.Fatalf("accepted %d connections; want 1", accepted)
	}
}
