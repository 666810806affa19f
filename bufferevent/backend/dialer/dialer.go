package dialer

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
)

// Loop is what a lookup needs from the event loop; *eventbase.Base implements it.
// RunInLoop must be safe for concurrent use; Defer is loop-confined.
type Loop interface {
	// RunInLoop queues fn to run on the loop goroutine; it is called from the lookup
	// goroutine and must be safe for concurrent use. It fails once the loop is closed.
	RunInLoop(fn func()) error
	// Defer queues fn to run on the loop goroutine after the current callback; it is
	// called on the loop goroutine (for IP literals, which need no lookup).
	Defer(fn func())
}

// LookupFunc resolves host to its IP addresses for network "ip", "ip4" or "ip6";
// (*net.Resolver).LookupNetIP is one. It is called on a goroutine of its own and must
// return once ctx is done; lookups of several bufferevents run at once, so it must be
// safe for concurrent use.
type LookupFunc func(ctx context.Context, network, host string) ([]netip.Addr, error)

// Target is a validated hostname-connect request, as [ParseTarget] returns it. A plain
// value, safe for concurrent use.
type Target struct {
	Network string // "tcp", "tcp4" or "tcp6"
	Host    string // a host name or an IP address, without brackets
	Port    uint16 // 1 to 65535
}

// ParseTarget validates the arguments of a hostname connect: network is "tcp", "tcp4" or
// "tcp6"; host is a name, an IPv4 address or an IPv6 address with or without brackets;
// port is 1 to 65535. The error is net.UnknownNetworkError for another network and a
// *net.AddrError for a missing host or a port out of range; backends wrap it as they
// report unusable addresses, e.g. &net.OpError{Op: "dial", Net: network, Err:
// errors.Join(ErrAddress, err)}. Safe for concurrent use.
func ParseTarget(network, host string, port int) (Target, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return Target{}, net.UnknownNetworkError(network)
	}
	if port < 1 || port > 65535 {
		return Target{}, &net.AddrError{Err: "port out of range", Addr: strconv.Itoa(port)}
	}
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	if host == "" {
		return Target{}, &net.AddrError{Err: "missing host", Addr: host}
	}
	return Target{Network: network, Host: host, Port: uint16(port)}, nil
}

// ipNetwork is the resolver's network for t's family.
func (t Target) ipNetwork() string {
	switch t.Network {
	case "tcp4":
		return "ip4"
	case "tcp6":
		return "ip6"
	}
	return "ip"
}

// DNSError is the error a backend delivers to the event callback (with the Error event)
// when the host of a hostname connect cannot be resolved, or resolves to no address of
// the requested family. It wraps the resolver's error, usually a *net.DNSError, and the
// context's error when the lookup was cancelled or timed out. It is not modified after
// delivery: its methods are safe for concurrent use.
type DNSError struct {
	Host string // the host name as given to ConnectHostname, without brackets
	Err  error  // the resolver's error
}

// Error describes the failed lookup. Safe for concurrent use.
func (e *DNSError) Error() string {
	return "dialer: resolving " + e.Host + ": " + e.Err.Error()
}

// Unwrap returns the resolver's error. Safe for concurrent use.
func (e *DNSError) Unwrap() error { return e.Err }

// Timeout reports whether the lookup timed out. Safe for concurrent use.
func (e *DNSError) Timeout() bool {
	var t interface{ Timeout() bool }
	return errors.As(e.Err, &t) && t.Timeout()
}

// DialError wraps a connect failure as net.Dial reports it: a *net.OpError with Op
// "dial" and the address (its network, or "tcp" when addr is nil). An error that already
// holds a *net.OpError is returned as it is. Safe for concurrent use.
func DialError(addr net.Addr, err error) error {
	var op *net.OpError
	if errors.As(err, &op) {
		return err
	}
	netw := "tcp"
	if addr != nil {
		netw = addr.Network()
	}
	return &net.OpError{Op: "dial", Net: netw, Addr: addr, Err: err}
}

// Result is the outcome of one lookup, passed to the deliver function of
// [Dialer.Start] on the loop goroutine. Hand it to [Dialer.End] and [Dialer.Settle].
// Loop-confined, like the Dialer it belongs to.
type Result struct {
	gen uint64
	t   Target
	ips []netip.Addr
	err error
}

// Dialer is the hostname-connect state of one bufferevent: the lookup in progress (at
// most one), the addresses left to try, and the last lookup's error. The zero value is
// ready to use. Loop-confined: call its methods only from the loop goroutine, or with
// the bufferevent's lock held where the backend calls them under it (Cancel and Discard
// from Close or SetFD of a ThreadSafe bufferevent).
type Dialer struct {
	// Lookup resolves host names; nil means net.DefaultResolver.LookupNetIP. Start reads
	// it once per lookup.
	Lookup LookupFunc

	gen     uint64
	busy    bool
	stop    context.CancelFunc
	pending []netip.AddrPort
	dnsErr  error
}

// Start begins resolving t, cancelling a lookup in progress and forgetting the previous
// addresses and lookup error. deliver is then called once on the loop goroutine with the
// outcome: for an IP literal through loop.Defer, without a goroutine; for a name through
// loop.RunInLoop from a goroutine that runs the lookup bounded by ctx (nil means
// context.Background). If the loop is closed before, deliver is not called.
// Loop-confined.
func (d *Dialer) Start(ctx context.Context, loop Loop, t Target, deliver func(Result)) {
	d.Cancel()
	d.gen++
	d.busy = true
	d.pending, d.dnsErr = nil, nil
	gen := d.gen
	if ip, err := netip.ParseAddr(t.Host); err == nil {
		loop.Defer(func() { deliver(Result{gen: gen, t: t, ips: []netip.Addr{ip}}) })
		return
	}
	lookup := d.Lookup
	if lookup == nil {
		lookup = net.DefaultResolver.LookupNetIP
	}
	if ctx == nil {
		ctx = context.Background()
	}
	lctx, cancel := context.WithCancel(ctx)
	d.stop = cancel
	go func() {
		ips, err := lookup(lctx, t.ipNetwork(), t.Host)
		cancel()
		// If the loop is closed meanwhile nobody wants the result: the bufferevent
		// cannot be used any more either.
		_ = loop.RunInLoop(func() { deliver(Result{gen: gen, t: t, ips: ips, err: err}) })
	}()
}

// Cancel abandons the lookup in progress, if any: its goroutine's context is cancelled
// and its result, when delivered, is stale for [Dialer.End]. It reports whether a lookup
// was in progress (the backend then lifts backend.SuspendLookup). Loop-confined.
func (d *Dialer) Cancel() bool {
	if d.stop != nil {
		d.stop()
		d.stop = nil
	}
	if !d.busy {
		return false
	}
	d.busy = false
	d.gen++
	return true
}

// Busy reports whether a lookup is in progress. Loop-confined.
func (d *Dialer) Busy() bool { return d.busy }

// End ends the lookup r comes from and reports true if r is still wanted; false means a
// later Start or a Cancel superseded it, and the backend must ignore r. Loop-confined.
func (d *Dialer) End(r Result) bool {
	if !d.busy || r.gen != d.gen {
		return false
	}
	d.busy = false
	d.stop = nil
	return true
}

// Settle records the outcome of r, which [Dialer.End] accepted: the addresses of the
// target's family, in the resolver's order and with the target's port, become the ones
// [Dialer.Next] returns, or the lookup failed and Settle returns (and keeps for
// [Dialer.Err]) a *DNSError. A lookup that succeeded without an address of the family
// fails with a *net.DNSError "no suitable address found" (IsNotFound). Loop-confined.
func (d *Dialer) Settle(r Result) error {
	err := r.err
	var addrs []netip.AddrPort
	if err == nil {
		for _, ip := range r.ips {
			if (r.t.Network == "tcp4" && !ip.Unmap().Is4()) || (r.t.Network == "tcp6" && ip.Unmap().Is4()) {
				continue
			}
			addrs = append(addrs, netip.AddrPortFrom(ip, r.t.Port))
		}
		if len(addrs) == 0 {
			err = &net.DNSError{Err: "no suitable address found", Name: r.t.Host, IsNotFound: true}
		}
	}
	if err != nil {
		d.pending = nil
		d.dnsErr = &DNSError{Host: r.t.Host, Err: err}
		return d.dnsErr
	}
	d.pending = addrs
	return nil
}

// Err returns the *DNSError of the last lookup, or nil if it succeeded, is still in
// progress, or none ran. Loop-confined (a backend reads it under the bufferevent's
// lock).
func (d *Dialer) Err() error { return d.dnsErr }

// More reports whether addresses are left to try. Loop-confined.
func (d *Dialer) More() bool { return len(d.pending) > 0 }

// Next removes and returns the next address to try; ok is false when none is left.
// Loop-confined.
func (d *Dialer) Next() (ap netip.AddrPort, ok bool) {
	if len(d.pending) == 0 {
		return netip.AddrPort{}, false
	}
	ap = d.pending[0]
	d.pending = d.pending[1:]
	return ap, true
}

// Discard forgets the addresses left to try (a new Connect or SetFD replaces the
// hostname connect). Loop-confined.
func (d *Dialer) Discard() { d.pending = nil }
