//go:build linux || windows

package async

import (
	"context"
	"errors"
	"net"
	"sync"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/backend"
	"github.com/bufev/bufev/bufferevent/backend/dialer"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
)

// This file holds what the io_uring backend (async_linux.go) and the IOCP backend
// (async_windows.go) do alike: the registry of live bufferevents, enabling and
// disabling, the timeouts, the connect and hostname-connect glue and the address
// conversions. Both conn types have the fields used here under the same names; each
// platform file keeps only how an operation is submitted and completed, and the small
// per-platform steps these functions call (stopIO, wantWrite, cancelRead, cancelWrite,
// abortConnect, dropFailedSocket, getsockname, getpeername, otherNetAddr). Every call
// is a direct call: nothing here adds an indirect call to the per-message path.
//
// The send path's per-message steps stay written out in each platform's startWrite
// and writeDone: shared as helpers (the limit check, pinning the output, the write
// callback and next send) they were not inlined and cost this package 38 more
// instructions per echoed message (callgrind, 64-byte ping-pong, 50 connections:
// 988 -> 1026; the whole process about 4 240). The receive's helpers here (readBudget,
// readArrived) are off that path: small messages arrive through multishot receives
// (msDone, deliver), and the PinRead receives that use them come per bulk chunk (per
// message only on kernels without provided-buffer rings, before 5.19).

var (
	_ backend.Ops       = (*conn)(nil)
	_ backend.FD        = (*conn)(nil)
	_ backend.SetFD     = (*conn)(nil)
	_ backend.CancelAll = (*conn)(nil)
	_ backend.Addresser = (*conn)(nil)
)

// conns maps each live async bufferevent to its backend, for Connect and friends.
var conns = struct {
	sync.Mutex
	m map[*bufferevent.BufferEvent]*conn
}{m: make(map[*bufferevent.BufferEvent]*conn)}

func lookupConn(bev *bufferevent.BufferEvent) (*conn, error) {
	if bev == nil {
		return nil, ErrNotAsync
	}
	conns.Lock()
	c := conns.m[bev]
	conns.Unlock()
	if c == nil {
		if bev.Type() == TypeName {
			return nil, bufferevent.ErrClosed
		}
		return nil, ErrNotAsync
	}
	return c, nil
}

// register adds a new bufferevent's backend to conns.
func register(bev *bufferevent.BufferEvent, c *conn) {
	conns.Lock()
	conns.m[bev] = c
	conns.Unlock()
}

// unregister removes a closed bufferevent's backend from conns.
func (c *conn) unregister() {
	conns.Lock()
	delete(conns.m, c.bev)
	conns.Unlock()
}

// attach fills in a new conn inside bufferevent.New's backend constructor.
func (c *conn) attach(core backend.Core, base *eventbase.Base, fd int, own bool) {
	c.c = core
	c.base = base
	c.bev = core.Handle().(*bufferevent.BufferEvent)
	c.kickFn = c.kick
	c.fd = fd
	c.ownFD = own
	c.outCb = core.Output().AddCallback(c.onOutput)
}

// disableUser clears the user's enabled bits for dir (as the core's timeout and error
// paths do) and stops the backend's I/O in dir.
func (c *conn) disableUser(dir backend.Direction) {
	c.stopIO(dir)
	if c.c.Options()&bufferevent.ThreadSafe == 0 {
		c.bev.Disable(dir)
		return
	}
	c.c.Unlock()
	c.bev.Disable(dir)
	c.c.Lock()
}

func (c *conn) fail(dir backend.Direction, what backend.Events, err error) {
	c.disableUser(dir)
	c.c.TriggerEvent(what, err, 0)
}

// ---- reading ----

// readBudget is the size of the next receive (startRead): at most MaxToRead, and 0,
// with reading suspended, when the input is full or the rate limits allow nothing.
func (c *conn) readBudget() int {
	n := min(c.c.MaxToRead(), c.rsize)
	if n <= 0 {
		c.suspendNoRead()
		return 0
	}
	return n
}

// suspendNoRead suspends reading when the read budget is nothing: for the watermark
// when the input is full; otherwise, with room in the input and no suspension, only a
// rate-limit group can allow nothing: it is suspended and this member's notification
// is still queued. Suspending now, as libevent's get_read_max does, lets the group's
// resumption (or that notification) start the next read; a receive that completes
// while the group is suspended would otherwise leave nothing to restart it.
func (c *conn) suspendNoRead() {
	if c.c.InputRoom() == 0 {
		c.c.SuspendRead(backend.SuspendWatermark)
	} else {
		c.c.SuspendRead(backend.SuspendGroup)
	}
}

// readArrived runs the read callback for the bytes a receive brought (lock held, the
// bytes committed and settled): it reports whether the next receive may start, not
// when the bufferevent is gone or the user disabled reading (then the callback waits
// for Enable).
func (c *conn) readArrived() bool {
	if c.gone() {
		return false
	}
	if c.c.Enabled()&backend.Read == 0 {
		c.missed = true
		return false
	}
	c.resetReadTimer()
	c.c.TriggerRead(0)
	return !c.gone()
}

// ---- writing ----

// onOutput is the output buffer's callback: data was added.
func (c *conn) onOutput(_ *evbuffer.Buffer, info evbuffer.CallbackInfo) {
	if info.Added == 0 || c.dead {
		return
	}
	if !c.c.OnLoop() {
		if !c.kickQueued {
			c.kickQueued = true
			c.c.RunInLoop(c.kickFn)
		}
		return
	}
	c.wantWrite()
}

// kick runs on the loop (lock held) for output added on another goroutine.
func (c *conn) kick() {
	c.kickQueued = false
	c.wantWrite()
}

// ---- timers ----

func (c *conn) ensureTimers() bool {
	if c.rtimer != nil {
		return true
	}
	rt, err := c.base.NewTimer(c.onReadTimeout)
	if err != nil {
		return false
	}
	wt, err := c.base.NewTimer(c.onWriteTimeout)
	if err != nil {
		rt.Free()
		return false
	}
	c.rtimer, c.wtimer = rt, wt
	return true
}

func (c *conn) resetReadTimer() {
	rto, _ := c.c.Timeouts()
	if rto > 0 && c.c.Active(backend.Read) && !c.dead {
		if c.ensureTimers() {
			_ = c.rtimer.AddTimeout(rto)
		}
	} else if c.rtimer != nil {
		_ = c.rtimer.Del()
	}
}

func (c *conn) resetWriteTimer() {
	_, wto := c.c.Timeouts()
	if wto > 0 && c.c.Active(backend.Write) && !c.dead && (c.pendingOut() > 0 || c.connecting) {
		if c.ensureTimers() {
			_ = c.wtimer.AddTimeout(wto)
		}
	} else if c.wtimer != nil {
		_ = c.wtimer.Del()
	}
}

func (c *conn) onReadTimeout()  { c.timedOut(backend.Read, backend.Reading|backend.Timeout) }
func (c *conn) onWriteTimeout() { c.timedOut(backend.Write, backend.Writing|backend.Timeout) }

func (c *conn) timedOut(dir backend.Direction, what backend.Events) {
	c.c.Enter()
	defer c.c.Leave()
	if c.gone() {
		return
	}
	if dir == backend.Write && c.connecting {
		c.abortConnect()
	}
	c.fail(dir, what, nil)
}

// freeTimers frees the timeouts' timers (Close).
func (c *conn) freeTimers() {
	if c.rtimer != nil {
		c.rtimer.Free()
		c.wtimer.Free()
		c.rtimer, c.wtimer = nil, nil
	}
}

// ---- backend.Ops ----

// Enable implements backend.Ops: start receiving and sending, and (re)arm the timeouts.
func (c *conn) Enable(dir backend.Direction) error {
	if dir&backend.Read != 0 {
		if c.missed && c.c.Input().Len() > 0 {
			c.missed = false
			c.c.TriggerRead(backend.TriggerDefer)
		}
		c.startRead()
		c.resetReadTimer()
	}
	if dir&backend.Write != 0 {
		if c.pendingOut() > 0 {
			c.wantWrite()
		}
		c.resetWriteTimer()
	}
	return nil
}

// Disable implements backend.Ops: stop the timers and, when the user disabled dir,
// cancel the operation in flight (its completion may still bring data, which is kept).
// A suspension (watermark, rate limit) lets it complete: it was sized within the input
// room and the allowance when it started, and its size is charged already.
func (c *conn) Disable(dir backend.Direction) error {
	user := c.c.Enabled()
	if dir&backend.Read != 0 {
		if c.rtimer != nil {
			_ = c.rtimer.Del()
		}
		c.stopReady() // a suspension too: a pending readiness event would fire at once
		if user&backend.Read == 0 {
			c.cancelRead()
		}
	}
	if dir&backend.Write != 0 && !c.connecting {
		if c.wtimer != nil {
			_ = c.wtimer.Del()
		}
		if user&backend.Write == 0 {
			c.cancelWrite()
		}
	}
	return nil
}

// Flush implements backend.Ops. Like libevent's async and socket types there is nothing
// to force: output goes to the system as soon as it is added (io_uring: at the end of
// the current loop turn). Finished on the write side shuts the socket's write side down
// once the output is sent (halfclose.go), as the socket backend does (libevent does
// nothing).
func (c *conn) Flush(dir backend.Direction, mode backend.FlushMode) (bool, error) {
	if mode == backend.Finished && dir&backend.Write != 0 && !c.dead {
		if err := c.finishWrite(); err != nil {
			return false, err
		}
	}
	return false, nil
}

// AdjustTimeouts implements backend.Ops.
func (c *conn) AdjustTimeouts() error {
	c.resetReadTimer()
	c.resetWriteTimer()
	return nil
}

// useFD ends SetFD once the old socket's operations are cancelled: the enabled
// directions start on fd (which stays the caller's).
func (c *conn) useFD(fd int) {
	c.connecting = false
	c.fd = fd
	c.ownFD = false
	c.peer = nil
	if fd >= 0 {
		_ = c.Enable(c.c.Enabled() & c.activeDirs())
	}
}

func (c *conn) activeDirs() backend.Direction {
	var d backend.Direction
	if c.c.Active(backend.Read) {
		d |= backend.Read
	}
	if c.c.Active(backend.Write) {
		d |= backend.Write
	}
	return d
}

// LocalAddr implements backend.Addresser.
func (c *conn) LocalAddr() net.Addr {
	if c.fd < 0 {
		return nil
	}
	sa, err := getsockname(c.fd)
	if err != nil {
		return nil
	}
	return netAddr(sa)
}

// RemoteAddr implements backend.Addresser.
func (c *conn) RemoteAddr() net.Addr {
	if c.peer != nil {
		return c.peer
	}
	if c.fd < 0 {
		return nil
	}
	sa, err := getpeername(c.fd)
	if err != nil {
		return nil
	}
	c.peer = netAddr(sa)
	return c.peer
}

func netAddr(sa sockaddr) net.Addr {
	switch a := sa.(type) {
	case *sockaddrInet4:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]).To16(), Port: a.Port}
	case *sockaddrInet6:
		addr := &net.TCPAddr{IP: append(net.IP(nil), a.Addr[:]...), Port: a.Port}
		if a.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(a.ZoneId)); err == nil {
				addr.Zone = ifi.Name
			}
		}
		return addr
	}
	return otherNetAddr(sa)
}

// ---- connect ----

// Connect starts a connect of bev to addr (a *net.TCPAddr, or any net.Addr whose
// Network is tcp, tcp4 or tcp6; on Linux also a *net.UnixAddr or the network unix) with
// the platform's connect operation (io_uring connect; ConnectEx, libevent's IOCP path).
// If bev has no socket, one is created for addr's family; it belongs to bev and is
// closed by Close. With addr nil, on Linux bev's socket is assumed to be connecting
// already and Connect waits for it; Windows has no readiness to wait for, and Connect
// returns ErrNoAddress.
//
// Like the socket backend, Connect returns an error only for unusable arguments or a
// closed bufferevent; a refused or unreachable connect reaches the event callback later
// as Error with a *net.OpError (on Linux errors.Is(err, syscall.ECONNREFUSED) works),
// and success as Connected. Output written before the connect completes is sent once
// it does.
//
// Loop-confined unless bev is ThreadSafe; then the connect starts on the loop.
func Connect(bev *bufferevent.BufferEvent, addr net.Addr) error {
	c, err := lookupConn(bev)
	if err != nil {
		return err
	}
	var sa sockaddr
	if addr != nil {
		if sa, err = sockaddrOf(addr); err != nil {
			return &net.OpError{Op: "dial", Net: addr.Network(), Addr: addr, Err: err}
		}
	} else if err := c.canWaitConnect(); err != nil {
		return err
	}
	return c.onLoopDo(func() error {
		if addr == nil && c.fd < 0 {
			return ErrNoAddress
		}
		c.cancelLookup()
		c.dial.Discard()
		c.connect(addr, sa)
		return nil
	})
}

// onLoopDo runs fn with the core lock and a reference: at once for a loop-confined
// bufferevent, on the loop for a ThreadSafe one.
func (c *conn) onLoopDo(fn func() error) error {
	if c.c.Options()&bufferevent.ThreadSafe != 0 {
		c.c.Lock()
		closed := c.c.Closed()
		if !closed {
			c.c.RunInLoop(func() {
				if !c.dead && !c.c.Closed() {
					_ = fn()
				}
			})
		}
		c.c.Unlock()
		if closed {
			return bufferevent.ErrClosed
		}
		return nil
	}
	if c.dead || c.c.Closed() {
		return bufferevent.ErrClosed
	}
	c.c.Enter()
	defer c.c.Leave()
	return fn()
}

// connected handles a connect that succeeded (lock held, not dead, connecting
// cleared): Connected, then the enabled directions start.
func (c *conn) connected() {
	c.dial.Discard()
	c.lastErr = nil
	c.peer = c.connAddr
	if c.wtimer != nil {
		_ = c.wtimer.Del()
	}
	c.c.TriggerEvent(backend.Connected, nil, 0)
	if c.gone() {
		return
	}
	_ = c.Enable(c.activeDirs())
	if c.half != nil && !c.gone() {
		c.afterConnect()
	}
}

// connectFailedLater reports a failure found inside Connect through the deferred event
// callback, so nothing runs synchronously (libevent's immediate-refusal path).
func (c *conn) connectFailedLater(err error) {
	c.lastErr = c.dialError(err)
	if c.dial.More() {
		c.base.Defer(func() {
			c.c.Enter()
			defer c.c.Leave()
			if !c.gone() {
				c.connectNext()
			}
		})
		return
	}
	c.disableUser(backend.ReadWrite)
	c.c.TriggerEvent(backend.Error, c.lastErr, backend.TriggerDefer)
}

// connectFailed handles a connect that failed after starting: Error with no direction
// bit, after trying the next address of a hostname connect.
func (c *conn) connectFailed(err error) {
	c.lastErr = c.dialError(err)
	if c.dial.More() {
		c.connectNext()
		return
	}
	if c.wtimer != nil {
		_ = c.wtimer.Del()
	}
	c.c.TriggerEvent(backend.Error, c.lastErr, 0)
}

// ---- hostname connect ----

// ConnectHostname resolves host and connects bev to the first of its addresses that
// accepts, trying each in order (libevent's bufferevent_socket_connect_hostname tries
// only the first). network is "tcp", "tcp4" or "tcp6"; host is a name or an IP address
// (IPv6 with or without brackets); port is 1 to 65535. The lookup runs with Go's
// resolver on a goroutine bounded by ctx while reading and writing are suspended; its
// result is handled on the loop. A failed lookup reaches the event callback as Error
// with a *DNSError; a failed connect as with Connect. Close, SetFD or another Connect
// cancels a lookup in progress.
//
// ConnectHostname returns an error only for unusable arguments or a closed bufferevent.
// Loop-confined unless bev is ThreadSafe; then the work starts on the loop.
func ConnectHostname(ctx context.Context, bev *bufferevent.BufferEvent, network, host string, port int) error {
	c, err := lookupConn(bev)
	if err != nil {
		return err
	}
	t, err := dialer.ParseTarget(network, host, port)
	if err != nil {
		return &net.OpError{Op: "dial", Net: network, Err: errors.Join(ErrAddress, err)}
	}
	return c.onLoopDo(func() error {
		c.startLookup(ctx, t)
		return nil
	})
}

// DNSErr returns the error of bev's last hostname lookup (a *DNSError), or nil
// (libevent's bufferevent_socket_get_dns_error). Loop-confined unless bev is ThreadSafe.
func DNSErr(bev *bufferevent.BufferEvent) error {
	c, err := lookupConn(bev)
	if err != nil {
		return nil
	}
	c.c.Lock()
	defer c.c.Unlock()
	return c.dial.Err()
}

// lookupNetIP resolves host names; tests replace it.
var lookupNetIP = net.DefaultResolver.LookupNetIP

// startLookup begins resolution with reading and writing suspended.
func (c *conn) startLookup(ctx context.Context, t dialer.Target) {
	c.cancelLookup()
	c.lastErr = nil
	c.connecting = true
	c.c.SuspendRead(backend.SuspendLookup)
	c.c.SuspendWrite(backend.SuspendLookup)
	c.dial.Lookup = lookupNetIP
	c.dial.Start(ctx, c.base, t, c.lookupDone)
}

// cancelLookup abandons a lookup in progress; its result is dropped when it arrives.
func (c *conn) cancelLookup() {
	if c.dial.Cancel() && c.c != nil {
		c.connecting = false
		if !c.dead {
			c.c.UnsuspendRead(backend.SuspendLookup)
			c.c.UnsuspendWrite(backend.SuspendLookup)
		}
	}
}

// lookupDone handles a lookup result on the loop (libevent's
// bufferevent_connect_getaddrinfo_cb).
func (c *conn) lookupDone(r dialer.Result) {
	if c.dead {
		return
	}
	c.c.Enter()
	defer c.c.Leave()
	if c.gone() || !c.dial.End(r) {
		return // cancelled
	}
	c.connecting = false
	c.c.UnsuspendWrite(backend.SuspendLookup)
	c.c.UnsuspendRead(backend.SuspendLookup)
	if c.gone() {
		return
	}
	if err := c.dial.Settle(r); err != nil {
		c.disableUser(backend.ReadWrite)
		c.c.TriggerEvent(backend.Error, err, 0)
		return
	}
	c.connectNext()
}

// connectNext starts a connect to the next address of a hostname connect, replacing a
// failed socket.
func (c *conn) connectNext() {
	ap, _ := c.dial.Next()
	if c.fd >= 0 && c.lastErr != nil {
		c.dropFailedSocket()
	}
	addr := net.TCPAddrFromAddrPort(ap)
	sa, err := sockaddrOf(addr)
	if err != nil {
		c.connAddr = addr
		c.connectFailedLater(err)
		return
	}
	c.connect(addr, sa)
}

// sockaddrOf converts a net.Addr for a stream connect.
func sockaddrOf(addr net.Addr) (sockaddr, error) {
	switch a := addr.(type) {
	case *net.TCPAddr:
		return tcpSockaddr(a)
	case *net.UnixAddr:
		return unixSockaddr(a)
	}
	switch addr.Network() {
	case "tcp", "tcp4", "tcp6":
		ta, err := net.ResolveTCPAddr(addr.Network(), addr.String())
		if err != nil {
			return nil, errors.Join(ErrAddress, err)
		}
		return tcpSockaddr(ta)
	case "unix":
		return unixSockaddr(addr)
	}
	return nil, errors.Join(ErrAddress, net.UnknownNetworkError(addr.Network()))
}

func tcpSockaddr(a *net.TCPAddr) (sockaddr, error) {
	if a.Port < 1 || a.Port > 65535 {
		return nil, errors.Join(ErrAddress, &net.AddrError{Err: "port out of range", Addr: a.String()})
	}
	if ip4 := a.IP.To4(); ip4 != nil {
		sa := &sockaddrInet4{Port: a.Port}
		copy(sa.Addr[:], ip4)
		return sa, nil
	}
	if len(a.IP) == net.IPv6len {
		sa := &sockaddrInet6{Port: a.Port}
		copy(sa.Addr[:], a.IP)
		if a.Zone != "" {
			if ifi, err := net.InterfaceByName(a.Zone); err == nil {
				sa.ZoneId = uint32(ifi.Index)
			}
		}
		return sa, nil
	}
	if a.IP == nil {
		return &sockaddrInet4{Port: a.Port, Addr: [4]byte{127, 0, 0, 1}}, nil
	}
	return nil, errors.Join(ErrAddress, &net.AddrError{Err: "bad IP", Addr: a.String()})
}
