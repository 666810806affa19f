//go:build linux

package async

import (
	"io"
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/backend"
	"github.com/bufev/bufev/eventbase"
	"golang.org/x/sys/unix"
)

// Receiving by readiness (see "Receiving by readiness" in doc.go). On a ring serving
// few connections there is nothing to batch: each connection then receives as the
// socket backend does, with a persistent Read event on its socket and a read(2) into
// the input when it fires, its sends are direct, and with no ring operation in flight
// the loop blocks in epoll_wait, not in the ring. A ring with more connections uses ring
// receives (multishot or PinRead), and the loop waits in the ring.

// readyOn: rings with few connections receive by readiness. ASYNC_NOREADY=1 in the
// environment turns it off (for comparisons).
var readyOn = os.Getenv("ASYNC_NOREADY") == ""

// A ring receiving by readiness switches to ring receives when it serves more than
// readyMax connections, and back when it serves readyMin or fewer: the gap keeps a
// count that hovers around the threshold from switching every connection's receive
// mode with every accept and close. readyMax is directConns: where direct sends stop,
// so does the rest of the socket backend's path.
const (
	readyMax = directConns
	readyMin = 2
)

// readyHandler is the conn as the eventbase.Handler of its readiness event.
type readyHandler conn

func (h *readyHandler) HandleEvent(fd int, what eventbase.What) { (*conn)(h).onReady(fd, what) }

// armReady makes the readiness event of the connection's socket pending (startRead, in
// readiness mode, once the read budget allows a read), creating it for the current
// descriptor if needed.
func (c *conn) armReady() {
	if c.rev != nil && c.revFD != c.fd {
		c.rev.Free()
		c.rev, c.revOn = nil, false
	}
	if c.revOn {
		return
	}
	if c.rev == nil {
		ev, err := c.base.NewHandlerEvent(c.fd, eventbase.Read|eventbase.Persist, (*readyHandler)(c))
		if err != nil {
			c.fail(backend.Read, backend.Reading|backend.Error, err)
			return
		}
		c.rev, c.revFD = ev, c.fd
	}
	if err := c.rev.Add(); err != nil {
		c.fail(backend.Read, backend.Reading|backend.Error, err)
		return
	}
	c.revOn = true
}

// stopReady makes the readiness event not pending (reading disabled or suspended, a
// switch to ring receives, Close, SetFD).
func (c *conn) stopReady() {
	if c.revOn {
		_ = c.rev.Del()
		c.revOn = false
	}
}

// freeReady frees the readiness event (Close).
func (c *conn) freeReady() {
	if c.rev != nil {
		c.rev.Free()
		c.rev, c.revOn = nil, false
	}
}

// onReady reads what the socket holds into the input, at most MaxToRead (the socket
// backend's read callback).
func (c *conn) onReady(fd int, what eventbase.What) {
	c.c.Enter()
	defer c.c.Leave()
	if c.gone() || !c.rdy || fd != c.fd || what&eventbase.Read == 0 {
		return
	}
	if !c.c.Active(backend.Read) || c.connecting {
		// Disabled or suspended from another goroutine, not yet synced to the loop; or
		// a connect started since (its outcome is the connect's to report, and the
		// event is armed again once it succeeds).
		c.stopReady()
		return
	}
	m := c.c.MaxToRead()
	if m <= 0 {
		c.suspendNoRead()
		return
	}
	in := c.c.Input()
	in.Unfreeze(false)
	n, err := in.ReadWith(m, c.readFn)
	in.Freeze(false)
	switch {
	case err != nil:
		if errno, ok := err.(syscall.Errno); ok {
			if errno == unix.EAGAIN {
				return
			}
			err = c.opError("read", errno)
		}
		c.fail(backend.Read, backend.Reading|backend.Error, err)
	case n == 0:
		c.fail(backend.Read, backend.Reading|backend.EOF, io.EOF)
	default:
		c.c.ChargeRead(n)
		c.readArrived()
	}
}

// readFD is read(2) on the connection's non-blocking socket, retried on EINTR, as a raw
// system call (a non-blocking read never blocks, so the scheduler need not know, as in
// the socket backend). It returns the bare errno.
func (c *conn) readFD(p []byte) (int, error) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	for {
		n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(c.fd), uintptr(ptr), uintptr(len(p)))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(n), nil
	}
}

// switchReady moves the connection to receiving by readiness (on) or to ring receives,
// in order and without loss: to readiness, a ring receive in flight is cancelled and
// the event is armed only after its final completion (the bytes of completions that
// come before it are appended as usual); to ring receives, the event stops and the ring
// receive starts at once. Called by the ring on the loop, without the core's lock (and,
// for a ThreadSafe connection, with no other bufferevent's lock held: see setReady).
func (c *conn) switchReady(on bool) {
	if c.dead {
		return
	}
	c.c.Enter()
	defer c.c.Leave()
	if c.dead || c.rdy == on {
		return
	}
	c.rdy = on
	if on {
		if c.reading {
			c.cancelRead() // its final completion calls startRead, which arms the event
			return
		}
	} else {
		c.stopReady()
	}
	c.startRead()
}

// setReady switches every connection of the ring to receiving by readiness (on) or to
// ring receives, and the loop's wait with them: in readiness mode the poller waits (the
// ring's descriptor watched while operations are in flight), otherwise the ring.
//
// Loop-confined connections switch at once. A ThreadSafe connection's switch takes its
// lock, and setReady runs inside another connection's Close (that bufferevent's lock
// held) or a constructor the caller may call holding a lock (WithLock): taking a second
// lock there would invert the order of a goroutine that holds this connection's lock
// and calls the closing one (TestReadySwitchLockOrder deadlocked). So ThreadSafe
// connections switch from the base's deferred queue, later in the same loop turn, with
// no lock held; until then they keep their mode, which works either way (the ring is
// watched by the poller while its operations are in flight, and its wait polls the
// poller's descriptor).
func (lr *loopRing) setReady(on bool) {
	lr.ready = on
	lr.setWaiting(lr.canWait && !on)
	if on {
		lr.releaseThread(false) // on the loop goroutine: at once; off it, left to holdThread
	}
	for i := 0; i < len(lr.owners); i++ {
		c, ok := lr.owners[i].o.(*conn)
		if !ok || c.dead || c.rdy == on {
			continue
		}
		if c.c.Options()&bufferevent.ThreadSafe != 0 {
			lr.queueModeSync()
			continue
		}
		c.switchReady(on)
	}
}

// queueModeSync queues syncModes on the base's deferred queue, once.
func (lr *loopRing) queueModeSync() {
	if lr.modeQ || lr.closed {
		return
	}
	if lr.modeSyncFn == nil {
		lr.modeSyncFn = lr.syncModes
	}
	lr.modeQ = true
	lr.base.Defer(lr.modeSyncFn)
}

// syncModes brings every connection to the ring's current receive mode (the ThreadSafe
// ones setReady left; the mode may have changed again since, in the same turn).
func (lr *loopRing) syncModes() {
	lr.modeQ = false
	for i := 0; i < len(lr.owners) && !lr.closed; i++ {
		if c, ok := lr.owners[i].o.(*conn); ok {
			c.switchReady(lr.ready)
		}
	}
}

// readyProcs is the GOMAXPROCS readiness needs. With a single P the base's epoll
// poller passes through the scheduler before each blocking wait (eventbase's
// GOMAXPROCS-1 yield), and for a loop goroutine locked to its thread (the user's own
// lock; the ring locks its loop in ring-receive mode only), that yield costs two
// thread switches per wait: measured, one connection pinned to one CPU, 11.8 µs per
// message by readiness against 8.2 µs with ring receives, whose wait in the ring does
// not yield (see "Receiving by readiness" in doc.go). Tests lower it.
var readyProcs = 2

// addConns counts d more (or fewer) connections on the ring and switches the receive
// mode when the count crosses readyMax (up) or readyMin (down), or when GOMAXPROCS
// fell below readyProcs.
func (lr *loopRing) addConns(d int) {
	lr.conns += d
	if !lr.canReady || lr.closed {
		return
	}
	want := lr.ready
	switch {
	case runtime.GOMAXPROCS(0) < readyProcs:
		want = false
	case lr.ready && lr.conns > readyMax:
		want = false
	case !lr.ready && lr.conns <= readyMin:
		want = true
	}
	if want != lr.ready {
		lr.setReady(want)
	}
}
