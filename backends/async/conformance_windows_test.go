//go:build windows

package async

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/bevtest"
	"github.com/bufev/bufev/eventbase"
	"go.uber.org/goleak"
	"golang.org/x/sys/windows"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var procAccept = modws2.NewProc("accept")

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair() (int, int, error) {
	ln, err := windows.Socket(windows.AF_INET, windows.SOCK_STREAM, windows.IPPROTO_TCP)
	if err != nil {
		return -1, -1, err
	}
	defer windows.Closesocket(ln)
	if err := windows.Bind(ln, &windows.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return -1, -1, err
	}
	if err := windows.Listen(ln, 1); err != nil {
		return -1, -1, err
	}
	sa, err := windows.Getsockname(ln)
	if err != nil {
		return -1, -1, err
	}
	c, err := windows.Socket(windows.AF_INET, windows.SOCK_STREAM, windows.IPPROTO_TCP)
	if err != nil {
		return -1, -1, err
	}
	if err := windows.Connect(c, sa); err != nil {
		windows.Closesocket(c)
		return -1, -1, err
	}
	r, _, e := procAccept.Call(uintptr(ln), 0, 0)
	if windows.Handle(r) == windows.InvalidHandle {
		windows.Closesocket(c)
		return -1, -1, e
	}
	return int(c), int(r), nil
}

func asyncPair(base *eventbase.Base, opts bufferevent.Options) (a, b *bufferevent.BufferEvent, err error) {
	fa, fb, err := tcpPair()
	if err != nil {
		return nil, nil, err
	}
	a, err = New(base, fa, opts|bufferevent.CloseOnFree)
	if err != nil {
		windows.Closesocket(windows.Handle(fa))
		windows.Closesocket(windows.Handle(fb))
		return nil, nil, err
	}
	b, err = New(base, fb, opts|bufferevent.CloseOnFree)
	if err != nil {
		a.Close()
		windows.Closesocket(windows.Handle(fb))
		return nil, nil, err
	}
	return a, b, nil
}

func breakBEV(bev *bufferevent.BufferEvent) error {
	fd, err := bev.FD()
	if err != nil {
		return err
	}
	return windows.Shutdown(windows.Handle(fd), windows.SHUT_WR)
}

// TestConformance runs the bufferevent conformance suite over loopback TCP with IOCP.
func TestConformance(t *testing.T) {
	bevtest.Run(t, func(base *eventbase.Base, opts bufferevent.Options) (a, b *bufferevent.BufferEvent, caps bevtest.Caps, err error) {
		a, b, err = asyncPair(base, opts)
		return a, b, bevtest.Caps{Break: breakBEV}, err
	})
}

// Mirrors libevent test/regress_bufferevent.c "bufferevent_connect" (iocp/ variant):
// an async listener accepts, an async bufferevent connects with ConnectEx, data goes
// both ways, and closing one side gives the other EOF.
func TestListenConnectEcho(t *testing.T) {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	var server *bufferevent.BufferEvent
	l, err := Listen(base, "tcp4", "127.0.0.1:0", func(l *Listener, fd int, peer net.Addr) {
		if peer == nil {
			t.Error("no peer address")
		}
		s, err := New(base, fd, bufferevent.CloseOnFree)
		if err != nil {
			t.Error(err)
			return
		}
		server = s
		s.SetCallbacks(func(bev *bufferevent.BufferEvent) {
			bev.Output().AddBuffer(bev.Input()) // echo
		}, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
			bev.Close()
		})
		s.Enable(bufferevent.ReadWrite)
	}, ListenerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	client, err := New(base, -1, bufferevent.CloseOnFree)
	if err != nil {
		t.Fatal(err)
	}
	payload := bytes.Repeat([]byte("0123456789abcdef"), 64<<10/16)
	var got []byte
	var connected bool
	var endErr error
	client.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		b, _ := io.ReadAll(bev.Input())
		got = append(got, b...)
		if len(got) >= len(payload) {
			bev.Close()
			l.Close()
		}
	}, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		if what&bufferevent.Connected != 0 {
			connected = true
			return
		}
		endErr = err
		bev.Close()
		l.Close()
	})
	client.Enable(bufferevent.ReadWrite)
	client.Write(payload) // queued until connected
	if err := Connect(client, l.Addr()); err != nil {
		t.Fatal(err)
	}
	guard, _ := base.NewTimer(func() { t.Error("timed out"); base.LoopBreak() })
	guard.AddTimeout(20 * time.Second)
	if err := base.Loop(eventbase.LoopNoExitOnEmpty | eventbase.LoopOnce); err != nil {
		t.Fatal(err)
	}
	for !t.Failed() && (len(got) < len(payload) && endErr == nil) {
		if err := base.Loop(eventbase.LoopOnce); err != nil {
			t.Fatal(err)
		}
	}
	// Let the server see the client's close.
	for i := 0; i < 100 && server != nil && !t.Failed(); i++ {
		base.Loop(eventbase.LoopNonBlock)
		time.Sleep(time.Millisecond)
	}
	guard.Del()
	if !connected || endErr != nil || !bytes.Equal(got, payload) {
		t.Fatalf("connected %v, end %v, got %d of %d bytes", connected, endErr, len(got), len(payload))
	}
	if err := Connect(client, l.Addr()); !errors.Is(err, bufferevent.ErrClosed) && !errors.Is(err, ErrNotAsync) {
		t.Fatalf("Connect on a closed bufferevent: %v", err)
	}
	base.Loop(eventbase.LoopNonBlock)
}

// A refused connect reaches the event callback as Error (the exact code differs between
// Windows and Wine).
func TestConnectRefused(t *testing.T) {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	fa, fb, err := tcpPair()
	if err != nil {
		t.Fatal(err)
	}
	sa, _ := windows.Getsockname(windows.Handle(fb))
	windows.Closesocket(windows.Handle(fa))
	windows.Closesocket(windows.Handle(fb))
	bev, err := New(base, -1, bufferevent.CloseOnFree)
	if err != nil {
		t.Fatal(err)
	}
	var what bufferevent.Events
	var cerr error
	bev.SetCallbacks(nil, nil, func(bev *bufferevent.BufferEvent, w bufferevent.Events, err error) {
		what, cerr = w, err
		bev.Close()
	})
	if err := Connect(bev, netAddr(sa)); err != nil {
		t.Fatal(err)
	}
	if err := base.Dispatch(); err != nil {
		t.Fatal(err)
	}
	var op *net.OpError
	if what&bufferevent.Error == 0 || !errors.As(cerr, &op) {
		t.Fatalf("event %v, err %v", what, cerr)
	}
}

// Bad arguments are errors.
func TestWindowsBadArguments(t *testing.T) {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	if err := Available(); err != nil {
		t.Fatal(err)
	}
	bev, err := New(base, -1, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer bev.Close()
	if err := Connect(bev, nil); !errors.Is(err, ErrNoAddress) {
		t.Fatalf("nil address: %v", err)
	}
	if err := Connect(bev, &net.UnixAddr{Name: "x", Net: "unix"}); !errors.Is(err, ErrAddress) {
		t.Fatalf("unix address: %v", err)
	}
	if err := ConnectHostname(context.Background(), bev, "udp", "localhost", 1); !errors.Is(err, ErrAddress) {
		t.Fatalf("udp: %v", err)
	}
	if _, err := Listen(base, "tcp", "127.0.0.1:0", nil, ListenerOptions{Flags: ListenReusePort}); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("reuseport: %v", err)
	}
	if _, err := New(nil, -1, 0); err == nil {
		t.Fatal("nil base accepted")
	}
}
