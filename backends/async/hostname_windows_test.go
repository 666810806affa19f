//go:build windows

package async

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
	"golang.org/x/sys/windows"
)

// runUntil runs base until done reports true or 20 s pass.
func runUntil(t *testing.T, base *eventbase.Base, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		if err := base.Loop(eventbase.LoopNonBlock); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
}

// Mirrors libevent test/regress_bufferevent.c "bufferevent_connect_hostname" (with a
// fake resolver): the first address refuses, the second accepts; a failed lookup gives
// Error with a *DNSError, also returned by DNSErr.
func TestConnectHostnameWindows(t *testing.T) {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	accepted := 0
	l, err := Listen(base, "tcp4", "127.0.0.1:0", func(l *Listener, fd int, peer net.Addr) {
		accepted++
		windows.Closesocket(windows.Handle(fd))
	}, ListenerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port

	old := lookupNetIP
	defer func() { lookupNetIP = old }()
	lookupNetIP = func(ctx context.Context, network, host string) ([]netip.Addr, error) {
		switch host {
		case "two.example":
			// ::1 has no listener on this port: refused (or no IPv6 at all); then 127.0.0.1.
			return []netip.Addr{netip.MustParseAddr("::1"), netip.MustParseAddr("127.0.0.1")}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}

	bev, err := New(base, -1, bufferevent.CloseOnFree)
	if err != nil {
		t.Fatal(err)
	}
	defer bev.Close()
	var what bufferevent.Events
	var cerr error
	bev.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, w bufferevent.Events, err error) { what, cerr = w, err })
	if err := ConnectHostname(context.Background(), bev, "tcp", "two.example", port); err != nil {
		t.Fatal(err)
	}
	runUntil(t, base, func() bool { return what != 0 && accepted == 1 })
	if what != bufferevent.Connected || cerr != nil {
		t.Fatalf("event %v, err %v", what, cerr)
	}

	bad, err := New(base, -1, bufferevent.CloseOnFree)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	what, cerr = 0, nil
	bad.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, w bufferevent.Events, err error) { what, cerr = w, err })
	if err := ConnectHostname(context.Background(), bad, "tcp", "none.example", port); err != nil {
		t.Fatal(err)
	}
	runUntil(t, base, func() bool { return what != 0 })
	var dnsErr *DNSError
	if what&bufferevent.Error == 0 || !errors.As(cerr, &dnsErr) || !errors.Is(DNSErr(bad), cerr) {
		t.Fatalf("event %v, err %v, DNSErr %v", what, cerr, DNSErr(bad))
	}
}

// Mirrors libevent test/regress_listener.c "listener/disable" ideas: a listener created
// disabled accepts nothing until enabled; a connection waiting in the backlog is then
// delivered. Close twice reports ErrClosed.
func TestListenerDisabledThenEnabled(t *testing.T) {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	var got []int
	l, err := Listen(base, "tcp", "127.0.0.1:0", func(l *Listener, fd int, peer net.Addr) {
		got = append(got, fd)
		windows.Closesocket(windows.Handle(fd))
	}, ListenerOptions{Flags: ListenDisabled})
	if err != nil {
		t.Fatal(err)
	}
	if l.Enabled() {
		t.Fatal("created disabled, reports enabled")
	}
	c, err := windows.Socket(windows.AF_INET, windows.SOCK_STREAM, windows.IPPROTO_TCP)
	if err != nil {
		t.Fatal(err)
	}
	defer windows.Closesocket(c)
	a := l.Addr().(*net.TCPAddr)
	if err := windows.Connect(c, &windows.SockaddrInet4{Port: a.Port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		base.Loop(eventbase.LoopNonBlock)
		time.Sleep(time.Millisecond)
	}
	if len(got) != 0 {
		t.Fatalf("accepted %d while disabled", len(got))
	}
	if err := l.Enable(); err != nil {
		t.Fatal(err)
	}
	runUntil(t, base, func() bool { return len(got) == 1 })
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if err := l.Enable(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Enable after Close: %v", err)
	}
	base.Loop(eventbase.LoopNonBlock)
}
