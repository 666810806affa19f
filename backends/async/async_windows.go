//go:build windows

package async

import (
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
		c.attach(core, base, fd, own)
		c.readCb, c.writeCb, c.connCb = c.readDone, c.writeDone, c.connectDone
		return c, nil
	})
	if err != nil {
		return nil, err
	}
	register(bev, c)
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

func (c *conn) port() *iocp.Port { return c.bp.p }

func (c *conn) gone() bool { return c.dead || c.c.Closed() }

func (c *conn) sock() windows.Handle { return windows.Handle(c.fd) }

func (c *conn) pendingOut() int { return c.c.Output().Len() }

// Sockets are windows.Handle values (as ints in conn.fd); conn_common.go names their
// address types through these aliases.
type (
	sockaddr      = windows.Sockaddr
	sockaddrInet4 = windows.SockaddrInet4
	sockaddrInet6 = windows.SockaddrInet6
)

func getsockname(fd int) (sockaddr, error) { return windows.Getsockname(windows.Handle(fd)) }
func getpeername(fd int) (sockaddr, error) { return windows.Getpeername(windows.Handle(fd)) }

// otherNetAddr converts what netAddr does not know: nothing on Windows (TCP only).
func otherNetAddr(windows.Sockaddr) net.Addr { return nil }

// stopIO is disableUser's backend step: nothing on Windows, where the core's Disable
// (called by BufferEvent.Disable) cancels the operations in flight.
func (c *conn) stopIO(backend.Direction) {}

func (c *conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Addr: c.peer, Err: err}
}

// ---- reading ----

func (c *conn) startRead() {
	if c.reading || c.fd < 0 || c.connecting || c.gone() || !c.c.Active(backend.Read) {
		return
	}
	n := c.readBudget()
	if n <= 0 {
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
		if !c.readArrived() {
			return
		}
		c.startRead()
	default:
		c.fail(backend.Read, backend.Reading|backend.EOF, io.EOF)
		c.c.SettleRead(reserved, 0) // after fail: reading is off, the refund starts nothing
	}
}

// stopReady does nothing on Windows: IOCP has no readiness receives (the Linux
// backend's rings with few connections receive by readiness; ready_linux.go).
func (c *conn) stopReady() {}

// cancelRead cancels the receive in flight, if any.
func (c *conn) cancelRead() {
	if c.reading {
		_ = c.port().CancelOp(c.rop)
	}
}

// ---- writing ----

// wantWrite starts a send of the pending output (unless one is in flight) and rearms
// the write timeout.
func (c *conn) wantWrite() {
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
		// readBudget.
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

// cancelWrite cancels the send in flight, if any.
func (c *conn) cancelWrite() {
	if c.writing {
		_ = c.port().CancelOp(c.wop)
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

// ---- backend.Ops ----

// shutdownWrite shuts the socket's write side down (Flush(Write, Finished), halfclose.go).
func (c *conn) shutdownWrite() error {
	if err := windows.Shutdown(c.sock(), windows.SHUT_WR); err != nil {
		return c.opError("shutdown", os.NewSyscallError("shutdown", err))
	}
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
	c.freeTimers()
	c.c.Output().RemoveCallback(c.outCb)
	c.resetHalfClose()
	c.unregister()
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

// SetFD implements backend.SetFD: operations on the old socket are canceled and the
// enabled directions start on the new one. The old socket is closed if it belongs to the
// bufferevent (created by a connect: nobody else can close it); one the caller handed
// over stays the caller's.
func (c *conn) SetFD(fd int) error {
	if fd >= 0 {
		if err := c.port().Associate(windows.Handle(fd)); err != nil {
			return err
		}
	}
	c.cancelLookup()
	c.resetHalfClose()
	old, own := c.fd, c.ownFD
	if c.fd >= 0 {
		_ = c.port().Cancel(c.sock())
		c.port().Forget(c.sock())
	}
	c.useFD(fd)
	if own && old >= 0 && old != fd {
		// Overlapped operations still in flight complete (aborted) after this, as in
		// Close; the port keeps their memory until then.
		_ = windows.Closesocket(windows.Handle(old))
	}
	return nil
}

// ---- connect ----

// canWaitConnect refuses Connect with addr nil: there is no readiness to wait for a
// connect started elsewhere.
func (c *conn) canWaitConnect() error { return ErrNoAddress }

// unixSockaddr refuses a Unix socket's address: TCP only on Windows.
func unixSockaddr(addr net.Addr) (sockaddr, error) {
	return nil, errors.Join(ErrAddress, net.UnknownNetworkError(addr.Network()))
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
	c.connected()
}

func (c *conn) abortConnect() {
	c.connecting = false
	if c.cop != nil {
		_ = c.port().CancelOp(c.cop)
	}
}

func (c *conn) dialError(err error) error { return dialer.DialError(c.connAddr, err) }

// dropFailedSocket gives up the socket of a failed connect before a hostname connect
// tries its next address (closed if it is ours).
func (c *conn) dropFailedSocket() {
	old, own := c.sock(), c.ownFD
	c.port().Forget(old)
	c.fd, c.ownFD = -1, false
	if own || c.c.Options()&bufferevent.CloseOnFree != 0 {
		_ = windows.Closesocket(old)
	}
}
