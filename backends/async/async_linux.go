//go:build linux

package async

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/bufev/bufev/backends/async/internal/uring"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/backend"
	"github.com/bufev/bufev/bufferevent/backend/dialer"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
	"golang.org/x/sys/unix"
)

const (
	// maxSendVecs bounds the extents of one gathering send.
	maxSendVecs = 64
)

// pollFirst: the kernel knows IORING_RECVSEND_POLL_FIRST (Linux 5.19, the release of
// IORING_OP_SOCKET).
var pollFirst = uring.OpSupported(uring.OpSocket)

// New creates an async bufferevent on the connected stream socket fd (libevent's
// bufferevent_async_new); fd may be -1 (then Connect or ConnectHostname gives it one, or
// BufferEvent.SetFD). The descriptor is made non-blocking; it stays the caller's unless
// opts has bufferevent.CloseOnFree. Reads and writes are io_uring operations on the
// base's ring, submitted once per loop turn; see the package documentation.
//
// When io_uring is unavailable New returns an error matching errors.ErrUnsupported;
// Available says so in advance.
//
// Loop-confined: call it on the base's loop goroutine or while the loop is not running.
// The new bufferevent is loop-confined unless opts has ThreadSafe.
func New(base *eventbase.Base, fd int, opts bufferevent.Options) (*bufferevent.BufferEvent, error) {
	if base == nil {
		return nil, bufferevent.ErrNilBase
	}
	if err := Available(); err != nil {
		return nil, err
	}
	if fd >= 0 {
		if err := unix.SetNonblock(fd, true); err != nil {
			return nil, os.NewSyscallError("fcntl", err)
		}
	}
	return newConn(base, fd, false, opts)
}

func newConn(base *eventbase.Base, fd int, own bool, opts bufferevent.Options) (*bufferevent.BufferEvent, error) {
	c := &conn{fd: -1, closeFD: -1, rsize: minReadSize, msEnd: msNone, revFD: -1}
	c.readFn = c.readFD
	bev, err := bufferevent.New(base, bufferevent.Config{Type: TypeName, Options: opts}, func(core backend.Core) (backend.Ops, error) {
		lr, err := acquireRing(base)
		if err != nil {
			return nil, err
		}
		c.lr = lr
		c.id = lr.newID(c)
		c.rdy = lr.ready
		c.attach(core, base, fd, own)
		// Every descriptor the backend writes to directly is non-blocking (New, SetFD
		// and Connect make sure of it), so a direct send's write(2) is a raw system
		// call, as the socket backend's writes are (see "Raw direct sends" in doc.go).
		core.Output().SetFlags(evbuffer.FlagNonblockingFD)
		return c, nil
	})
	if err != nil {
		if c.lr != nil {
			c.lr.forget(c.id)
			c.lr.release()
		}
		return nil, err
	}
	register(bev, c)
	c.lr.addConns(1)
	return bev, nil
}

// conn is the async backend of one bufferevent. Fields are loop-owned and, for
// ThreadSafe bufferevents, guarded by the core lock (except inside complete before
// Enter, which touches only the in-flight bookkeeping, loop-confined).
type conn struct {
	// Touched by every message (completion, read callback, output change, flush):
	// kept together at the front, so that with thousands of connections a message
	// costs as few cache misses in the conn as possible.
	lr         *loopRing
	c          backend.Core
	id         uint64
	fd         int
	nOps       int  // operations in flight
	dirty      bool // queued on lr.dirty
	reading    bool // a receive is in flight
	writing    bool // a send is in flight
	ms         bool // the receive in flight is a multishot receive
	msOff      bool // the next receive is a PinRead receive (the pool ran dry)
	bulk       bool // data comes faster than pool buffers hold: PinRead receives
	delivering bool // inside deliver
	dead       bool // Ops.Close ran
	connecting bool // a connect is in progress (op in flight or lookup)
	// readLater: a bulk receive's bytes went to the output (an echo, a proxy) and a
	// send of them is prepared this turn: the next receive waits for that send, so
	// that it lands in the chain the send frees (see "Streaming memory" in doc.go).
	readLater  bool
	readQueued bool        // on lr.readQ
	drained    bool        // the last receive got less than it asked: the socket is empty
	missed     bool        // data arrived while reading was disabled
	rdy        bool        // receive by readiness (ready_linux.go), not by ring receives
	revOn      bool        // rev is pending
	rc, wc     cancelState // cancellation of the receive and of the send in flight
	msEnd      int32       // end of stream (0) or -errno waiting behind pend, or msNone
	pend       []pendBuf   // received buffers not yet (wholly) in the input
	rsize      int
	rres       int // bytes of the receive in flight charged to the rate limits
	wres       int // bytes of the send in flight charged to the rate limits

	// Multishot receives (see loopRing.bufRing): one receive stays armed and completes
	// once per chunk of data, in a buffer of the base's pool; the bytes are copied into
	// the input (up to MaxToRead, so watermarks and rate limits hold as on the socket
	// backend) and the buffer is given back at once. What cannot go into the input yet
	// (reading suspended or disabled) waits in pend, and the receive is cancelled until
	// reading resumes: at most what the socket held before the cancellation took effect.
	// (Fields above: ms, msOff, bulk, msEnd, delivering, pend.)

	// Reads land in space pinned at the end of the input (evbuffer.PinRead): its
	// chains cannot be freed, moved or realigned while the kernel writes into them,
	// and CommitRead credits the bytes on completion.
	rvec [1][]byte

	rtimer, wtimer *eventbase.Event // libevent's generic timeouts, with in-flight output counted as pending

	// Receiving by readiness (ready_linux.go): a persistent Read event on revFD, and
	// c.readFD as a method value, made once.
	rev    *eventbase.Event
	revFD  int
	readFn func([]byte) (int, error)

	base       *eventbase.Base
	bev        *bufferevent.BufferEvent
	ownFD      bool
	kickQueued bool
	closing    bool                   // inside Ops.Close (the core's lock is held)
	freed      bool                   // the ring forgot us
	closeFD    int                    // descriptor whose close operation is queued (Close), or -1
	half       *backend.WriteShutdown // write-side shutdown asked for by Flush(Write, Finished) (halfclose.go)
	peer       net.Addr
	outCb      *evbuffer.Callback
	kickFn     func()

	// connect
	connOp   bool             // the connect operation is in flight
	connEv   *eventbase.Event // waits for a connect started elsewhere (Connect with nil)
	cc       cancelState
	connAddr net.Addr
	dial     dialer.Dialer // hostname connect: lookup, addresses left to try, DNS error
	lastErr  error

	// Sends go straight from the output's front chains, pinned (evbuffer.PinWrite)
	// until the completion drains what was sent (CommitWrite); the bytes in flight stay
	// in the output, as in libevent. Last: a send fills only the first entries.
	wvecs [maxSendVecs][]byte
}

// ---- helpers ----

func (c *conn) gone() bool { return c.dead || c.c.Closed() || c.lr.closed }

// pendingOut is the output not yet acknowledged by the kernel (in-flight bytes stay
// in the output until their completion).
func (c *conn) pendingOut() int { return c.c.Output().Len() }

func (c *conn) ud(kind int) uint64 { return c.id<<kindBits | uint64(kind) }

// conn_common.go names the socket address types through these aliases.
type (
	sockaddr      = unix.Sockaddr
	sockaddrInet4 = unix.SockaddrInet4
	sockaddrInet6 = unix.SockaddrInet6
)

func getsockname(fd int) (sockaddr, error) { return unix.Getsockname(fd) }
func getpeername(fd int) (sockaddr, error) { return unix.Getpeername(fd) }

// otherNetAddr converts what netAddr does not know: a Unix socket's address.
func otherNetAddr(sa unix.Sockaddr) net.Addr {
	if a, ok := sa.(*unix.SockaddrUnix); ok {
		return &net.UnixAddr{Name: a.Name, Net: "unix"}
	}
	return nil
}

// stopIO is disableUser's backend step: stop the timers and cancel the operations in
// flight in dir before the core's Disable.
func (c *conn) stopIO(dir backend.Direction) {
	c.Disable(dir)
	if dir&backend.Read != 0 {
		c.cancelRead()
	}
	if dir&backend.Write != 0 && !c.connecting {
		c.cancelWrite()
	}
}

func (c *conn) opError(op string, errno syscall.Errno) error {
	netw := "tcp"
	if c.peer != nil {
		netw = c.peer.Network()
	}
	return &net.OpError{Op: op, Net: netw, Addr: c.peer, Err: os.NewSyscallError(op, errno)}
}

// ---- reading ----

// pendBuf is a provided buffer holding received bytes [off, n) not yet in the input.
type pendBuf struct {
	id     uint16
	off, n int
}

// msNone: no end of stream or error waits behind the pending buffers.
const msNone = 1

// startRead prepares a receive into space pinned at the end of the input if reading is
// active and none is in flight.
func (c *conn) startRead() {
	c.readLater = false
	if c.reading || c.fd < 0 || c.connecting || c.gone() || !c.c.Active(backend.Read) {
		return
	}
	if len(c.pend) > 0 || c.msEnd != msNone {
		if c.delivering {
			return
		}
		c.deliver(backend.TriggerDefer)
		if c.reading || len(c.pend) > 0 || c.msEnd != msNone || c.gone() || !c.c.Active(backend.Read) {
			return
		}
	}
	n := c.readBudget()
	if n <= 0 {
		return
	}
	if c.rdy {
		c.armReady()
		return
	}
	if c.msOff || c.bulk {
		c.msOff = false
	} else if br := c.lr.bufRing(); br != nil {
		if c.lr.ring.PrepRecvMultishot(c.ud(kindRead), c.fd, br.Group(), 0) == nil {
			c.reading, c.ms = true, true
			c.rc.want, c.rc.sent = false, false
			c.nOps++
			c.lr.armed(1)
			c.lr.schedule()
			return
		}
	}
	in := c.c.Input()
	in.Unfreeze(false)
	if n > poolBlock/2 && poolOn && in.Len() == 0 {
		// A bulk receive into an empty input: into a block of the bulk receive pool
		// (recvpool_linux.go).
		if p := poolGet(); in.AddSpace(p, poolPut) != nil {
			poolPut(p)
		}
	}
	_, err := in.PinRead(n, c.rvec[:])
	in.Freeze(false)
	if err != nil {
		c.fail(backend.Read, backend.Reading|backend.Error, err)
		return
	}
	p := c.rvec[0]
	if c.drained && pollFirst {
		// The last receive emptied the socket: wait for data before trying.
		err = c.lr.ring.PrepRecvPollFirst(c.ud(kindRead), c.fd, p, 0)
	} else {
		err = c.lr.ring.PrepRecv(c.ud(kindRead), c.fd, p, 0)
	}
	if err != nil {
		c.rvec[0] = nil
		_ = in.CommitRead(0)
		c.fail(backend.Read, backend.Reading|backend.Error, err)
		return
	}
	c.reading = true
	c.rc.want, c.rc.sent = false, false
	c.nOps++
	c.lr.schedule()
	// Reserve the whole receive against the rate limits now (libevent's IOCP backend
	// does the same); the completion refunds what did not arrive.
	c.rres = n
	c.c.ReserveRead(n)
}

// readDone handles a receive's completion (lock held, not dead).
func (c *conn) readDone(res int32) {
	c.reading = false
	p := c.rvec[0]
	c.rvec[0] = nil
	n := max(int(res), 0)
	reserved := c.rres
	c.rres = 0
	if err := c.c.Input().CommitRead(n); err != nil {
		// The kernel reported more than it was given: the ring is broken.
		_ = c.c.Input().CommitRead(0)
		c.fail(backend.Read, backend.Reading|backend.Error, err)
		c.c.SettleRead(reserved, 0)
		return
	}
	switch {
	case res > 0:
		c.drained = n < len(p)
		// Bulk data (a receive that brought at least a pool buffer's worth) keeps
		// PinRead receives, which the kernel fills straight into the input; smaller
		// receives go back to the multishot receive. Measured: leaving bulk mode as
		// soon as a receive came back short made streaming 45% costlier (see doc.go).
		c.bulk = n >= msBufSize
		c.rsize = nextReadSize(c.rsize, n, len(p))
		c.c.SettleRead(reserved, n)
		if !c.readArrived() {
			return
		}
		if c.bulk && c.dirty && !c.writing && readLaterOn {
			c.readLater = true
			c.lr.readLaters++
			return
		}
		c.startRead()
	case res == 0:
		c.fail(backend.Read, backend.Reading|backend.EOF, io.EOF)
		c.c.SettleRead(reserved, n) // after fail: reading is off, the refund starts nothing
	default:
		switch errno := syscall.Errno(-res); errno {
		case unix.ECANCELED, unix.EINTR, unix.EAGAIN:
			// Cancelled by Disable, or by the exit of the thread that submitted it (the
			// kernel cancels a thread's operations when it exits): start again if
			// reading is still wanted.
			if !c.rc.want {
				c.lr.resubmits++
			}
			c.c.SettleRead(reserved, n)
			c.startRead()
		default:
			c.fail(backend.Read, backend.Reading|backend.Error, c.opError("read", errno))
			c.c.SettleRead(reserved, n)
		}
	}
}

// msDone handles a completion of a multishot receive: data in a provided buffer while
// it stays armed (CQEFMore), and a final completion that ends it.
func (c *conn) msDone(res int32, flags uint32) {
	final := flags&uring.CQEFMore == 0
	if final {
		c.nOps--
		c.reading, c.ms = false, false
		c.lr.armed(-1)
	}
	id, hasBuf := uring.BufferID(flags)
	if c.dead || c.lr.closed {
		if hasBuf {
			c.lr.recycle(id)
		}
		if c.dead && final {
			c.shrinkInputLocked()
			c.maybeForget()
		}
		return
	}
	c.c.Enter()
	defer c.c.Leave()
	if c.dead {
		if hasBuf {
			c.lr.recycle(id)
		}
		if final {
			c.shrinkInput()
			c.maybeForget()
		}
		return
	}
	if hasBuf {
		if res > 0 {
			if int(res) == msBufSize && !final && !c.bulk {
				// A full pool buffer: bulk data, which PinRead receives take
				// without the copy, straight into the input, until one brings less
				// than a pool buffer and the multishot receive returns.
				c.bulk = true
				c.cancelRead()
			}
			c.pend = append(c.pend, pendBuf{id: id, n: int(res)})
		} else {
			c.lr.recycle(id)
		}
	}
	if final && res <= 0 {
		switch errno := syscall.Errno(-res); {
		case res == 0:
			c.msEnd = 0
		case errno == unix.ENOBUFS:
			// The pool ran dry: one receive into pinned input space, then multishot
			// again (buffers come back as soon as their bytes are copied).
			c.msOff = true
			c.lr.noBufs++
			c.lr.growBufs()
		case errno == unix.EINVAL:
			// A kernel with provided-buffer rings but without multishot receives
			// (5.19): receive as before from now on.
			c.lr.noMultishot()
		case errno == unix.ECANCELED || errno == unix.EINTR || errno == unix.EAGAIN:
			if !c.rc.want {
				c.lr.resubmits++
			}
		default:
			c.msEnd = res
		}
	}
	c.deliver(0)
	if !c.gone() {
		c.startRead()
	}
}

// deliver copies pending received bytes into the input, as much as MaxToRead allows,
// charges them to the rate limits, runs the read callback, and then reports an end of
// stream or error that waited behind them. While bytes remain pending (reading is
// suspended or disabled) the multishot receive is cancelled; startRead resumes.
func (c *conn) deliver(opts backend.TriggerOptions) {
	if c.lr.closed {
		c.dropPending()
		return
	}
	c.delivering = true
	defer func() { c.delivering = false }()
	in := c.c.Input()
	// Rounds: the read callback may drain the input and so let more pending bytes in
	// (its Enable, inside this call, does not start a receive).
	for len(c.pend) > 0 && c.c.Active(backend.Read) {
		total := 0
		for len(c.pend) > 0 && c.c.Active(backend.Read) {
			m := c.c.MaxToRead()
			if m <= 0 {
				c.suspendNoRead()
				break
			}
			p := &c.pend[0]
			buf := c.lr.bufs.Buffer(p.id)[p.off:p.n]
			k := min(m, len(buf))
			in.Unfreeze(false)
			err := in.Add(buf[:k])
			in.Freeze(false)
			if err != nil {
				c.fail(backend.Read, backend.Reading|backend.Error, err)
				return
			}
			p.off += k
			if p.off == p.n {
				c.lr.recycle(p.id)
				copy(c.pend, c.pend[1:])
				c.pend = c.pend[:len(c.pend)-1]
			}
			total += k
			c.c.ChargeRead(k)
		}
		if total == 0 {
			break
		}
		c.resetReadTimer()
		c.c.TriggerRead(opts)
		if c.gone() {
			return
		}
	}
	if len(c.pend) > 0 {
		c.cancelRead()
		return
	}
	if res := c.msEnd; res != msNone {
		c.msEnd = msNone
		if res == 0 {
			c.fail(backend.Read, backend.Reading|backend.EOF, io.EOF)
		} else {
			c.fail(backend.Read, backend.Reading|backend.Error, c.opError("read", syscall.Errno(-res)))
		}
	}
}

// dropPending gives every pending buffer back to the pool (Close).
func (c *conn) dropPending() {
	for _, p := range c.pend {
		c.lr.recycle(p.id)
	}
	c.pend = c.pend[:0]
	c.msEnd = msNone
}

func (c *conn) cancelRead() {
	c.stopReady()
	if c.reading {
		c.cancel(&c.rc, kindCancelRead, kindRead)
	}
}

// cancelState tracks the cancellation of one operation slot. One cancel request per
// slot is in flight at a time (its user data is fixed); a cancellation wanted while the
// previous request is still outstanding is sent when that one completes.
type cancelState struct {
	want bool // the current operation must be cancelled
	sent bool // a cancel request for the current operation was prepared
	op   bool // a cancel request (for this or an earlier operation) is in flight
}

func (c *conn) cancel(st *cancelState, kind, target int) {
	st.want = true
	if st.sent || st.op || c.lr.closed {
		return
	}
	if c.lr.ring.PrepCancel(c.ud(kind), c.ud(target), false) == nil {
		st.sent, st.op = true, true
		c.nOps++
		c.lr.schedule()
	}
}

// cancelDone handles the completion of a cancel request.
func (c *conn) cancelDone(st *cancelState, inFlight bool, kind, target int) {
	st.op = false
	if inFlight && st.want && !st.sent {
		c.cancel(st, kind, target)
	}
}

// ---- writing ----

// wantWrite queues the connection for the next flush, where its pending output is
// prepared as one send together with everything added during this loop turn.
func (c *conn) wantWrite() {
	if c.writing || c.fd < 0 || c.connecting || c.gone() || !c.c.Active(backend.Write) {
		return
	}
	c.lr.markDirty(c)
	c.resetWriteTimer()
}

// flushWrite is called by the ring's flush for a dirty connection.
func (c *conn) flushWrite() {
	c.dirty = false
	if c.dead {
		return
	}
	c.c.Enter()
	c.startWrite()
	if c.readLater && !c.writing {
		c.startRead()
	}
	c.c.Leave()
}

// startWrite prepares one send of up to MaxToWrite bytes straight from the chains.
func (c *conn) startWrite() {
	// writeLimit's checks written out: a call here costs the per-message path (see
	// conn_common.go).
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
	if c.lr.directSend {
		// A turn with one connection to send for: write now (see loopRing.flush).
		out.Unfreeze(true)
		n, werr := out.WriteToFD(c.fd, limit)
		out.Freeze(true)
		if n > 0 {
			c.c.ChargeWrite(n)
		}
		switch {
		case werr == nil && out.Len() == 0:
			c.lr.directSends++
			c.resetWriteTimer()
			c.c.TriggerWrite(0)
			return
		case werr != nil && !errors.Is(werr, unix.EAGAIN):
			c.directFailed(werr)
			return
		}
		// The socket is full (or the limit cut the write short): the rest goes out as a
		// send operation, if writing is still active. A charge that emptied the
		// connection's own bucket suspended it (SuspendBandwidth) until its refill
		// timer; suspending it for the group as well, as MaxToWrite's 0 alone would
		// suggest, would outlive that refill and stall the connection for good.
		if limit = c.writeLimit(); limit <= 0 {
			return
		}
	}
	out.Unfreeze(true)
	k, err := out.PinWrite(limit, c.wvecs[:])
	out.Freeze(true)
	if err != nil {
		c.fail(backend.Write, backend.Writing|backend.Error, err)
		return
	}
	if k == 0 {
		return
	}
	size := 0
	for _, v := range c.wvecs[:k] {
		size += len(v)
	}
	if k == 1 {
		err = c.lr.ring.PrepSend(c.ud(kindWrite), c.fd, c.wvecs[0], 0)
	} else {
		err = c.lr.ring.PrepSendmsg(c.ud(kindWrite), c.fd, c.wvecs[:k], 0)
	}
	clear(c.wvecs[:k])
	if err != nil {
		_ = out.CommitWrite(0)
		c.fail(backend.Write, backend.Writing|backend.Error, err)
		return
	}
	c.writing = true
	c.wc.want, c.wc.sent = false, false
	c.nOps++
	c.lr.schedule()
	// Reserve the whole send now; the completion refunds what was not sent.
	c.wres = size
	c.c.ReserveWrite(size)
}

// writeLimit is how much a send may take after a direct send fell short (startWrite):
// 0 when no send can start (one is in flight, no socket, a connect in progress,
// writing inactive), or, with writing suspended, when a rate-limit group allows
// nothing.
func (c *conn) writeLimit() int {
	if c.writing || c.fd < 0 || c.connecting || c.gone() || !c.c.Active(backend.Write) {
		return 0
	}
	limit := c.c.MaxToWrite()
	if limit <= 0 {
		// Only a suspended rate-limit group allows nothing to an active direction: see
		// readBudget.
		c.c.SuspendWrite(backend.SuspendGroup)
		return 0
	}
	return limit
}

// shutdownWrite shuts the socket's write side down (Flush(Write, Finished), halfclose.go).
func (c *conn) shutdownWrite() error {
	if err := unix.Shutdown(c.fd, unix.SHUT_WR); err != nil {
		if errno, ok := err.(unix.Errno); ok {
			return c.opError("shutdown", errno)
		}
		return os.NewSyscallError("shutdown", err)
	}
	return nil
}

// directFailed reports a direct write's error as a failed send would be reported. (Its
// own function so that the errno's variable, whose address errors.As takes, is
// allocated only on this path.)
//
//go:noinline
func (c *conn) directFailed(err error) {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		err = c.opError("write", errno)
	}
	c.fail(backend.Write, backend.Writing|backend.Error, err)
}

// writeDone handles a send's completion (lock held, not dead).
func (c *conn) writeDone(res int32) {
	c.writing = false
	reserved, sent := c.wres, max(int(res), 0)
	c.wres = 0
	if err := c.c.Output().CommitWrite(sent); err != nil {
		// The kernel reported more than it was given: the ring is broken.
		_ = c.c.Output().CommitWrite(0)
		c.fail(backend.Write, backend.Writing|backend.Error, err)
		c.c.SettleWrite(reserved, 0)
		return
	}
	switch {
	case res > 0:
		c.c.SettleWrite(reserved, sent)
		if c.gone() {
			return
		}
		c.resetWriteTimer()
		c.c.TriggerWrite(0)
		if c.gone() {
			return
		}
		if c.pendingOut() > 0 {
			c.startWrite()
		}
	case res == 0:
		c.fail(backend.Write, backend.Writing|backend.EOF, io.EOF)
		c.c.SettleWrite(reserved, sent)
	default:
		switch errno := syscall.Errno(-res); errno {
		case unix.ECANCELED, unix.EINTR, unix.EAGAIN:
			if !c.wc.want {
				c.lr.resubmits++
			}
			c.c.SettleWrite(reserved, sent)
			if c.pendingOut() > 0 {
				c.startWrite()
			}
		default:
			c.fail(backend.Write, backend.Writing|backend.Error, c.opError("write", errno))
			c.c.SettleWrite(reserved, sent)
		}
	}
}

func (c *conn) cancelWrite() {
	if c.writing {
		c.cancel(&c.wc, kindCancelWrite, kindWrite)
	}
}

// ---- completions ----

// complete implements owner.
func (c *conn) complete(kind int, res int32, flags uint32) {
	if kind == kindRead && c.ms {
		c.msDone(res, flags)
		return
	}
	c.nOps--
	switch kind {
	case kindCancelRead:
		c.cancelDone(&c.rc, c.reading, kindCancelRead, kindRead)
		c.maybeForget()
		return
	case kindCancelWrite:
		c.cancelDone(&c.wc, c.writing, kindCancelWrite, kindWrite)
		c.maybeForget()
		return
	case kindCancelConnect:
		c.cancelDone(&c.cc, c.connOp, kindCancelConnect, kindConnect)
		c.maybeForget()
		return
	case kindClose:
		if res == -int32(unix.ECANCELED) {
			// Withdrawn before reaching the kernel (the ring was torn down first).
			_ = unix.Close(c.closeFD)
		}
		c.closeFD = -1
		c.maybeForget()
		return
	}
	if c.dead {
		switch kind {
		case kindRead:
			c.reading = false
			c.rvec[0] = nil
			// Unpin: the kernel is done with the memory. Inside Close (the ring's
			// teardown drains it) the core's lock is held already.
			if !c.closing {
				c.c.Lock()
			}
			_ = c.c.Input().CommitRead(0)
			c.shrinkInput()
			if !c.closing {
				c.c.Unlock()
			}
		case kindWrite:
			c.writing = false
			if !c.closing {
				c.c.Lock()
			}
			_ = c.c.Output().CommitWrite(0)
			if !c.closing {
				c.c.Unlock()
			}
		case kindConnect:
			c.connOp = false
		}
		c.maybeForget()
		return
	}
	c.c.Enter()
	switch kind {
	case kindRead:
		if !c.dead {
			c.readDone(res)
		}
	case kindWrite:
		if !c.dead {
			c.writeDone(res)
			if c.readLater && !c.writing && !c.dead {
				c.lr.queueRead(c)
			}
		}
	case kindConnect:
		if !c.dead {
			c.connectDone(res)
		}
	}
	c.c.Leave()
}

// maybeForget lets the ring forget a closed connection once the kernel has finished
// with its operations.
func (c *conn) maybeForget() {
	if !c.dead || c.nOps > 0 || c.freed {
		return
	}
	c.freed = true
	c.lr.forget(c.id)
}

// shrinkInput gives the empty space at the end of a closed connection's input back
// (Buffer.Shrink) when nothing is left to read in it: the chain its last receive
// landed in (a block of the bulk receive pool, often) goes back at once instead of
// staying with a buffer the program may hold on to, or going to the collector with
// it. Called once no receive is in flight.
func (c *conn) shrinkInput() {
	if in := c.c.Input(); in.Len() == 0 {
		in.Shrink()
	}
}

// shrinkInputLocked is shrinkInput from a completion, under the core's lock (which
// Close already holds).
func (c *conn) shrinkInputLocked() {
	if !c.closing {
		c.c.Lock()
	}
	c.shrinkInput()
	if !c.closing {
		c.c.Unlock()
	}
}

// ringFailed is called when the ring lost completions: the connection cannot work.
func (c *conn) ringFailed(err error) {
	if c.dead {
		return
	}
	c.c.Enter()
	if !c.dead && !c.c.Closed() {
		c.fail(backend.ReadWrite, backend.Error, err)
	}
	c.c.Leave()
}

// ---- backend.Ops ----

// CancelAll implements backend.CancelAll: Close cancels every operation in flight.
func (c *conn) CancelAll() {
	c.cancelLookup()
	c.cancelRead()
	c.cancelWrite()
	c.abortConnect()
	// The cancellations go to the kernel with this turn's flush, together with those of
	// every other bufferevent closed in the same turn (a mass disconnect costs one
	// io_uring_enter). Until then the kernel keeps the socket open for the operation in
	// flight; the peer sees the close at the end of the turn.
}

// Close implements backend.Ops: cancel what is in flight, close the socket if it is
// ours (as an operation queued after the cancellations, so that its number cannot be
// reused before they reach the kernel), and give the ring back. The pinned chains are
// released only when the last completion has come back.
func (c *conn) Close() error {
	c.closing = true
	defer func() { c.closing = false }()
	c.CancelAll()
	c.dead = true
	c.cancelLookup()
	c.freeTimers()
	c.c.Output().RemoveCallback(c.outCb)
	c.resetHalfClose()
	c.dropPending()
	c.freeReady()
	if !c.reading {
		c.shrinkInput()
	}
	c.unregister()
	var err error
	switch {
	case c.fd < 0:
	case c.ownFD || c.c.Options()&bufferevent.CloseOnFree != 0:
		// Operations prepared this turn name the descriptor by number and the kernel
		// resolves it only when they are submitted; closing it now would let the number
		// be reused (by an accept, a connect) before the flush, and an operation meant
		// for this socket would reach another. So the close is itself an operation,
		// queued after them (and after the cancellations).
		if !c.lr.closed && c.lr.ring.PrepClose(c.ud(kindClose), c.fd) == nil {
			c.closeFD = c.fd
			c.nOps++
			c.lr.schedule()
		} else if e := unix.Close(c.fd); e != nil {
			err = os.NewSyscallError("close", e)
		}
	default:
		// The descriptor stays the caller's, who may close it as soon as Close
		// returns: submit what names it now.
		if !c.lr.closed {
			c.lr.submit()
		}
	}
	c.fd = -1
	c.maybeForget()
	c.lr.addConns(-1)
	c.lr.release()
	return err
}

// FD implements backend.FD.
func (c *conn) FD() int { return c.fd }

// SetFD implements backend.SetFD: operations on the old descriptor are cancelled and the
// enabled directions start on the new one. The old descriptor is closed if it belongs to
// the bufferevent (created by a connect: nobody else can close it); one the caller handed
// over stays the caller's.
func (c *conn) SetFD(fd int) error {
	if fd >= 0 {
		if err := unix.SetNonblock(fd, true); err != nil {
			return os.NewSyscallError("fcntl", err)
		}
	}
	c.cancelLookup()
	c.resetHalfClose()
	c.cancelRead()
	c.cancelWrite()
	c.abortConnect()
	if c.fd >= 0 && !c.lr.closed {
		// The old descriptor may be closed at once (by the caller, or below): submit what
		// names it now.
		c.lr.submit()
	}
	old, own := c.fd, c.ownFD
	c.useFD(fd)
	if own && old >= 0 && old != fd {
		// It belongs to the bufferevent (a connect created it): nobody else can close it.
		_ = unix.Close(old)
	}
	return nil
}

// ---- connect ----

// connect starts one connect attempt; failures are reported asynchronously.
func (c *conn) connect(addr net.Addr, sa unix.Sockaddr) {
	c.connAddr = addr
	c.lastErr = nil
	if sa == nil {
		// The socket is connecting already (started elsewhere): no operation can join
		// that connect, so wait for writability with a one-shot event and read its
		// outcome from SO_ERROR, as the socket backend does.
		ev, err := c.base.NewEvent(c.fd, eventbase.Write, c.onConnectWritable)
		if err == nil {
			err = ev.Add()
		}
		if err != nil {
			ev.Free()
			c.connectFailedLater(err)
			return
		}
		c.connEv = ev
		c.connecting = true
		c.resetWriteTimer()
		return
	}
	fd := c.fd
	if fd < 0 {
		var err error
		fd, err = unix.Socket(familyOf(sa), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			c.connectFailedLater(os.NewSyscallError("socket", err))
			return
		}
		c.fd = fd
		c.ownFD = true
	}
	c.connecting = true
	if err := c.lr.ring.PrepConnect(c.ud(kindConnect), fd, sa); err != nil {
		c.connecting = false
		c.connectFailedLater(err)
		return
	}
	c.connOp = true
	c.cc.want, c.cc.sent = false, false
	c.nOps++
	c.lr.schedule()
	c.resetWriteTimer()
}

func familyOf(sa unix.Sockaddr) int {
	switch sa.(type) {
	case *unix.SockaddrInet6:
		return unix.AF_INET6
	case *unix.SockaddrUnix:
		return unix.AF_UNIX
	}
	return unix.AF_INET
}

// canWaitConnect says whether Connect with addr nil can wait for a connect started
// elsewhere: bev needs a socket. Checked before going to the loop: a ThreadSafe call's
// queued work cannot return an error to the caller.
func (c *conn) canWaitConnect() error {
	c.c.Lock()
	fd := c.fd
	c.c.Unlock()
	if fd < 0 {
		return ErrNoAddress
	}
	return nil
}

// unixSockaddr converts a Unix socket's address for a connect.
func unixSockaddr(addr net.Addr) (sockaddr, error) {
	if a, ok := addr.(*net.UnixAddr); ok {
		if a.Name == "" {
			return nil, ErrAddress
		}
		return &unix.SockaddrUnix{Name: a.Name}, nil
	}
	return &unix.SockaddrUnix{Name: addr.String()}, nil
}

// onConnectWritable ends the wait for a connect started elsewhere.
func (c *conn) onConnectWritable(fd int, _ eventbase.What) {
	c.c.Enter()
	defer c.c.Leave()
	if c.connEv != nil {
		c.connEv.Free()
		c.connEv = nil
	}
	if c.gone() || !c.connecting {
		return
	}
	res := int32(0)
	if soErr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); err != nil {
		res = -int32(err.(syscall.Errno))
	} else if soErr != 0 {
		res = -int32(soErr)
	}
	c.connOp = true // connectDone clears it
	c.connectDone(res)
}

// connectDone handles the connect operation's completion (lock held, not dead).
func (c *conn) connectDone(res int32) {
	c.connOp = false
	if !c.connecting {
		return // aborted (timeout, SetFD, another Connect)
	}
	if res < 0 {
		errno := syscall.Errno(-res)
		c.connecting = false
		c.connectFailed(errno)
		return
	}
	c.connecting = false
	c.connected()
}

func (c *conn) abortConnect() {
	c.connecting = false
	if c.connEv != nil {
		c.connEv.Free()
		c.connEv = nil
	}
	if c.connOp {
		c.cancel(&c.cc, kindCancelConnect, kindConnect)
	}
}

func (c *conn) dialError(err error) error {
	if errno, ok := err.(syscall.Errno); ok {
		err = os.NewSyscallError("connect", errno)
	}
	return dialer.DialError(c.connAddr, err)
}

// dropFailedSocket gives up the socket of a failed connect before a hostname connect
// tries its next address (closed if it is ours).
func (c *conn) dropFailedSocket() {
	old, own := c.fd, c.ownFD
	c.fd, c.ownFD = -1, false
	if own || c.c.Options()&bufferevent.CloseOnFree != 0 {
		// The failed connect has completed: nothing of ours is in flight on it.
		_ = unix.Close(old)
	}
}

// readLaterOn is off with ASYNC_READNOW=1 in the environment: bulk receives start again
// at once instead of waiting for the send of their bytes (for comparisons).
var readLaterOn = os.Getenv("ASYNC_READNOW") == ""
