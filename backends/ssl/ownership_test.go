//go:build unix

package ssl_test

import (
	"crypto/tls"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/bufev/bufev/backends/socket"
	"github.com/bufev/bufev/backends/ssl"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
	"go.uber.org/goleak"
)

var errInjected = errors.New("injected failure")

// ctorFailure is one way NewSocket or NewFilter can fail.
type ctorFailure struct {
	name   string
	cfg    func(p *pki) *tls.Config
	state  ssl.State
	opts   bufferevent.Options
	step   string // newEngine step made to fail ("" for none)
	closed bool   // pass a closed base
	want   error  // nil: any error
}

func ctorFailures() []ctorFailure {
	client := func(p *pki) *tls.Config { return p.clientConfig() }
	none := func(*pki) *tls.Config { return nil }
	return []ctorFailure{
		{name: "nil config", cfg: none, state: ssl.Connecting, want: ssl.ErrNilConfig},
		{name: "no certificate", cfg: func(*pki) *tls.Config { return &tls.Config{} }, state: ssl.Accepting, want: ssl.ErrNoCertificate},
		{name: "Open without session", cfg: none, state: ssl.Open, want: ssl.ErrNoSession},
		{name: "invalid options", cfg: client, state: ssl.Connecting, opts: bufferevent.UnlockCallbacks, want: bufferevent.ErrInvalidOptions},
		{name: "closed base", cfg: client, state: ssl.Connecting, closed: true},
		{name: "taking the callbacks", cfg: client, state: ssl.Connecting, step: "callbacks", want: errInjected},
		{name: "arming the handshake timeout", cfg: client, state: ssl.Connecting, step: "timer", want: errInjected},
	}
}

// assertUntouched checks that fd is open and that nothing was written to
// its peer.
func assertUntouched(t *testing.T, fd, peer int) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		t.Fatalf("fd closed by the failed constructor: %v", err)
	}
	must(t, syscall.SetNonblock(peer, true))
	var b [64]byte
	if n, err := syscall.Read(peer, b[:]); !errors.Is(err, syscall.EAGAIN) {
		t.Fatalf("peer read %d bytes (%v): the failed constructor wrote to fd", n, err)
	}
	if _, err := syscall.Write(fd, []byte("x")); err != nil {
		t.Fatalf("write to fd after the failure: %v", err)
	}
	if n, err := syscall.Read(peer, b[:]); err != nil || string(b[:n]) != "x" {
		t.Fatalf("peer read %q, %v; want \"x\"", b[:n], err)
	}
}

func failStep(t *testing.T, step string) {
	if step == "" {
		return
	}
	t.Cleanup(ssl.SetTestHook(func(s string) error {
		if s == step {
			return errInjected
		}
		return nil
	}))
}

func ctorBase(t *testing.T, closed bool) *eventbase.Base {
	base := newBase(t)
	if closed {
		base.Close()
	} else {
		t.Cleanup(func() { base.Close() })
	}
	return base
}

// On every failure path NewSocket leaves fd open, unwritten and the
// caller's, with or without CloseOnFree, and leaves no goroutine behind.
func TestNewSocketFailureLeavesFD(t *testing.T) {
	p := testPKI(t)
	forEachFailure(t, func(t *testing.T, c ctorFailure, cof bufferevent.Options) {
		base := ctorBase(t, c.closed)
		fd, peer := socketPair(t)
		defer syscall.Close(peer)
		defer syscall.Close(fd)
		bev, err := ssl.NewSocket(base, fd, c.cfg(p), c.state, c.opts|cof)
		if err == nil || bev != nil {
			t.Fatalf("NewSocket = %v, %v; want an error", bev, err)
		}
		if c.want != nil && !errors.Is(err, c.want) {
			t.Fatalf("NewSocket: %v; want %v", err, c.want)
		}
		if !c.closed {
			settle(t, base)
		}
		assertUntouched(t, fd, peer)
	})
}

// On every failure path NewFilter leaves the underlying open, with its own
// callbacks and enabled directions, unwritten and usable, with or without
// CloseOnFree, and leaves no goroutine behind.
func TestNewFilterFailureLeavesUnderlying(t *testing.T) {
	p := testPKI(t)
	forEachFailure(t, func(t *testing.T, c ctorFailure, cof bufferevent.Options) {
		ubase := ctorBase(t, false)
		base := ubase
		if c.closed {
			base = ctorBase(t, true)
		}
		fd, peer := socketPair(t)
		defer syscall.Close(peer)
		u, err := socket.New(ubase, fd, bufferevent.CloseOnFree)
		must(t, err)
		var got []byte
		var events bufferevent.Events
		must(t, u.SetCallbacks(func(u *bufferevent.BufferEvent) {
			b := make([]byte, u.Input().Len())
			n, _ := u.Read(b)
			got = append(got, b[:n]...)
		}, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, _ error) { events |= what }))
		before := u.Enabled()

		bev, err := ssl.NewFilter(base, u, c.cfg(p), c.state, c.opts|cof)
		if err == nil || bev != nil {
			t.Fatalf("NewFilter = %v, %v; want an error", bev, err)
		}
		if c.want != nil && !errors.Is(err, c.want) {
			t.Fatalf("NewFilter: %v; want %v", err, c.want)
		}
		if e := u.Enabled(); e != before {
			t.Fatalf("underlying enabled %v after the failure; was %v", e, before)
		}
		settle(t, ubase)
		assertUntouched(t, fd, peer)
		// The underlying still works with the caller's callbacks.
		must(t, u.Enable(bufferevent.Read))
		if _, err := syscall.Write(peer, []byte("still mine")); err != nil {
			t.Fatal(err)
		}
		if !runUntil(t, ubase, 5*time.Second, func() bool { return string(got) == "still mine" }) {
			t.Fatalf("underlying read %q after the failure", got)
		}
		must(t, syscall.Shutdown(peer, syscall.SHUT_WR))
		if !runUntil(t, ubase, 5*time.Second, func() bool { return events&bufferevent.EOF != 0 }) {
			t.Fatalf("underlying's own event callback not called (events %v)", events)
		}
		must(t, u.Close())
	})
}

func cofName(o bufferevent.Options) string {
	if o&bufferevent.CloseOnFree != 0 {
		return "CloseOnFree"
	}
	return "keep"
}

// forEachFailure runs f as a subtest for every ctorFailure, without and with
// CloseOnFree, with the failing step injected and a goroutine check.
func forEachFailure(t *testing.T, f func(t *testing.T, c ctorFailure, cof bufferevent.Options)) {
	for _, c := range ctorFailures() {
		for _, cof := range []bufferevent.Options{0, bufferevent.CloseOnFree} {
			t.Run(c.name+"/"+cofName(cof), func(t *testing.T) {
				defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
				failStep(t, c.step)
				f(t, c, cof)
			})
		}
	}
}

// A session given with WithSession to a constructor that fails is not
// consumed: it can be given again, and the connection goes on over it.
func TestFailedOpenLeavesSession(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	base := newBase(t)
	defer base.Close()
	cli, srv, ua, _ := tlsOverPair(t, base, 0)
	defer srv.Close()
	defer ua.Close()
	s, err := ssl.SessionOf(cli)
	must(t, err)
	must(t, cli.Close()) // without CloseOnFree: the session is released
	restore := ssl.SetTestHook(func(step string) error {
		if step == "callbacks" {
			return errInjected
		}
		return nil
	})
	_, err = ssl.NewFilter(base, ua, nil, ssl.Open, 0, ssl.WithSession(s))
	restore()
	if !errors.Is(err, errInjected) {
		t.Fatalf("NewFilter with the failing step = %v", err)
	}
	again, err := ssl.NewFilter(base, ua, nil, ssl.Open, 0, ssl.WithSession(s))
	if err != nil {
		t.Fatalf("the session was consumed by the failed constructor: %v", err)
	}
	defer again.Close()
	var got []byte
	must(t, again.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		b := make([]byte, 64)
		n, _ := bev.Read(b)
		got = append(got, b[:n]...)
	}, nil, nil))
	must(t, again.Enable(bufferevent.Read))
	_, err = srv.Write([]byte("still encrypted"))
	must(t, err)
	if !runUntil(t, base, 5*time.Second, func() bool { return string(got) == "still encrypted" }) {
		t.Fatalf("read %q over the re-opened session", got)
	}
}
