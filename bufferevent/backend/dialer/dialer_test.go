package dialer_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bufev/bufev/bufferevent/backend/dialer"
	"github.com/bufev/bufev/eventbase"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseTarget(t *testing.T) {
	tests := []struct {
		network, host string
		port          int
		want          dialer.Target
		wantErr       string // "" for success; else the *net.AddrError text or "unknown network"
	}{
		{"tcp", "example.com", 80, dialer.Target{Network: "tcp", Host: "example.com", Port: 80}, ""},
		{"tcp4", "127.0.0.1", 1, dialer.Target{Network: "tcp4", Host: "127.0.0.1", Port: 1}, ""},
		{"tcp6", "[::1]", 65535, dialer.Target{Network: "tcp6", Host: "::1", Port: 65535}, ""},
		{"tcp6", "::1", 443, dialer.Target{Network: "tcp6", Host: "::1", Port: 443}, ""},
		{"tcp", "localhost", 8080, dialer.Target{Network: "tcp", Host: "localhost", Port: 8080}, ""},
		{"udp", "localhost", 80, dialer.Target{}, "unknown network"},
		{"", "localhost", 80, dialer.Target{}, "unknown network"},
		{"TCP", "localhost", 80, dialer.Target{}, "unknown network"},
		{"unix", "/tmp/x", 80, dialer.Target{}, "unknown network"},
		{"tcp", "localhost", 0, dialer.Target{}, "port out of range"},
		{"tcp", "localhost", -1, dialer.Target{}, "port out of range"},
		{"tcp", "localhost", 65536, dialer.Target{}, "port out of range"},
		{"tcp", "", 80, dialer.Target{}, "missing host"},
		{"tcp", "[]", 80, dialer.Target{}, "missing host"},
	}
	for _, tc := range tests {
		got, err := dialer.ParseTarget(tc.network, tc.host, tc.port)
		switch tc.wantErr {
		case "":
			if err != nil || got != tc.want {
				t.Errorf("ParseTarget(%q, %q, %d) = %+v, %v; want %+v, nil", tc.network, tc.host, tc.port, got, err, tc.want)
			}
		case "unknown network":
			var une net.UnknownNetworkError
			if !errors.As(err, &une) || string(une) != tc.network || got != (dialer.Target{}) {
				t.Errorf("ParseTarget(%q, %q, %d) = %+v, %v; want net.UnknownNetworkError", tc.network, tc.host, tc.port, got, err)
			}
		default:
			var ae *net.AddrError
			if !errors.As(err, &ae) || ae.Err != tc.wantErr || got != (dialer.Target{}) {
				t.Errorf("ParseTarget(%q, %q, %d) = %+v, %v; want *net.AddrError %q", tc.network, tc.host, tc.port, got, err, tc.wantErr)
			}
		}
	}
}

// fakeLoop records what a Dialer queues, so a test runs it by hand: Defer from the loop,
// RunInLoop from the lookup goroutine.
type fakeLoop struct {
	deferred []func()
	remote   chan func()
	closed   atomic.Bool
}

func newFakeLoop() *fakeLoop { return &fakeLoop{remote: make(chan func(), 4)} }

func (l *fakeLoop) Defer(fn func()) { l.deferred = append(l.deferred, fn) }

func (l *fakeLoop) RunInLoop(fn func()) error {
	if l.closed.Load() {
		return errors.New("fake loop closed")
	}
	l.remote <- fn
	return nil
}

// runDeferred runs and forgets the deferred functions.
func (l *fakeLoop) runDeferred() {
	q := l.deferred
	l.deferred = nil
	for _, fn := range q {
		fn()
	}
}

// runRemote waits for one function posted with RunInLoop and runs it.
func (l *fakeLoop) runRemote(t *testing.T) {
	t.Helper()
	select {
	case fn := <-l.remote:
		fn()
	case <-time.After(10 * time.Second):
		t.Fatal("no result posted to the loop")
	}
}

func noLookup(t *testing.T) dialer.LookupFunc {
	return func(context.Context, string, string) ([]netip.Addr, error) {
		t.Error("the resolver ran for an IP literal")
		return nil, errors.New("unexpected lookup")
	}
}

// IP literals are delivered through Defer, without a goroutine or the resolver, and keep
// only the addresses of the target's family (an IPv4-mapped IPv6 address counts as IPv4).
func TestLiteral(t *testing.T) {
	tests := []struct {
		network, host string
		want          []string // addresses to try; nil means a *DNSError "no suitable address"
	}{
		{"tcp", "127.0.0.1", []string{"127.0.0.1:7"}},
		{"tcp", "[::1]", []string{"[::1]:7"}},
		{"tcp4", "127.0.0.1", []string{"127.0.0.1:7"}},
		{"tcp4", "::1", nil},
		{"tcp6", "::1", []string{"[::1]:7"}},
		{"tcp6", "127.0.0.1", nil},
		{"tcp6", "::ffff:127.0.0.1", nil},
		{"tcp4", "::ffff:127.0.0.1", []string{"[::ffff:127.0.0.1]:7"}},
	}
	for _, tc := range tests {
		t.Run(tc.network+"/"+tc.host, func(t *testing.T) {
			loop := newFakeLoop()
			d := dialer.Dialer{Lookup: noLookup(t)}
			target, err := dialer.ParseTarget(tc.network, tc.host, 7)
			if err != nil {
				t.Fatal(err)
			}
			var got []dialer.Result
			d.Start(context.Background(), loop, target, func(r dialer.Result) { got = append(got, r) })
			if !d.Busy() || len(got) != 0 || len(loop.deferred) != 1 {
				t.Fatalf("after Start: busy %v, delivered %d, deferred %d; want true, 0, 1", d.Busy(), len(got), len(loop.deferred))
			}
			loop.runDeferred()
			if len(got) != 1 || !d.End(got[0]) || d.Busy() {
				t.Fatalf("delivered %d results; want 1, current, and the lookup ended", len(got))
			}
			err = d.Settle(got[0])
			if tc.want == nil {
				var de *dialer.DNSError
				var nde *net.DNSError
				if !errors.As(err, &de) || !errors.As(err, &nde) || !nde.IsNotFound || de.Host != target.Host || d.Err() != err || d.More() {
					t.Fatalf("Settle = %v (Err %v, More %v); want a *DNSError wrapping a not-found *net.DNSError", err, d.Err(), d.More())
				}
				return
			}
			if err != nil || d.Err() != nil {
				t.Fatalf("Settle = %v, Err = %v; want nil", err, d.Err())
			}
			var addrs []string
			for d.More() {
				ap, ok := d.Next()
				if !ok {
					t.Fatal("Next not ok while More")
				}
				addrs = append(addrs, ap.String())
			}
			if _, ok := d.Next(); ok || len(addrs) != len(tc.want) || addrs[0] != tc.want[0] {
				t.Fatalf("addresses %v; want %v", addrs, tc.want)
			}
		})
	}
}

// A name goes to the resolver with the family's IP network, on another goroutine; the
// addresses come back in the resolver's order with the port, filtered by family.
func TestLookupOrderAndFamily(t *testing.T) {
	ips := []netip.Addr{
		netip.MustParseAddr("192.0.2.1"),
		netip.MustParseAddr("2001:db8::1"),
		netip.MustParseAddr("192.0.2.2"),
	}
	tests := []struct {
		network, ipnet string
		want           []string
	}{
		{"tcp", "ip", []string{"192.0.2.1:80", "[2001:db8::1]:80", "192.0.2.2:80"}},
		{"tcp4", "ip4", []string{"192.0.2.1:80", "192.0.2.2:80"}},
		{"tcp6", "ip6", []string{"[2001:db8::1]:80"}},
	}
	for _, tc := range tests {
		t.Run(tc.network, func(t *testing.T) {
			loop := newFakeLoop()
			var gotNet, gotHost atomic.Value
			d := dialer.Dialer{Lookup: func(_ context.Context, network, host string) ([]netip.Addr, error) {
				gotNet.Store(network)
				gotHost.Store(host)
				return ips, nil
			}}
			var res []dialer.Result
			d.Start(context.Background(), loop, dialer.Target{Network: tc.network, Host: "two.example", Port: 80},
				func(r dialer.Result) { res = append(res, r) })
			if len(loop.deferred) != 0 {
				t.Fatal("a name was delivered through Defer")
			}
			loop.runRemote(t)
			if gotNet.Load() != tc.ipnet || gotHost.Load() != "two.example" {
				t.Fatalf("resolver asked for %v %v; want %s two.example", gotNet.Load(), gotHost.Load(), tc.ipnet)
			}
			if len(res) != 1 || !d.End(res[0]) {
				t.Fatal("result not delivered or not current")
			}
			if err := d.Settle(res[0]); err != nil {
				t.Fatal(err)
			}
			var got []string
			for ap, ok := d.Next(); ok; ap, ok = d.Next() {
				got = append(got, ap.String())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("addresses %v; want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("addresses %v; want %v", got, tc.want)
				}
			}
		})
	}
}

// A resolver failure becomes a *DNSError that wraps it and names the host.
func TestLookupError(t *testing.T) {
	loop := newFakeLoop()
	nf := &net.DNSError{Err: "no such host", Name: "nowhere.invalid", IsNotFound: true}
	d := dialer.Dialer{Lookup: func(context.Context, string, string) ([]netip.Addr, error) { return nil, nf }}
	var res dialer.Result
	//lint:ignore SA1012 Start documents that a nil context means context.Background.
	d.Start(nil, loop, dialer.Target{Network: "tcp", Host: "nowhere.invalid", Port: 80}, func(r dialer.Result) { res = r })
	loop.runRemote(t)
	if !d.End(res) {
		t.Fatal("result not current")
	}
	err := d.Settle(res)
	var de *dialer.DNSError
	if !errors.As(err, &de) || !errors.Is(err, nf) || de.Host != "nowhere.invalid" || d.Err() != err || d.More() || de.Timeout() {
		t.Fatalf("Settle = %v; want a *DNSError wrapping the resolver's error", err)
	}
	if want := "dialer: resolving nowhere.invalid: " + nf.Error(); err.Error() != want {
		t.Fatalf("Error() = %q; want %q", err.Error(), want)
	}
	// A new Start forgets the old error.
	d.Start(context.Background(), loop, dialer.Target{Network: "tcp", Host: "127.0.0.1", Port: 80}, func(dialer.Result) {})
	if d.Err() != nil {
		t.Fatalf("Err after a new Start = %v; want nil", d.Err())
	}
	d.Cancel()
}

// blocker is a resolver that blocks until its context is done and then reports the
// context's error, as Go's resolver does.
type blocker struct {
	started  chan struct{}
	returned atomic.Int32
	loop     *fakeLoop
	d        dialer.Dialer
	results  []dialer.Result
}

// newBlocker returns a Dialer using a blocker, on a fake loop.
func newBlocker() *blocker {
	b := &blocker{started: make(chan struct{}, 2), loop: newFakeLoop()}
	b.d.Lookup = func(ctx context.Context, _, _ string) ([]netip.Addr, error) {
		b.started <- struct{}{}
		<-ctx.Done()
		b.returned.Add(1)
		return nil, ctx.Err()
	}
	return b
}

// start starts a lookup of host that collects its result in b.results.
func (b *blocker) start(ctx context.Context, host string) {
	b.d.Start(ctx, b.loop, dialer.Target{Network: "tcp", Host: host, Port: 80}, func(r dialer.Result) { b.results = append(b.results, r) })
}

// Cancel stops the resolver goroutine through its context; the result still arrives on
// the loop but End calls it stale. Mirrors libevent's cancellation of a pending
// getaddrinfo request by bufferevent_socket_connect_hostname's cleanup.
func TestCancel(t *testing.T) {
	b := newBlocker()
	b.start(context.Background(), "slow.example")
	<-b.started
	if !b.d.Cancel() {
		t.Fatal("Cancel = false with a lookup in progress")
	}
	if b.d.Busy() || b.d.Cancel() {
		t.Fatal("still busy after Cancel")
	}
	b.loop.runRemote(t)
	if b.returned.Load() != 1 || len(b.results) != 1 {
		t.Fatalf("lookups returned %d, results %d; want 1, 1", b.returned.Load(), len(b.results))
	}
	if b.d.End(b.results[0]) {
		t.Fatal("End accepted a cancelled lookup's result")
	}
}

// A second Start supersedes the first: the first lookup is cancelled and its result is
// stale, the second's is current.
func TestRestartSupersedes(t *testing.T) {
	b := newBlocker()
	b.start(context.Background(), "first.example")
	<-b.started
	b.start(context.Background(), "127.0.0.1")
	b.loop.runRemote(t) // the first lookup, cancelled
	b.loop.runDeferred()
	if len(b.results) != 2 || b.d.End(b.results[0]) || !b.d.End(b.results[1]) {
		t.Fatalf("results %d; want 2, the first stale and the second current", len(b.results))
	}
	if err := b.d.Settle(b.results[1]); err != nil || !b.d.More() {
		t.Fatalf("Settle = %v, More = %v; want nil, true", err, b.d.More())
	}
	b.d.Discard()
	if b.d.More() {
		t.Fatal("More after Discard")
	}
}

// The context bounds the lookup: a deadline makes a *DNSError that reports Timeout.
func TestContextDeadline(t *testing.T) {
	b := newBlocker()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	b.start(ctx, "slow.example")
	b.loop.runRemote(t)
	if len(b.results) != 1 || !b.d.End(b.results[0]) {
		t.Fatal("result not delivered or not current")
	}
	err := b.d.Settle(b.results[0])
	var de *dialer.DNSError
	if !errors.As(err, &de) || !errors.Is(err, context.DeadlineExceeded) || !de.Timeout() {
		t.Fatalf("Settle = %v; want a *DNSError wrapping context.DeadlineExceeded with Timeout true", err)
	}
}

// When the loop is closed before the lookup ends, the result is dropped and the
// goroutine still ends (goleak checks it in TestMain).
func TestClosedLoopDropsResult(t *testing.T) {
	loop := newFakeLoop()
	loop.closed.Store(true)
	done := make(chan struct{})
	d := dialer.Dialer{Lookup: func(context.Context, string, string) ([]netip.Addr, error) {
		defer close(done)
		return []netip.Addr{netip.MustParseAddr("192.0.2.1")}, nil
	}}
	d.Start(context.Background(), loop, dialer.Target{Network: "tcp", Host: "a.example", Port: 80}, func(dialer.Result) {
		t.Error("result delivered by a closed loop")
	})
	<-done
	d.Cancel()
	if len(loop.remote) != 0 {
		t.Fatal("a function was queued on a closed loop")
	}
}

// "localhost" through Go's resolver (no Lookup set) on a real event base: the result is
// handled on the loop and holds a loopback address.
func TestLocalhostRealResolver(t *testing.T) {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	var d dialer.Dialer
	target, err := dialer.ParseTarget("tcp4", "localhost", 8080)
	if err != nil {
		t.Fatal(err)
	}
	var got []netip.AddrPort
	var settleErr error
	delivered := false
	d.Start(context.Background(), base, target, func(r dialer.Result) {
		delivered = true
		if d.End(r) {
			settleErr = d.Settle(r)
			for ap, ok := d.Next(); ok; ap, ok = d.Next() {
				got = append(got, ap)
			}
		}
		base.LoopBreak()
	})
	wd := time.AfterFunc(10*time.Second, base.LoopBreak)
	defer wd.Stop()
	if err := base.Loop(eventbase.LoopNoExitOnEmpty); err != nil {
		t.Fatal(err)
	}
	if !delivered {
		t.Fatal("no result within 10s")
	}
	if settleErr != nil {
		t.Fatalf("resolving localhost: %v", settleErr)
	}
	if len(got) == 0 {
		t.Fatal("localhost resolved to no address")
	}
	for _, ap := range got {
		if !ap.Addr().Unmap().Is4() || !ap.Addr().IsLoopback() || ap.Port() != 8080 {
			t.Fatalf("localhost (tcp4) gave %v; want IPv4 loopback addresses with port 8080", got)
		}
	}
}

func TestDialError(t *testing.T) {
	tcp := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}
	unix := &net.UnixAddr{Name: "/tmp/s", Net: "unix"}
	already := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("x")}
	base := errors.New("refused")
	tests := []struct {
		name    string
		addr    net.Addr
		err     error
		wantNet string
		same    bool
	}{
		{"tcp", tcp, base, "tcp", false},
		{"unix", unix, base, "unix", false},
		{"nil addr", nil, base, "tcp", false},
		{"already an OpError", tcp, already, "tcp", true},
		{"wrapped OpError", tcp, errors.Join(base, already), "tcp", true},
	}
	for _, tc := range tests {
		got := dialer.DialError(tc.addr, tc.err)
		if tc.same {
			if got != tc.err {
				t.Errorf("%s: DialError = %v; want the error unchanged", tc.name, got)
			}
			continue
		}
		var op *net.OpError
		if !errors.As(got, &op) || op.Op != "dial" || op.Net != tc.wantNet || op.Addr != tc.addr || !errors.Is(got, base) {
			t.Errorf("%s: DialError = %#v; want a dial *net.OpError on %s wrapping the error", tc.name, got, tc.wantNet)
		}
	}
}
