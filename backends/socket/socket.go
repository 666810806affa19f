package socket

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/backend"
	"github.com/bufev/bufev/bufferevent/backend/dialer"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
)

// TypeName is the name socket bufferevents are registered under (bufferevent.Open,
// BufferEvent.Type).
// A constant, safe for concurrent use.
const TypeName = "socket"

func init() {
	bufferevent.Register(TypeName, func(base *eventbase.Base, opts bufferevent.Options) (*bufferevent.BufferEvent, error) {
		return New(base, -1, opts)
	})
}

// lookupSock returns the backend of a socket bufferevent, for the package functions
// (Connect, ConnectHostname, DNSErr) that receive a *bufferevent.BufferEvent:
// ErrNotSocket for any other type, bufferevent.ErrClosed once it is closed.
func lookupSock(bev *bufferevent.BufferEvent) (*sock, error) {
	s, ok := bufferevent.BackendOps(bev).(*sock)
	if !ok {
		return nil, ErrNotSocket
	}
	s.c.Lock()
	gone := s.dead || s.c.Closed()
	s.c.Unlock()
	if gone {
		return nil, bufferevent.ErrClosed
	}
	return s, nil
}

// New creates a socket bufferevent on fd, libevent's bufferevent_socket_new. fd may be -1:
// set it later with Connect, ConnectHostname or BufferEvent.SetFD. A descriptor given here
// is made non-blocking; it stays the caller's unless opts has bufferevent.CloseOnFree
// (then Close closes it). Reads go straight into the input buffer (at most 16 KiB per
// read unless SetMaxSingleRead says otherwise); writes leave the output buffer with
// writev, and file segments added with AddFile go out with sendfile.
//
// Loop-confined: call it on base's loop goroutine or while the loop is not running (it
// creates events on base). The new bufferevent is loop-confined unless opts has
// ThreadSafe.
func New(base *eventbase.Base, fd int, opts bufferevent.Options) (*bufferevent.BufferEvent, error) {
	if !supported {
		return nil, ErrUnsupported
	}
	if fd >= 0 {
		if err := setNonblock(fd); err != nil {
			return nil, err
		}
	}
	return newSock(base, fd, false, opts)
}

// NewFromConn creates a socket bufferevent on a duplicate of the descriptor of c — a
// *net.TCPConn, *net.UnixConn, *os.File or anything else implementing syscall.Conn over
// a stream socket. The bufferevent owns the duplicate and closes it on Close; c stays
// the caller's, who should close it (the connection stays open until both are closed).
// Stop using c for I/O: bytes read through it are not seen by the bufferevent.
//
// Loop-confined, like New.
func NewFromConn(base *eventbase.Base, c syscall.Conn, opts bufferevent.Options) (*bufferevent.BufferEvent, error) {
	if !supported {
		return nil, ErrUnsupported
	}
	if c == nil {
		return nil, ErrNotStream
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(raw uintptr) {
		if derr = isStreamSocket(int(raw)); derr == nil {
			fd, derr = dupFD(int(raw))
		}
	}); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	if err := setNonblock(fd); err != nil {
		closeFD(fd)
		return nil, err
	}
	bev, err := newSock(base, fd, true, opts)
	if err != nil {
		closeFD(fd)
	}
	return bev, err
}

func newSock(base *eventbase.Base, fd int, own bool, opts bufferevent.Options) (*bufferevent.BufferEvent, error) {
	s := &sock{fd: -1}
	err := bufferevent.Init(&s.bevStore, base, bufferevent.Config{Type: TypeName, Options: opts}, func(c backend.Core) (backend.Ops, error) {
		s.c = c
		s.in, s.out = c.Input(), c.Output()
		s.base = c.Base()
		s.bev = c.Handle().(*bufferevent.BufferEvent)
		s.kickFn = s.kick
		if err := s.setFD(fd); err != nil {
			return nil, err
		}
		s.ownFD = own
		out := c.Output()
		// Every descriptor the socket backend writes to is non-blocking (New,
		// NewFromConn, SetFD and Connect make sure of it), so its writes can
		// skip the scheduler hand-off as its reads do.
		out.SetFlags(evbuffer.FlagDrainsToFD | evbuffer.FlagNonblockingFD)
		s.outCb = out.AddNotifier((*outNotifier)(s))
		s.outCb.SetAddsOnly(true) // onOutput writes what was added; drains need nothing

		return s, nil
	})
	if err != nil {
		return nil, err
	}
	return &s.bevStore, nil
}

// sock is the socket backend (libevent's bufferevent_sock.c). All fields are loop-owned
// and, for ThreadSafe bufferevents, guarded by the core lock.
//
// It embeds its bufferevent (bufferevent.Init) and the storage of its first socket's
// two events, so that what a ready socket walks is one allocation: with thousands of
// connections, the event, the sock and the bufferevent were each a likely cache miss,
// taken one after the other as each pointer leads to the next. The bufferevent's hot
// line (its last), the sock's hot line and the read event's first line follow one
// another, the last two in one 128-byte block (TestSockLayout checks it on real
// allocations): the struct is 1144 bytes, which Go serves from its 1152-byte size
// class (every object starts at a multiple of 128 bytes) behind an 8-byte allocation
// header, so the 120 bytes before the bufferevent put it at offset 128 and the sock's
// hot line at 640. (Embedding the two buffers as well, before the bufferevent, did not
// help: their first line stayed as costly as in an allocation of their own; bench/doc.go.)
type sock struct {
	// Cold: 120 bytes.
	base     *eventbase.Base
	bev      *bufferevent.BufferEvent // &bevStore
	outCb    *evbuffer.Callback
	kickFn   func()                 // s.kick, allocated once
	dial     dialer.Dialer          // hostname connect: lookup, addresses left to try, DNS error
	half     *backend.WriteShutdown // write-side shutdown asked for by Flush(Write, Finished) (halfclose.go)
	embedded bool                   // evs holds (or held) rev and wev
	_        [7]byte

	// The bufferevent, its hot line last, right before the sock's.
	bevStore bufferevent.BufferEvent

	// Read on every read and write event: one cache line.
	c          backend.Core
	fd         int
	in, out    *evbuffer.Buffer // c.Input() and c.Output(), constant
	rev        *eventbase.Event // persistent read/write events (pure timers while fd < 0)
	wev        *eventbase.Event
	dead       bool // Ops.Close ran
	connecting bool
	rOn, wOn   bool // rev/wev are pending
	rTimed     bool // rev/wev carry a timeout
	wTimed     bool
	kickQueued bool // kickFn is queued on the loop
	ownFD      bool // created (or duplicated) here: always closed on Close

	// The first socket's events (setFD), right after the hot line.
	evs [2]eventbase.Event

	connErr  error // a read saw the connect fail (see onRead)
	connAddr net.Addr
	peer     net.Addr
	lastErr  error // hostname connect
}

var (
	_ backend.Ops         = (*sock)(nil)
	_ backend.FD          = (*sock)(nil)
	_ backend.SetFD       = (*sock)(nil)
	_ backend.Addresser   = (*sock)(nil)
	_ backend.Prioritizer = (*sock)(nil)
	_ backend.CancelAll   = (*sock)(nil)
)

// ---- events ----

// setFD replaces the descriptor and rebuilds both events on it.
func (s *sock) setFD(fd int) error {
	s.freeEvents()
	s.fd = fd
	s.ownFD = false
	s.connecting, s.connErr = false, nil
	s.peer = nil
	var rev, wev *eventbase.Event
	var err error
	// The events call the sock itself (eventbase.Handler): no method-value object
	// between a ready fd and the sock.
	if fd >= 0 && !s.embedded {
		// The first socket's events live in the sock (an event cannot be
		// initialised twice; a later SetFD allocates).
		s.embedded = true
		rev, wev = &s.evs[0], &s.evs[1]
		err = s.base.InitHandlerEvent(rev, fd, eventbase.Read|eventbase.Persist, (*readHandler)(s))
		if err == nil {
			err = s.base.InitHandlerEvent(wev, fd, eventbase.Write|eventbase.Persist, (*writeHandler)(s))
		}
	} else if fd >= 0 {
		rev, err = s.base.NewHandlerEvent(fd, eventbase.Read|eventbase.Persist, (*readHandler)(s))
		if err == nil {
			wev, err = s.base.NewHandlerEvent(fd, eventbase.Write|eventbase.Persist, (*writeHandler)(s))
		}
	} else {
		// Without a socket the events are pure timers, so that timeouts still fire
		// (libevent's events on fd -1).
		rev, err = s.base.NewHandlerEvent(-1, eventbase.Persist, (*readHandler)(s))
		if err == nil {
			wev, err = s.base.NewHandlerEvent(-1, eventbase.Persist, (*writeHandler)(s))
		}
	}
	if err != nil {
		rev.Free()
		return err
	}
	s.rev, s.wev = rev, wev
	return nil
}

func (s *sock) freeEvents() {
	if s.rev != nil {
		s.rev.Free()
		s.wev.Free()
		s.rev, s.wev = nil, nil
	}
	s.rOn, s.wOn, s.rTimed, s.wTimed = false, false, false, false
}

// arm makes ev pending with timeout d (none if 0), like libevent's bufferevent_add_event_.
func arm(ev *eventbase.Event, on, timed *bool, d time.Duration) error {
	var err error
	switch {
	case d > 0:
		err = ev.AddTimeout(d)
		*timed = true
	case ev.FD() < 0:
		// A pure timer with no timeout has nothing to wait for.
		err = ev.Del()
		*on, *timed = false, false
		return err
	default:
		err = ev.Add()
		if *timed {
			if e := ev.RemoveTimer(); err == nil {
				err = e
			}
			*timed = false
		}
	}
	*on = err == nil
	return err
}

func (s *sock) armRead() error {
	rto, _ := s.c.Timeouts()
	return arm(s.rev, &s.rOn, &s.rTimed, rto)
}

func (s *sock) armWrite() error {
	_, wto := s.c.Timeouts()
	return arm(s.wev, &s.wOn, &s.wTimed, wto)
}

func (s *sock) stopRead() {
	if s.rOn {
		s.rev.Del()
		s.rOn = false
	}
}

func (s *sock) stopWrite() {
	if s.wOn {
		s.wev.Del()
		s.wOn = false
	}
}

// ---- backend.Ops ----

// Enable implements backend.Ops (libevent's be_socket_enable): it arms the events with
// the current timeouts. A socket bufferevent arms its write event even with an empty
// output, so the write callback runs once the socket is writable.
func (s *sock) Enable(dir backend.Direction) error {
	var err error
	if dir&backend.Read != 0 {
		err = s.armRead()
	}
	if dir&backend.Write != 0 {
		if e := s.armWrite(); err == nil {
			err = e
		}
	}
	return err
}

// Disable implements backend.Ops. While a connect is in progress the write event stays:
// it reports the connect's outcome.
func (s *sock) Disable(dir backend.Direction) error {
	if dir&backend.Read != 0 {
		s.stopRead()
	}
	if dir&backend.Write != 0 && !s.connecting {
		s.stopWrite()
	}
	return nil
}

// Flush implements backend.Ops: a socket has nothing to flush beyond what its write
// event does (libevent's be_socket_flush returns 0), but Finished on the write side
// shuts it down once the output is sent (halfclose.go; libevent does nothing).
func (s *sock) Flush(dir backend.Direction, mode backend.FlushMode) (bool, error) {
	if mode == backend.Finished && dir&backend.Write != 0 && !s.dead {
		if err := s.finishWrite(); err != nil {
			return false, err
		}
	}
	return false, nil
}

// AdjustTimeouts implements backend.Ops: pending events are re-armed with the new
// timeouts (libevent's bufferevent_generic_adj_existing_timeouts_).
func (s *sock) AdjustTimeouts() error {
	var err error
	if s.rOn {
		err = s.armRead()
	}
	if s.wOn {
		if e := s.armWrite(); err == nil {
			err = e
		}
	}
	return err
}

// Close implements backend.Ops (libevent's be_socket_destruct): free the events, cancel
// a lookup, close the socket if it is ours.
func (s *sock) Close() error {
	s.dead = true
	s.cancelLookup()
	s.freeEvents()
	s.resetHalfClose()
	s.c.Output().RemoveCallback(s.outCb)
	var err error
	if s.fd >= 0 && (s.ownFD || s.c.Options()&bufferevent.CloseOnFree != 0) {
		err = closeFD(s.fd)
	}
	s.fd = -1
	return err
}

// CancelAll implements backend.CancelAll: BufferEvent.Close cancels a hostname lookup at
// once rather than when the bufferevent is finalised.
func (s *sock) CancelAll() { s.cancelLookup() }

// FD implements backend.FD.
func (s *sock) FD() int { return s.fd }

// SetFD implements backend.SetFD (libevent's be_socket_setfd): the events move to fd,
// the enabled directions are re-armed, and a hostname lookup in progress is cancelled.
// Unlike libevent, the buffers stay frozen as they were. The old descriptor is closed if
// it belongs to the bufferevent (created by a connect or duplicated by NewFromConn:
// nobody else can close it); one the caller handed over stays the caller's.
func (s *sock) SetFD(fd int) error {
	if fd >= 0 {
		if err := setNonblock(fd); err != nil {
			return err
		}
	}
	s.cancelLookup()
	s.dial.Discard()
	s.resetHalfClose()
	old, own := s.fd, s.ownFD
	err := s.setFD(fd) // frees the events on old first
	if own && old >= 0 && old != fd {
		closeFD(old)
	}
	if err != nil {
		return err
	}
	if fd >= 0 {
		return s.enableActive()
	}
	return nil
}

// enableActive arms the directions that are enabled and not suspended.
func (s *sock) enableActive() error {
	var dirs backend.Direction
	if s.c.Active(backend.Read) {
		dirs |= backend.Read
	}
	if s.c.Active(backend.Write) {
		dirs |= backend.Write
	}
	return s.Enable(dirs)
}

// SetPriority implements backend.Prioritizer.
func (s *sock) SetPriority(p int) error {
	if err := s.rev.SetPriority(p); err != nil {
		return err
	}
	return s.wev.SetPriority(p)
}

// LocalAddr implements backend.Addresser.
func (s *sock) LocalAddr() net.Addr {
	if s.fd < 0 {
		return nil
	}
	return localAddr(s.fd)
}

// RemoteAddr implements backend.Addresser.
func (s *sock) RemoteAddr() net.Addr {
	if s.peer == nil && s.fd >= 0 && !s.connecting {
		s.peer = peerAddr(s.fd)
	}
	return s.peer
}

// ---- I/O ----

// disableUser clears the user's enabled bits for dir and stops the backend's events, as
// libevent's read and write callbacks do (bufferevent_disable) before reporting EOF, an
// error or a timeout; the core does both under the lock we hold (Core.DisableUser calls
// s.Disable).
func (s *sock) disableUser(dir backend.Direction) { s.c.DisableUser(dir) }

// fail disables dir and reports what with err.
func (s *sock) fail(dir backend.Direction, what backend.Events, err error) {
	s.disableUser(dir)
	s.c.TriggerEvent(what, err, 0)
}

// readHandler and writeHandler are the sock as the eventbase.Handler of its read
// event (onRead) and write event (onWrite).
type (
	readHandler  sock
	writeHandler sock
)

func (h *readHandler) HandleEvent(fd int, what eventbase.What)  { (*sock)(h).onRead(fd, what) }
func (h *writeHandler) HandleEvent(fd int, what eventbase.What) { (*sock)(h).onWrite(fd, what) }

// onRead is libevent's bufferevent_readcb.
func (s *sock) onRead(fd int, what eventbase.What) {
	s.c.Enter()
	defer s.c.Leave()
	if s.dead || s.c.Closed() {
		return
	}
	if what&eventbase.Read == 0 {
		if what&eventbase.Timeout != 0 {
			s.fail(backend.Read, backend.Reading|backend.Timeout, nil)
		}
		return
	}
	howmuch := s.c.MaxToRead() // at most InputRoom
	if howmuch == 0 {
		if s.c.InputRoom() == 0 {
			// The high watermark (or the input limit) was lowered under the input:
			// stop until the user drains.
			s.c.SuspendRead(backend.SuspendWatermark)
		}
		return
	}
	if !s.c.Active(backend.Read) {
		return
	}
	in := s.in
	in.Unfreeze(false)
	n, err := readInto(in, fd, howmuch)
	in.Freeze(false)
	if err != nil {
		switch {
		case errors.Is(err, io.EOF):
			s.fail(backend.Read, backend.Reading|backend.EOF, io.EOF)
		case isTemporary(err):
		case s.connecting:
			// A failed connect can surface on the read side first (a refused connect
			// on some BSDs, an unreachable host): the read consumed the socket error,
			// so keep it for the write side, which reports the connect's outcome once.
			s.connErr = err
		default:
			s.fail(backend.Read, backend.Reading|backend.Error, s.opError("read", err))
		}
		return
	}
	if n > 0 {
		s.c.ChargeRead(n)
		s.c.TriggerRead(0)
	}
}

// onWrite is libevent's bufferevent_writecb, plus the hostname-connect fallback.
func (s *sock) onWrite(fd int, what eventbase.What) {
	s.c.Enter()
	defer s.c.Leave()
	if s.dead || s.c.Closed() {
		return
	}
	if what&eventbase.Write == 0 {
		if what&eventbase.Timeout != 0 {
			// A timeout during a connect ends the attempt: without this the persistent
			// event would keep firing, since Disable keeps it while connecting.
			if s.connecting {
				s.connecting = false
				s.dial.Discard()
				s.stopRead()
			}
			s.fail(backend.Write, backend.Writing|backend.Timeout, nil)
		}
		return
	}
	connected := false
	if s.connecting {
		done, err := finishConnect(fd)
		if s.connErr != nil {
			done, err = true, s.connErr
		}
		if !done {
			return
		}
		s.connecting, s.connErr = false, nil
		if err != nil {
			s.connectFailed(err)
			return
		}
		connected = true
		s.dial.Discard()
		s.lastErr = nil
		s.peer = peerAddr(fd)
		s.c.TriggerEvent(backend.Connected, nil, 0)
		if s.dead || s.c.Closed() {
			return
		}
		if s.half != nil {
			s.half.AfterConnect()
		}
		if !s.c.Active(backend.Write) {
			s.stopWrite()
			return
		}
	}
	s.write(connected)
}

// write sends what the output holds and runs the write callback, the second half of
// libevent's bufferevent_writecb. fromConnect is set right after a connect completed.
func (s *sock) write(fromConnect bool) {
	if !s.c.Active(backend.Write) {
		return
	}
	n := 0
	out := s.c.Output()
	if out.Len() > 0 {
		out.Unfreeze(true)
		var err error
		n, err = out.WriteToFD(s.fd, s.c.MaxToWrite())
		out.Freeze(true)
		if err != nil {
			if isTemporary(err) {
				if out.Len() == 0 {
					s.stopWrite()
				} else if !s.wOn {
					s.armWrite()
				}
				return
			}
			s.fail(backend.Write, backend.Writing|backend.Error, s.opError("write", err))
			return
		}
		if n > 0 {
			s.c.ChargeWrite(n)
		}
	}
	// The charge may have suspended writing (an emptied bucket disables the write event
	// at once): re-arming the event then would leave a level-triggered event armed on a
	// writable socket that the handler ignores, so the loop would spin until the refill,
	// and that socket would be polled ahead of the others when writing resumes.
	if out.Len() == 0 {
		s.stopWrite()
	} else if !s.wOn && s.c.Active(backend.Write) {
		s.armWrite()
	}
	if n > 0 || !fromConnect {
		s.c.TriggerWrite(0)
	}
}

// onOutput is the output buffer's callback (libevent's bufferevent_socket_outbuf_cb).
// Where libevent arms the write event — one epoll_ctl to add it and one to remove it per
// message — this writes at once when the socket is idle (connected, writing enabled,
// nothing already waiting for writability): a request-response server answers with one
// system call. Only what the socket cannot take waits for the write event. No callback
// runs inside the user's Write: the write callback is deferred, and an error is left for
// the write event to report.
func (s *sock) onOutput(_ *evbuffer.Buffer, info evbuffer.CallbackInfo) {
	if info.Added == 0 || s.wOn || s.fd < 0 || s.dead || s.connecting {
		return
	}
	if !s.c.OnLoop() {
		// A ThreadSafe bufferevent written from another goroutine (or from a callback
		// through the locked API): the socket is touched on the loop, once per batch.
		if !s.kickQueued {
			s.kickQueued = true
			s.c.RunInLoop(s.kickFn)
		}
		return
	}
	s.writeNow()
}

// outNotifier is the sock as its output's evbuffer.Notifier (onOutput): the buffer
// calls into the sock, with no Callback or closure object in between.
type outNotifier sock

func (n *outNotifier) BufferChanged(b *evbuffer.Buffer, info evbuffer.CallbackInfo) {
	(*sock)(n).onOutput(b, info)
}

// kick runs on the loop (via Core.RunInLoop, lock held) for output added elsewhere.
func (s *sock) kick() {
	s.kickQueued = false
	if !s.dead && s.fd >= 0 && !s.wOn && !s.connecting && s.c.Output().Len() > 0 {
		s.writeNow()
	}
}

// writeNow writes the output without waiting for writability.
func (s *sock) writeNow() {
	if !s.c.Active(backend.Write) {
		return // the write event takes over when writing is enabled or unsuspended
	}
	out := s.out
	out.Unfreeze(true)
	n, err := out.WriteToFD(s.fd, s.c.MaxToWrite())
	out.Freeze(true)
	if n > 0 {
		s.c.ChargeWrite(n)
	}
	if err != nil || out.Len() > 0 {
		// Full socket, rate limit or error: the write event finishes the job (and
		// reports an error with its direction bit), unless the charge suspended writing:
		// then the event is armed again when the suspension is lifted (see write).
		if !s.wOn && s.c.Active(backend.Write) {
			s.armWrite()
		}
		return
	}
	s.c.TriggerWrite(backend.TriggerDefer)
}

func (s *sock) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: netOf(s.peer), Source: nil, Addr: s.peer, Err: err}
}

func netOf(a net.Addr) string {
	if a == nil {
		return "tcp"
	}
	return a.Network()
}

// ---- connect ----

// Connect starts a non-blocking connect of bev to addr (a *net.TCPAddr, *net.UnixAddr,
// or any net.Addr whose Network is tcp, tcp4, tcp6 or unix), libevent's
// bufferevent_socket_connect. If bev has no socket, one is created for addr's family; it
// belongs to bev and is closed by Close even without CloseOnFree. If addr is nil, bev's
// socket is assumed to be connecting already and Connect waits for it.
//
// Connect returns an error only for unusable arguments (ErrNotSocket, ErrNoAddress,
// ErrAddress) or a closed bufferevent. Everything else — a refused or unreachable
// connect, a socket that cannot be created — is reported later, never inside the call:
// the event callback gets Error with a *net.OpError (errors.Is(err,
// syscall.ECONNREFUSED), ...) and reading and writing are disabled. On success it gets
// Connected. Output written before the connect completes is sent once it does.
//
// Loop-confined unless bev is ThreadSafe; then the connect starts on the loop.
func Connect(bev *bufferevent.BufferEvent, addr net.Addr) error {
	s, err := lookupSock(bev)
	if err != nil {
		return err
	}
	var sa sockaddr
	if addr != nil {
		if sa, err = sockaddrFromNetAddr(addr); err != nil {
			// addr may be a typed nil: name no method of it.
			return &net.OpError{Op: "dial", Err: err}
		}
	}
	if addr == nil {
		// Checked here, not only on the loop: a ThreadSafe call's queued work cannot
		// return an error to the caller.
		s.c.Lock()
		fd := s.fd
		s.c.Unlock()
		if fd < 0 {
			return ErrNoAddress
		}
	}
	return s.onLoopDo(func() error {
		if addr == nil && s.fd < 0 {
			return ErrNoAddress
		}
		s.cancelLookup()
		s.dial.Discard()
		s.connect(addr, sa, addr == nil)
		return nil
	})
}

// SetNoDelay sets (on) or clears TCP_NODELAY on bev's TCP socket. Sockets this package
// creates for Connect and ConnectHostname have it set, as the standard library's dialed
// connections do; call SetNoDelay(bev, false) to turn Nagle's algorithm back on (after
// Connect, or for ConnectHostname from the event callback on Connected, before any output
// leaves). A descriptor given to New, NewFromConn or SetFD is left as it is unless this
// is called. It returns ErrNotSocket for another type of bufferevent,
// bufferevent.ErrClosed for a closed one, ErrNoSocket when bev has no socket yet, and
// the setsockopt error (an *os.SyscallError) for a socket that is not TCP.
//
// Loop-confined unless bev is ThreadSafe.
func SetNoDelay(bev *bufferevent.BufferEvent, on bool) error {
	s, err := lookupSock(bev)
	if err != nil {
		return err
	}
	s.c.Lock()
	fd := s.fd
	s.c.Unlock()
	if fd < 0 {
		return ErrNoSocket
	}
	return setNoDelay(fd, on)
}

// onLoopDo runs fn with the core lock and a reference: at once for a loop-confined
// bufferevent, on the loop for a ThreadSafe one (whose fn errors are then dropped; fn
// must report through the event callback).
func (s *sock) onLoopDo(fn func() error) error {
	if s.c.Options()&bufferevent.ThreadSafe != 0 {
		s.c.Lock() // Close may run on another goroutine
		closed := s.c.Closed()
		s.c.Unlock()
		if closed {
			return bufferevent.ErrClosed
		}
		s.c.RunInLoop(func() {
			if !s.dead && !s.c.Closed() {
				fn()
			}
		})
		return nil
	}
	if s.dead || s.c.Closed() {
		return bufferevent.ErrClosed
	}
	s.c.Enter()
	defer s.c.Leave()
	return fn()
}

// connect starts one connect attempt; failures are reported asynchronously. With
// resume set, the existing socket is already connecting.
func (s *sock) connect(addr net.Addr, sa sockaddr, resume bool) {
	s.connAddr = addr
	if !resume {
		fd := s.fd
		if fd < 0 {
			var err error
			if fd, err = newSocket(sa.family); err != nil {
				s.connectFailedLater(err)
				return
			}
			if sa.family != afUnix {
				_ = setNoDelay(fd, true) // as net.Dial does; SetNoDelay undoes it
			}
			if err := s.setFD(fd); err != nil {
				closeFD(fd)
				s.connectFailedLater(err)
				return
			}
			s.ownFD = true
		}
		res, err := startConnect(fd, sa)
		if res == connectFailed {
			s.connectFailedLater(err)
			return
		}
	}
	s.connecting = true
	// The write event reports the outcome, whether or not the user enabled writing;
	// reading starts with the enabled directions.
	if err := s.armWrite(); err != nil {
		s.connecting = false
		s.connectFailedLater(err)
		return
	}
	if s.c.Active(backend.Read) {
		s.armRead()
	}
}

// connectFailedLater reports a connect failure detected inside Connect through the
// deferred event callback, so nothing runs synchronously (libevent's immediate-refusal
// path), or moves on to the next address of a hostname connect.
func (s *sock) connectFailedLater(err error) {
	s.lastErr = s.dialError(err)
	if s.dial.More() {
		s.base.Defer(func() {
			s.c.Enter()
			defer s.c.Leave()
			if !s.dead && !s.c.Closed() {
				s.connectNext()
			}
		})
		return
	}
	s.stopRead()
	s.stopWrite()
	s.disableUser(backend.ReadWrite)
	s.c.TriggerEvent(backend.Error, s.lastErr, backend.TriggerDefer)
}

// connectFailed handles a connect that failed after starting (libevent: both events
// deleted, event callback with Error and no direction bit). A hostname connect tries its
// next address first.
func (s *sock) connectFailed(err error) {
	s.lastErr = s.dialError(err)
	s.stopRead()
	s.stopWrite()
	if s.dial.More() {
		s.connectNext()
		return
	}
	s.c.TriggerEvent(backend.Error, s.lastErr, 0)
}

func (s *sock) dialError(err error) error { return dialer.DialError(s.connAddr, err) }

// ---- hostname connect ----

// ConnectHostname resolves host and connects bev to the first of its addresses that
// accepts, libevent's bufferevent_socket_connect_hostname — but trying every address in
// order rather than only the first. network is "tcp", "tcp4" or "tcp6" (the address
// families to consider); host is a name, an IPv4 address, or an IPv6 address with or
// without brackets; port is 1 to 65535.
//
// The lookup runs on its own goroutine with Go's resolver (net.DefaultResolver), bounded
// by ctx; meanwhile reading and writing are suspended, and the result is handled on the
// loop. A failed lookup reaches the event callback as Error with a *DNSError (also kept
// for DNSErr); a connect failure as with Connect, after the last address failed, with
// that address's error. Close, SetFD or another Connect cancels a lookup in progress;
// its result is then dropped without a callback.
//
// ConnectHostname returns an error only for unusable arguments or a closed bufferevent.
// Loop-confined unless bev is ThreadSafe; then the work starts on the loop.
func ConnectHostname(ctx context.Context, bev *bufferevent.BufferEvent, network, host string, port int) error {
	s, err := lookupSock(bev)
	if err != nil {
		return err
	}
	t, err := dialer.ParseTarget(network, host, port)
	if err != nil {
		return &net.OpError{Op: "dial", Net: network, Err: errors.Join(ErrAddress, err)}
	}
	return s.onLoopDo(func() error {
		s.startLookup(ctx, t)
		return nil
	})
}

// lookupNetIP resolves host names; tests replace it.
var lookupNetIP = net.DefaultResolver.LookupNetIP

// DNSErr returns the error of bev's last hostname lookup (a *DNSError), or nil if it
// succeeded or none ran; libevent's bufferevent_socket_get_dns_error.
//
// Loop-confined unless bev is ThreadSafe.
func DNSErr(bev *bufferevent.BufferEvent) error {
	s, err := lookupSock(bev)
	if err != nil {
		return nil
	}
	s.c.Lock()
	defer s.c.Unlock()
	return s.dial.Err()
}

// startLookup begins resolution with reading and writing suspended.
func (s *sock) startLookup(ctx context.Context, t dialer.Target) {
	s.cancelLookup()
	s.lastErr = nil
	s.c.SuspendRead(backend.SuspendLookup)
	s.c.SuspendWrite(backend.SuspendLookup)
	s.dial.Lookup = lookupNetIP
	s.dial.Start(ctx, s.base, t, s.lookupDone)
}

// cancelLookup abandons a lookup in progress; its result is dropped when it arrives.
func (s *sock) cancelLookup() {
	if s.dial.Cancel() && s.c != nil && !s.dead {
		s.c.UnsuspendRead(backend.SuspendLookup)
		s.c.UnsuspendWrite(backend.SuspendLookup)
	}
}

// lookupDone handles a lookup result on the loop (libevent's
// bufferevent_connect_getaddrinfo_cb).
func (s *sock) lookupDone(r dialer.Result) {
	if s.dead {
		return // closed: Close cancelled the lookup
	}
	s.c.Enter()
	defer s.c.Leave()
	if s.dead || s.c.Closed() || !s.dial.End(r) {
		return // cancelled
	}
	s.c.UnsuspendWrite(backend.SuspendLookup)
	s.c.UnsuspendRead(backend.SuspendLookup)
	if s.dead || s.c.Closed() {
		return
	}
	if err := s.dial.Settle(r); err != nil {
		s.disableUser(backend.ReadWrite)
		s.c.TriggerEvent(backend.Error, err, 0)
		return
	}
	s.connectNext()
}

// connectNext starts a connect to the next address of a hostname connect, replacing a
// failed socket.
func (s *sock) connectNext() {
	ap, _ := s.dial.Next()
	if s.fd >= 0 && (s.lastErr != nil) {
		// The previous attempt failed: its socket cannot be reused.
		old, own := s.fd, s.ownFD
		s.setFD(-1)
		if own || s.c.Options()&bufferevent.CloseOnFree != 0 {
			closeFD(old)
		}
	}
	sa, err := sockaddrFromAddrPort(ap)
	addr := net.TCPAddrFromAddrPort(ap)
	if err != nil {
		s.connAddr = addr
		s.connectFailedLater(err)
		return
	}
	s.connect(addr, sa, false)
}

// readInto reads at most howmuch bytes from fd straight into the end of in: one read(2)
// into one contiguous extent (evbuffer.Buffer.ReadWith). It does what
// evbuffer.ReadFromFD does minus its FIONREAD probe, which costs a second system call on
// every read and, in a request-response server, about 5% of the server's CPU time per
// message. It returns (0, io.EOF) at end of stream and the *os.SyscallError otherwise.
func readInto(in *evbuffer.Buffer, fd, howmuch int) (int, error) {
	n, err := in.ReadWith(howmuch, func(p []byte) (int, error) { return readFD(fd, p) })
	if n == 0 && err == nil {
		return 0, io.EOF
	}
	return n, err
}
