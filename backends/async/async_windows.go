//go:build windows

package async

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"

	"github.com/bufev/bufev/backends/async/internal/iocp"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/backend"
	"github.com/bufev/bufev/bufferevent/backend/dialer"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
	"golang.org/x/sys/windows"
)

const maxSendVecs = 64

// Available reports whether async bufferevents can be created here: on Windows they
// use an I/O completion port per base, available on every supported version. Safe for
// concurrent use.
func Available() error { return nil }

// ports shares one completion port per base between its bufferevents and listeners.
var ports = struct {
	sync.Mutex
	m map[*eventbase.Base]*basePort
}{m: make(map[*eventbase.Base]*basePort)}

type basePort struct {
	base *eventbase.Base
	p    *iocp.Port
	refs int
}

func acquirePort(base *eventbase.Base) (*basePort, error) {
	ports.Lock()
	defer ports.Unlock()
	if bp := ports.m[base]; bp != nil {
		bp.refs++
		return bp, nil
	}
	bp := &basePort{base: base, refs: 1}
	p, err := iocp.New(base, bp.orphaned)
	if err != nil {
		return nil, err
	}
	bp.p = p
	ports.m[base] = bp
	return bp, nil
}

// orphaned runs on the port's goroutine when base was closed with operations in flight
// and the port released itself: a new bufferevent on base (there should be none) would
// get a new port.
func (bp *basePort) orphaned() {
	ports.Lock()
	if ports.m[bp.base] == bp {
		delete(ports.m, bp.base)
	}
	ports.Unlock()
}

// release drops a reference; the last one closes the port (canceling what is still in
// flight and waiting for the system to let go of it).
func (bp *basePort) release() {
	ports.Lock()
	bp.refs--
	last := bp.refs == 0
	if last && ports.m[bp.base] == bp {
		delete(ports.m, bp.base)
	}
	ports.Unlock()
	if last {
		_ = bp.p.Close()
	}
}

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

// New creates an async bufferevent on the connected stream socket fd (a SOCKET handle
// created with WSA_FLAG_OVERLAPPED, as socket() does; libevent's bufferevent_async_new);
// fd may be -1 (then Connect or ConnectHostname gives it one, or BufferEvent.SetFD). The
// socket is associated with the base's completion port, so it must not belong to
// another port already: a socket taken from Go's net package (associated with the
// runtime's port) is refused with an error; use one from windows.WSASocket, or from an
// async Listener. It stays the caller's unless opts has bufferevent.CloseOnFree. Reads and writes are overlapped WSARecv and WSASend
// whose completions run on the loop goroutine; see the package documentation.
//
// Loop-confined: call it on the base's loop goroutine or while the loop is not running.
// The new bufferevent is loop-confined unless opts has ThreadSafe.
func New(base *eventbase.Base, fd int, opts bufferevent.Options) (*bufferevent.BufferEvent, error) {
	if base == nil {
		return nil, bufferevent.ErrNilBase
	}
	return newConn(base, fd, false, opts)
}

func newConn(base *eventbase.Base, fd int, own bool, opts bufferevent.Options) (*bufferevent.BufferEvent, error) {
	c := &conn{fd: -1, rsize: minReadSize}
	bev, err := bufferevent.New(base, bufferevent.Config{Type: TypeName, Options: opts}, func(core backend.Core) (backend.Ops, error) {
		bp, err := acquirePort(base)
		if err != nil {
			return nil, err
		}
		c.bp = bp
		if fd >= 0 {
			if err := bp.p.Associate(windows.Handle(fd)); err != nil {
				bp.release()
				c.bp = nil
				return nil, err
			}
		}
		c.c = core
		c.base = base
		c.bev = core.Handle().(*bufferevent.BufferEvent)
		c.kickFn = c.kick
		c.fd = fd
		c.ownFD = own
		c.outCb = core.Output().AddCallback(c.onOutput)
		c.readCb, c.writeCb, c.connCb = c.readDone, c.writeDone, c.connectDone
		return c, nil
	})
	if err != nil {
		return nil, err
	}
	conns.Lock()
	conns.m[bev] = c
	conns.Unlock()
	return bev, nil
}

// conn is the IOCP backend of one bufferevent. Fields are loop-owned and, for
// ThreadSafe bufferevents, guarded by the core lock.
type conn struct {
	bp   *basePort
	c    backend.Core
	base *eventbase.Base
	bev  *bufferevent.BufferEvent

	fd    int
	ownFD bool
	peer  net.Addr

	outCb      *evbuffer.Callback
	kickFn     func()
	kickQueued bool
	half       *backend.WriteShutdown // write-side shutdown asked for by Flush(Write, Finished) (halfclose.go)

	readCb, writeCb func(int, error)
	connCb          func(error)

	// Reads land in space pinned at the end of the input (evbuffer.PinRead), which
	// nothing frees, moves or realigns while the system writes into it; CommitRead
	// credits the bytes on completion.
	rvec    [1][]byte
	rsize   int
	rres    int // bytes of the receive in flight charged to the rate limits
	rop     *iocp.Op
	ropv    iocp.Op // reused by every receive (conn is heap memory: it never moves)
	rwant   bool    // the receive in flight is still wanted (not canceled by Disable)
	missed  bool
	reading bool

	// Sends go straight from the output's front chains, pinned (evbuffer.PinWrite)
	// until the completion drains what was sent; the bytes in flight stay in the
	// output, as in libevent.
	wvecs   [maxSendVecs][]byte
	wres    int // bytes of the send in flight charged to the rate limits
	wop     *iocp.Op
	wopv    iocp.Op // reused by every send
	writing bool

	connecting bool
	cop        *iocp.Op
	connAddr   net.Addr
	dial       dialer.Dialer // hostname connect: lookup, addresses left to try, DNS error
	lastErr    error

	rtimer, wtimer *eventbase.Event

	nOps    int
	dead    bool
	closing bool // inside Ops.Close (the core's lock is held)
	freed   bool
}

var (
	_ backend.Ops       = (*conn)(nil)
	_ backend.FD        = (*conn)(nil)
	_ backend.SetFD     = (*conn)(nil)
	_ backend.CancelAll = (*conn)(nil)
	_ backend.Addresser = (*conn)(nil)
)

func (c *conn) port() *iocp.Port { return c.bp.p }

func (c *conn) gone() bool { return c.dead || c.c.Closed() }

func (c *conn) sock() windows.Handle { return windows.Handle(c.fd) }

func (c *conn) pendingOut() int { return c.c.Output().Len() }

func (c *conn) disableUser(dir backend.Direction) {
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

func (c *conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Addr: c.peer, Err: err}
}

// ---- reading ----

func (c *conn) startRead() {
	if c.reading || c.fd < 0 || c.connecting || c.gone() || !c.c.Active(backend.Read) {
		return
	}
	room := c.c.InputRoom()
	if room == 0 {
		c.c.SuspendRead(backend.SuspendWatermark)
		return
	}
	n := min(c.c.MaxToRead(), c.rsize)
	if n <= 0 {
		// With room in the input and no suspension, only a rate-limit group can allow
		// nothing: it is suspended and this member's notification is still queued.
		// Suspend now, as libevent's get_read_max does, so that the group's resumption
		// (or that notification) starts the next receive; a receive that completes
		// while the group is suspended would otherwise leave nothing to restart it.
		c.c.SuspendRead(backend.SuspendGroup)
		return
	}
	in := c.c.Input()
	in.Unfreeze(false)
	_, perr := in.PinRead(n, c.rvec[:])
	in.Freeze(false)
	if perr != nil {
		c.fail(backend.Read, backend.Reading|backend.Error, perr)
		return
	}
	op, err := c.port().RecvOp(&c.ropv, c.sock(), c.rvec[:], c.readCb)
	if err != nil {
		c.rvec[0] = nil
		_ = in.CommitRead(0)
		c.fail(backend.Read, backend.Reading|backend.Error, c.opError("read", err))
		return
	}
	c.rop, c.reading, c.rwant = op, true, true
	c.nOps++
	// Reserve the whole receive against the rate limits now, as libevent does; the
	// completion refunds what did not arrive.
	c.rres = n
	c.c.ReserveRead(n)
}

func (c *conn) readDone(n int, err error) {
	c.nOps--
	c.reading, c.rop = false, nil
	p := c.rvec[0]
	c.rvec[0] = nil
	if c.dead {
		// Unpin: the system is done with the memory.
		c.lockDead()
		_ = c.c.Input().CommitRead(0)
		c.unlockDead()
		c.maybeForget()
		return
	}
	c.c.Enter()
	defer c.c.Leave()
	if c.dead {
		_ = c.c.Input().CommitRead(0)
		return
	}
	reserved, got := c.rres, max(n, 0)
	c.rres = 0
	if cerr := c.c.Input().CommitRead(got); cerr != nil {
		// The system reported more than it was given.
		_ = c.c.Input().CommitRead(0)
		c.fail(backend.Read, backend.Reading|backend.Error, cerr)
		c.c.SettleRead(reserved, 0)
		return
	}
	switch {
	case err != nil:
		if errors.Is(err, iocp.ErrCanceled) || errors.Is(err, iocp.ErrClosed) {
			c.c.SettleRead(reserved, got)
			if errors.Is(err, iocp.ErrCanceled) {
				c.startRead() // canceled by Disable: start again if wanted after all
			}
			return
		}
		c.fail(backend.Read, backend.Reading|backend.Error, c.opError("read", err))
		c.c.SettleRead(reserved, got)
	case n > 0:
		c.rsize = nextReadSize(c.rsize, n, len(p))
		c.c.SettleRead(reserved, got)
		if c.gone() {
			return
		}
		if c.c.Enabled()&backend.Read == 0 {
			c.missed = true
			return
		}
		c.resetReadTimer()
		c.c.TriggerRead(0)
		if c.gone() {
			return
		}
		c.startRead()
	default:
		c.fail(backend.Read, backend.Reading|backend.EOF, io.EOF)
		c.c.SettleRead(reserved, 0) // after fail: reading is off, the refund starts nothing
	}
}

// ---- writing ----

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
	c.startWrite()
	c.resetWriteTimer()
}

func (c *conn) kick() {
	c.kickQueued = false
	c.startWrite()
	c.resetWriteTimer()
}

func (c *conn) startWrite() {
	if c.writing || c.fd < 0 || c.connecting || c.gone() || !c.c.Active(backend.Write) {
		return
	}
	limit := c.c.MaxToWrite()
	if limit <= 0 {
		// Only a suspended rate-limit group allows nothing to an active direction: see
		// startRead.
		c.c.SuspendWrite(backend.SuspendGroup)
		return
	}
	out := c.c.Output()
	out.Unfreeze(true)
	k, perr := out.PinWrite(limit, c.wvecs[:])
	out.Freeze(true)
	if perr != nil {
		c.fail(backend.Write, backend.Writing|backend.Error, perr)
		return
	}
	if k == 0 {
		return
	}
	size := 0
	for _, v := range c.wvecs[:k] {
		size += len(v)
	}
	op, err := c.port().SendOp(&c.wopv, c.sock(), c.wvecs[:k], c.writeCb)
	if err != nil {
		clear(c.wvecs[:k])
		_ = out.CommitWrite(0)
		c.fail(backend.Write, backend.Writing|backend.Error, c.opError("write", err))
		return
	}
	c.wop, c.writing = op, true
	c.nOps++
	// Reserve the whole send now; the completion refunds what was not sent.
	c.wres = size
	c.c.ReserveWrite(size)
}

func (c *conn) writeDone(n int, err error) {
	c.nOps--
	c.writing, c.wop = false, nil
	clear(c.wvecs[:])
	if c.dead {
		c.lockDead()
		_ = c.c.Output().CommitWrite(0) // unpin: the system is done with the memory
		c.unlockDead()
		c.maybeForget()
		return
	}
	c.c.Enter()
	defer c.c.Leave()
	if c.dead {
		_ = c.c.Output().CommitWrite(0)
		return
	}
	reserved, sent := c.wres, max(n, 0)
	c.wres = 0
	if cerr := c.c.Output().CommitWrite(sent); cerr != nil {
		// The system reported more than it was given.
		_ = c.c.Output().CommitWrite(0)
		c.fail(backend.Write, backend.Writing|backend.Error, cerr)
		c.c.SettleWrite(reserved, 0)
		return
	}
	if err == nil && n > 0 {
		c.c.SettleWrite(reserved, sent)
		if c.gone() {
			return
		}
	}
	switch {
	case err != nil:
		if errors.Is(err, iocp.ErrCanceled) {
			c.c.SettleWrite(reserved, sent)
			c.startWrite()
			return
		}
		if errors.Is(err, iocp.ErrClosed) {
			c.c.SettleWrite(reserved, sent)
			return
		}
		c.fail(backend.Write, backend.Writing|backend.Error, c.opError("write", err))
		c.c.SettleWrite(reserved, sent)
	case n > 0:
		c.resetWriteTimer()
		c.c.TriggerWrite(0)
		if c.gone() {
			return
		}
		if c.pendingOut() > 0 {
			c.startWrite()
		}
	default:
		c.fail(backend.Write, backend.Writing|backend.EOF, io.EOF)
		c.c.SettleWrite(reserved, 0)
	}
}

// maybeForget gives the port back once the system has finished with a closed
// connection's operations.
func (c *conn) maybeForget() {
	if !c.dead || c.nOps > 0 || c.freed {
		return
	}
	c.freed = true
	c.bp.release()
}

// lockDead and unlockDead guard a closed connection's buffers in a late completion;
// inside Close the core's lock is held already.
func (c *conn) lockDead() {
	if !c.closing {
		c.c.Lock()
	}
}

func (c *conn) unlockDead() {
	if !c.closing {
		c.c.Unlock()
	}
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

// ---- backend.Ops ----

// Enable implements backend.Ops.
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
			c.startWrite()
		}
		c.resetWriteTimer()
	}
	return nil
}

// Disable implements backend.Ops: stop the timers and, when the user disabled dir,
// cancel the operation in flight (its completion may still bring data, which is kept).
func (c *conn) Disable(dir backend.Direction) error {
	// A suspension (watermark, rate limit) lets the operation in flight complete: it was
	// sized within the input room and the allowance, and its size is charged already.
	// Only the user's Disable cancels it.
	user := c.c.Enabled()
	if dir&backend.Read != 0 {
		if c.rtimer != nil {
			_ = c.rtimer.Del()
		}
		if c.reading && user&backend.Read == 0 {
			_ = c.port().CancelOp(c.rop)
		}
	}
	if dir&backend.Write != 0 && !c.connecting {
		if c.wtimer != nil {
			_ = c.wtimer.Del()
		}
		if c.writing && user&backend.Write == 0 {
			_ = c.port().CancelOp(c.wop)
		}
	}
	return nil
}

// Flush implements backend.Ops; output is handed to the system as soon as it is added.
// Finished on the write side shuts the socket's write side down once the output is sent
// (halfclose.go), as the socket backend does (libevent does nothing).
func (c *conn) Flush(dir backend.Direction, mode backend.FlushMode) (bool, error) {
	if mode == backend.Finished && dir&backend.Write != 0 && !c.dead {
		if err := c.finishWrite(); err != nil {
			return false, err
		}
	}
	return false, nil
}

// shutdownWrite shuts the socket's write side down (Flush(Write, Finished), halfclose.go).
func (c *conn) shutdownWrite() error {
	if err := windows.Shutdown(c.sock(), windows.SHUT_WR); err != nil {
		return c.opError("shutdown", os.NewSyscallError("shutdown", err))
	}
	return nil
}

// AdjustTimeouts implements backend.Ops.
func (c *conn) AdjustTimeouts() error {
	c.resetReadTimer()
	c.resetWriteTimer()
	return nil
}

// CancelAll implements backend.CancelAll: Close cancels every operation in flight.
func (c *conn) CancelAll() {
	c.cancelLookup()
	if c.fd >= 0 {
		_ = c.port().Cancel(c.sock())
	}
	c.connecting = false
}

// Close implements backend.Ops: cancel what is in flight, close the socket if it is
// ours, and unpin the buffers and release the port once the last completion is in.
func (c *conn) Close() error {
	c.closing = true
	defer func() { c.closing = false }()
	c.CancelAll()
	c.dead = true
	if c.rtimer != nil {
		c.rtimer.Free()
		c.wtimer.Free()
		c.rtimer, c.wtimer = nil, nil
	}
	c.c.Output().RemoveCallback(c.outCb)
	c.resetHalfClose()
	conns.Lock()
	delete(conns.m, c.bev)
	conns.Unlock()
	var err error
	if c.fd >= 0 {
		c.port().Forget(c.sock())
		if c.ownFD || c.c.Options()&bufferevent.CloseOnFree != 0 {
			// Overlapped operations still in flight complete (aborted) after this; the
			// port keeps their memory until then.
			if e := windows.Closesocket(c.sock()); e != nil {
				err = os.NewSyscallError("closesocket", e)
			}
		}
	}
	c.fd = -1
	c.maybeForget()
	return err
}

// FD implements backend.FD: the SOCKET handle as an int, or -1.
func (c *conn) FD() int { return c.fd }

// SetFD implements backend.SetFD: operations on the old socket are canceled (it is not
// closed) and the enabled directions start on the new one.
func (c *conn) SetFD(fd int) error {
	if fd >= 0 {
		if err := c.port().Associate(windows.Handle(fd)); err != nil {
			return err
		}
	}
	c.cancelLookup()
	c.resetHalfClose()
	if c.fd >= 0 {
		_ = c.port().Cancel(c.sock())
		c.port().Forget(c.sock())
	}
	c.connecting = false
	c.fd = fd
	c.ownFD = false
	c.peer = nil
	if fd >= 0 {
		_ = c.Enable(c.c.Enabled() & c.activeDirs())
	}
	return nil
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
	sa, err := windows.Getsockname(c.sock())
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
	sa, err := windows.Getpeername(c.sock())
	if err != nil {
		return nil
	}
	c.peer = netAddr(sa)
	return c.peer
}

func netAddr(sa windows.Sockaddr) net.Addr {
	switch a := sa.(type) {
	case *windows.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]).To16(), Port: a.Port}
	case *windows.SockaddrInet6:
		addr := &net.TCPAddr{IP: append(net.IP(nil), a.Addr[:]...), Port: a.Port}
		if a.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(a.ZoneId)); err == nil {
				addr.Zone = ifi.Name
			}
		}
		return addr
	}
	return nil
}

// ---- connect ----

// Connect starts a connect of bev to addr (a *net.TCPAddr, or any net.Addr whose
// Network is tcp, tcp4 or tcp6) with ConnectEx (libevent's IOCP path). If bev has no
// socket, one is created for addr's family; it belongs to bev and is closed by Close.
// Connect with addr nil is not supported on Windows (no readiness to wait for): it
// returns ErrNoAddress.
//
// Connect returns an error only for unusable arguments or a closed bufferevent; a
// refused or unreachable connect reaches the event callback later as Error with a
// *net.OpError, and success as Connected. Output written before the connect completes
// is sent once it does.
//
// Loop-confined unless bev is ThreadSafe; then the connect starts on the loop.
func Connect(bev *bufferevent.BufferEvent, addr net.Addr) error {
	c, err := lookupConn(bev)
	if err != nil {
		return err
	}
	if addr == nil {
		return ErrNoAddress
	}
	sa, err := sockaddrOf(addr)
	if err != nil {
		return &net.OpError{Op: "dial", Net: addr.Network(), Addr: addr, Err: err}
	}
	return c.onLoopDo(func() error {
		c.cancelLookup()
		c.dial.Discard()
		c.connect(addr, sa)
		return nil
	})
}

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

func (c *conn) connect(addr net.Addr, sa windows.Sockaddr) {
	c.connAddr = addr
	c.lastErr = nil
	if c.fd < 0 {
		family := int32(windows.AF_INET)
		if _, ok := sa.(*windows.SockaddrInet6); ok {
			family = windows.AF_INET6
		}
		s, err := windows.WSASocket(family, windows.SOCK_STREAM, windows.IPPROTO_TCP, nil, 0,
			windows.WSA_FLAG_OVERLAPPED|windows.WSA_FLAG_NO_HANDLE_INHERIT)
		if err != nil {
			c.connectFailedLater(os.NewSyscallError("WSASocket", err))
			return
		}
		if err := c.port().Associate(s); err != nil {
			windows.Closesocket(s)
			c.connectFailedLater(err)
			return
		}
		c.fd, c.ownFD = int(s), true
	}
	c.connecting = true
	op, err := c.port().Connect(c.sock(), sa, c.connCb)
	if err != nil {
		c.connecting = false
		c.connectFailedLater(err)
		return
	}
	c.cop = op
	c.nOps++
	c.resetWriteTimer()
}

func (c *conn) connectDone(err error) {
	c.nOps--
	c.cop = nil
	if c.dead {
		c.maybeForget()
		return
	}
	c.c.Enter()
	defer c.c.Leave()
	if c.dead || !c.connecting {
		return // aborted (timeout, SetFD, another Connect)
	}
	c.connecting = false
	if err != nil {
		if errors.Is(err, iocp.ErrClosed) {
			return
		}
		c.connectFailed(err)
		return
	}
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

func (c *conn) abortConnect() {
	c.connecting = false
	if c.cop != nil {
		_ = c.port().CancelOp(c.cop)
	}
}

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

func (c *conn) dialError(err error) error { return dialer.DialError(c.connAddr, err) }

// ---- hostname connect ----

// ConnectHostname resolves host and connects bev to the first of its addresses that
// accepts, trying each in order. network is "tcp", "tcp4" or "tcp6"; host is a name or
// an IP address (IPv6 with or without brackets); port is 1 to 65535. The lookup runs
// with Go's resolver on a goroutine bounded by ctx while reading and writing are
// suspended; its result is handled on the loop. A failed lookup reaches the event
// callback as Error with a *DNSError; a failed connect as with Connect.
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

// DNSErr returns the error of bev's last hostname lookup (a *DNSError), or nil.
// Loop-confined unless bev is ThreadSafe.
func DNSErr(bev *bufferevent.BufferEvent) error {
	c, err := lookupConn(bev)
	if err != nil {
		return nil
	}
	c.c.Lock()
	defer c.c.Unlock()
	return c.dial.Err()
}

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

func (c *conn) connectNext() {
	ap, _ := c.dial.Next()
	if c.fd >= 0 && c.lastErr != nil {
		old, own := c.sock(), c.ownFD
		c.port().Forget(old)
		c.fd, c.ownFD = -1, false
		if own || c.c.Options()&bufferevent.CloseOnFree != 0 {
			_ = windows.Closesocket(old)
		}
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

func sockaddrOf(addr net.Addr) (windows.Sockaddr, error) {
	switch a := addr.(type) {
	case *net.TCPAddr:
		return tcpSockaddr(a)
	}
	switch addr.Network() {
	case "tcp", "tcp4", "tcp6":
		ta, err := net.ResolveTCPAddr(addr.Network(), addr.String())
		if err != nil {
			return nil, errors.Join(ErrAddress, err)
		}
		return tcpSockaddr(ta)
	}
	return nil, errors.Join(ErrAddress, net.UnknownNetworkError(addr.Network()))
}

func tcpSockaddr(a *net.TCPAddr) (windows.Sockaddr, error) {
	if a.Port < 1 || a.Port > 65535 {
		return nil, errors.Join(ErrAddress, &net.AddrError{Err: "port out of range", Addr: a.String()})
	}
	if ip4 := a.IP.To4(); ip4 != nil {
		sa := &windows.SockaddrInet4{Port: a.Port}
		copy(sa.Addr[:], ip4)
		return sa, nil
	}
	if len(a.IP) == net.IPv6len {
		sa := &windows.SockaddrInet6{Port: a.Port}
		copy(sa.Addr[:], a.IP)
		if a.Zone != "" {
			if ifi, err := net.InterfaceByName(a.Zone); err == nil {
				sa.ZoneId = uint32(ifi.Index)
			}
		}
		return sa, nil
	}
	if a.IP == nil {
		return &windows.SockaddrInet4{Port: a.Port, Addr: [4]byte{127, 0, 0, 1}}, nil
	}
	return nil, errors.Join(ErrAddress, &net.AddrError{Err: "bad IP", Addr: a.String()})
}
