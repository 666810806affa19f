//go:build linux

package async

import (
	"errors"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/bufev/bufev/backends/async/internal/uring"
	"github.com/bufev/bufev/eventbase"
	"golang.org/x/sys/unix"
)

// testUnsupported, when set by a test, makes Available fail as on a kernel without
// io_uring.
var testUnsupported error

// teardownHook, when set by a test, receives the errors of the ring's Drain and Close.
var teardownHook func(drainErr, closeErr error)

// coopTaskrun: rings are set up with IORING_SETUP_COOP_TASKRUN, so that the kernel
// does not interrupt the loop's thread (an inter-processor interrupt while it runs) to
// finish each burst of completions; the loop enters the kernel every turn anyway
// (epoll_wait, io_uring_enter), where that work then runs. Measured: 12% less server CPU
// per message with 1000 busy connections. ASYNC_NOCOOP=1 in the environment turns it off
// (for comparisons).
var coopTaskrun = os.Getenv("ASYNC_NOCOOP") == ""

// multishot: receives are multishot receives (IORING_RECV_MULTISHOT, Linux 6.0) into a
// per-base ring of provided buffers (IORING_REGISTER_PBUF_RING, Linux 5.19) when the kernel
// has both. ASYNC_NOMULTISHOT=1 in the environment turns them off (for comparisons).
var multishot = os.Getenv("ASYNC_NOMULTISHOT") == ""

// directSend: a flush with a single connection to send for writes its output at once
// instead of preparing a send operation, on a ring serving at most directConns
// connections (see loopRing.flush). ASYNC_NODIRECT=1 in the environment turns it off
// (for comparisons).
var directSend = os.Getenv("ASYNC_NODIRECT") == ""

// directConns is the most connections a ring may serve and still send directly. With
// more, a turn with one connection to send for is a lull between fuller turns, and its
// send is better batched into the next io_uring_enter: direct sends there made more,
// smaller turns (measured with raw writes: 1000 connections 13.7% of the replies sent
// directly, +13% CPU per message; see "Raw direct sends" in doc.go).
const directConns = 4

// ringWait: the ring blocks for its base's loop (eventbase.Base.SetWaiter) in
// io_uring_enter, with a poll of the base's epoll descriptor armed on the ring, instead of
// being watched by the poller (see "Waiting in the ring" in doc.go). ASYNC_NOWAIT=1 in
// the environment turns it off (for comparisons).
var ringWait = os.Getenv("ASYNC_NOWAIT") == ""

// The provided-buffer pool of a base: msBufCount buffers of msBufSize bytes, mapped outside
// the Go heap. One buffer is consumed per completion and given back as soon as its bytes
// are copied into the input, so the count bounds the completions in flight between two
// reaps (one per connection per turn in request-response traffic).
//
// Only msBufInitial of them are provided to the kernel at first; the pool doubles the
// buffers it provides when a reap finds that at least half of them were out (received
// and not yet given back) or a receive found it empty (see loopRing.reap). The kernel
// takes buffers in the order they are given back, so a pool with every buffer provided
// cycles through all of its memory (8 MiB, 2048 page faults in the kernel's copies) even
// when one connection is served; growing with the demand keeps it to what the traffic
// needs (see "Provided buffers on demand" in doc.go).
var (
	msBufCount   = 2048
	msBufSize    = 4096
	msBufInitial = 64
)

// msGroup is the buffer group id of the pool.
const msGroup = 1

// smallBatch is the most operations a flush may submit and still reap their inline
// completions at once.
var smallBatch = 16

// Ring sizing. The submission queue holds ringEntries operations; a turn that prepares
// more (a thousand connections each receiving and sending) makes the ring flush the
// queue itself, one extra io_uring_enter per ringEntries operations. Tests shrink it.
var (
	ringEntries  uint32 = 2048
	ringCQ       uint32 // 0: twice ringEntries
	drainTimeout = 2 * time.Second
)

// User data layout: the owner's id in the high bits, the operation kind in the low byte.
const (
	kindRead          = 1
	kindWrite         = 2
	kindConnect       = 3
	kindCancelRead    = 4
	kindCancelWrite   = 5
	kindCancelConnect = 6
	kindClose         = 7
	kindPoll          = 8    // the poll of the base's epoll descriptor (owner id 0)
	kindAccept        = 0x10 // + slot
	kindCancelAccept  = 0x20 // + slot
	kindBits          = 8
)

// owner is whatever issues operations on a loopRing: a connection or a listener.
type owner interface {
	// complete handles the final completion of one of the owner's operations. It runs
	// on the loop goroutine, without any lock held.
	complete(kind int, res int32, flags uint32)
}

// loopRing is the one io_uring instance of a base, shared by every async bufferevent
// and listener on it. It is loop-confined except for the registry bookkeeping.
type loopRing struct {
	base *eventbase.Base
	ring *uring.Ring
	ev   *eventbase.Event // persistent Read event on the ring's fd (or its eventfd)
	wev  *eventbase.Event // the event the loop runs when Wait reports completions
	evOn bool

	users   int         // live bufferevents and listeners
	owners  []ownerSlot // by id's index, while they have operations in flight or are live
	freeIDs []uint32    // indexes of owners forgotten, for newID to reuse
	dirty   []*conn     // connections with output to send at the next flush
	conns   int         // live connections (async bufferevents) on the ring
	readQ   []*conn     // bulk receives to start at the flush, after the sends
	flushQ  bool        // flushFn is queued on the base
	flushFn func()      // lr.flush, allocated once
	reapFn  uring.CompletionFunc
	closed  bool
	fatal   error // the ring cannot be trusted any more (completions lost)
	efd     int   // eventfd announcing completions of a single-issuer ring, or -1
	// waiting: the ring blocks for the base's loop (Wait, wait_linux.go) instead of
	// being watched by its poller (ev); evOn then tells that the ring holds the base's
	// AddVirtual(1) while operations are in flight. canWait: it can (the base's poller
	// is epoll, no other Waiter); it waits whenever it can and is not receiving by
	// readiness. pollFD is the poller's descriptor, which the ring watches with a
	// one-shot poll; pollArmed tells that poll is in flight. waitErr is an error of
	// Wait, handled by the event's callback (waitFailed).
	waiting   bool
	canWait   bool
	pollFD    int
	pollArmed bool
	waitErr   error
	// stopClose unregisters teardown from the base's OnClose functions.
	stopClose func() bool
	efdBuf    [8]byte

	// submits counts the io_uring_enter calls that submitted operations and maxBatch
	// the most operations one of them carried; for tests.
	submits, maxBatch int
	// bufs is the base's pool of provided receive buffers (multishot receives), created
	// with the first receive; msState is 0 before that, 1 when multishot receives are
	// in use, -1 when the kernel lacks them (or ASYNC_NOMULTISHOT is set).
	bufs    *uring.BufRing
	msState int
	// noBufs counts multishot receives ended by an empty pool (ENOBUFS); for tests.
	noBufs int
	// bufHeld counts the pool's buffers out of the kernel (received, not yet given
	// back), bufSeen those received during the current reap; bufGrows counts the
	// times the pool provided more buffers (for tests).
	bufHeld, bufSeen, bufGrows int
	// msArmed counts the multishot receives armed (prepared or in flight).
	msArmed int
	// readLaters counts bulk receives that waited for the send of their bytes
	// (conn.readLater); for tests.
	readLaters int
	// directSend: this flush writes its one connection's output at once (see flush);
	// directSends counts such writes that sent everything (for tests).
	directSend  bool
	directSends int
	// ready: the ring's connections receive by readiness (ready_linux.go); canReady:
	// the ring may (readiness is on and the ring is not single-issuer).
	ready, canReady bool
	// modeQ: syncModes is queued on the base (ThreadSafe connections switch there, see
	// setReady); modeSyncFn is lr.syncModes, allocated once.
	modeQ      bool
	modeSyncFn func()
	// resubmits counts operations the kernel cancelled without being asked (the exit of
	// the thread that submitted them) and that were submitted again; for tests.
	resubmits int
	// lockTid is the thread the loop goroutine was locked to by holdThread (0: none);
	// locks and unlocks count holdThread's LockOSThread and UnlockOSThread calls (for
	// tests). See lockthread_linux.go.
	lockTid, locks, unlocks int
	// waitTick counts the ring's waits (holdThread's check every 64th).
	waitTick uint32
}

// rings is the per-base registry.
var rings = struct {
	sync.Mutex
	m map[*eventbase.Base]*loopRing
}{m: make(map[*eventbase.Base]*loopRing)}

// Available reports whether async bufferevents can be created here: nil on a Linux
// kernel whose io_uring offers what the backend needs (Linux 5.11 or later, not disabled
// by the kernel.io_uring_disabled sysctl or a seccomp filter), otherwise an error
// matching errors.ErrUnsupported (and ErrUnsupported) that says why. The answer is
// computed once. Pick a backend with it:
//
//	if async.Available() == nil {
//		bev, err = async.New(base, fd, opts)
//	} else {
//		bev, err = socket.New(base, fd, opts)
//	}
//
// Safe for concurrent use.
func Available() error {
	if testUnsupported != nil {
		return errors.Join(ErrUnsupported, testUnsupported)
	}
	if err := uring.Supported(); err != nil {
		return errors.Join(ErrUnsupported, err)
	}
	return nil
}

// acquireRing returns base's ring, creating it on first use, and counts one more user.
// Loop-confined (to base), like the constructors that call it.
func acquireRing(base *eventbase.Base) (*loopRing, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	rings.Lock()
	lr := rings.m[base]
	rings.Unlock()
	if lr != nil {
		lr.users++
		return lr, nil
	}
	opts := []uring.Option{uring.WithCloseTimeout(drainTimeout)}
	if ringCQ != 0 {
		opts = append(opts, uring.WithCQEntries(ringCQ))
	}
	single := singleThread(base)
	if single {
		opts = append(opts, uring.WithSingleIssuer())
	} else if coopTaskrun {
		opts = append(opts, uring.WithCoopTaskrun())
	}
	r, err := uring.New(ringEntries, opts...)
	if err != nil {
		if errors.Is(err, errors.ErrUnsupported) {
			return nil, errors.Join(ErrUnsupported, err)
		}
		return nil, err
	}
	lr = &loopRing{base: base, ring: r, users: 1, efd: -1}
	lr.flushFn = lr.flush
	lr.reapFn = lr.onCompletion
	if ringWait {
		if err := lr.startWaiting(); err != nil {
			r.Close()
			return nil, err
		}
	}
	// A single-issuer ring keeps ring receives: watched by the poller it would need its
	// eventfd, and one more io_uring_enter per wake-up to run its deferred work.
	lr.canReady = readyOn && !single
	watchFD := r.FD()
	if lr.canWait && single {
		// The ring blocks for the loop: a single-issuer ring's deferred work runs
		// inside its waits (no eventfd).
	} else if single {
		// Deferred task work is announced through an eventfd, not the ring's fd.
		efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
		if err == nil {
			err = r.RegisterEventFD(efd)
			if err != nil {
				unix.Close(efd)
			}
		}
		if err != nil {
			r.Close()
			return nil, err
		}
		lr.efd, watchFD = efd, efd
	}
	ev, err := base.NewEvent(watchFD, eventbase.Read|eventbase.Persist, lr.onReadable)
	if err != nil {
		lr.stopWaiting()
		r.Close()
		if lr.efd >= 0 {
			unix.Close(lr.efd)
		}
		return nil, err
	}
	lr.ev = ev
	if lr.canReady && runtime.GOMAXPROCS(0) >= readyProcs {
		// No connection yet: receive by readiness, the poller waiting.
		lr.ready = true
		lr.setWaiting(false)
	}
	// The ring lives as long as its users, or until the base closes, whichever is
	// first: closing the base tears it down (operations cancelled and drained) even if
	// some async bufferevents or listeners were left open.
	stop, err := base.OnClose(lr.teardown)
	if err != nil {
		lr.stopWaiting()
		ev.Free()
		r.Close()
		if lr.efd >= 0 {
			unix.Close(lr.efd)
		}
		return nil, err
	}
	lr.stopClose = stop
	rings.Lock()
	rings.m[base] = lr
	rings.Unlock()
	return lr, nil
}

// ownerSlot is one owner's place in loopRing.owners. An id is the slot's index in its
// low 32 bits and the slot's generation above (24 bits, so that an id shifted by kindBits
// fits in the user data): a slot reused by newID gets a new generation, and lookup
// answers nil for an id of an owner it held before. (Completions never arrive for a
// forgotten owner, which had nothing in flight; the generation makes sure.) A slice
// rather than a map: a completion's lookup is an index and a compare, where a map
// lookup cost about 180 instructions per echoed message at 1000 connections (see
// "Operation tables" in doc.go).
type ownerSlot struct {
	gen uint32
	o   owner
}

const ownerGenMask = 1<<24 - 1

// newID returns a fresh owner id.
func (lr *loopRing) newID(o owner) uint64 {
	var idx uint32
	if n := len(lr.freeIDs); n > 0 {
		idx = lr.freeIDs[n-1]
		lr.freeIDs = lr.freeIDs[:n-1]
	} else {
		idx = uint32(len(lr.owners))
		lr.owners = append(lr.owners, ownerSlot{})
	}
	s := &lr.owners[idx]
	s.gen = (s.gen + 1) & ownerGenMask
	if s.gen == 0 {
		s.gen = 1
	}
	s.o = o
	return uint64(s.gen)<<32 | uint64(idx)
}

// lookup returns the owner of id, or nil if it was forgotten.
func (lr *loopRing) lookup(id uint64) owner {
	idx := uint32(id)
	if int(idx) >= len(lr.owners) {
		return nil
	}
	s := &lr.owners[idx]
	if uint64(s.gen) != id>>32 {
		return nil
	}
	return s.o
}

// release drops one user; the last one tears the ring down: every operation still in
// flight is cancelled and its completion awaited (Drain), so no memory the kernel may
// still write is released, then the ring is closed.
func (lr *loopRing) release() {
	lr.users--
	if lr.users > 0 || lr.closed {
		return
	}
	lr.teardown()
}

func (lr *loopRing) teardown() {
	if lr.closed {
		return
	}
	rings.Lock()
	if rings.m[lr.base] == lr {
		delete(rings.m, lr.base)
	}
	rings.Unlock()
	singleIssuer.Lock()
	delete(singleIssuer.m, lr.base)
	singleIssuer.Unlock()
	lr.closed = true // completions delivered from here on only do bookkeeping
	if lr.stopClose != nil {
		lr.stopClose()
		lr.stopClose = nil
	}
	lr.stopWaiting()
	if lr.ev != nil {
		lr.ev.Free()
		lr.ev = nil
	}
	if lr.wev != nil {
		lr.wev.Free()
		lr.wev = nil
	}
	derr := lr.ring.Drain(drainTimeout, lr.reapFn)
	cerr := lr.ring.Close()
	if lr.efd >= 0 {
		unix.Close(lr.efd)
		lr.efd = -1
	}
	if teardownHook != nil {
		teardownHook(derr, cerr)
	}
	lr.owners, lr.freeIDs = nil, nil
	lr.dirty, lr.readQ = nil, nil
	lr.releaseThread(false)
}

// schedule makes sure prepared operations are submitted this loop turn: the flush runs
// from the base's deferred queue, after the callbacks of this turn, so every operation
// prepared by them goes to the kernel in one io_uring_enter.
func (lr *loopRing) schedule() {
	if lr.flushQ || lr.closed {
		return
	}
	lr.flushQ = true
	lr.base.Defer(lr.flushFn)
}

// markDirty queues c to have its output sent at the next flush.
func (lr *loopRing) markDirty(c *conn) {
	if c.dirty {
		return
	}
	c.dirty = true
	lr.dirty = append(lr.dirty, c)
	lr.schedule()
}

// flush prepares the sends of dirty connections and submits everything prepared.
func (lr *loopRing) flush() {
	lr.flushQ = false
	if lr.closed {
		return
	}
	// Ring mode without the ring's wait (another poller, ASYNC_NOWAIT): the flush is
	// where a goroutine newly running the loop shows (see holdThread).
	lr.holdThread(!lr.waiting)
	// With a single connection to send for, a send operation batches nothing: its
	// output is written at once (write(2), as the socket backend does), and only what
	// does not fit in the socket becomes a send operation. That spares the operation's
	// preparation, its completion (posted to the ring, waking the ring's descriptor in
	// the poller) and its reaping: about 9% of the server's CPU per message with one
	// request-response connection (see "Direct sends" in doc.go).
	lr.directSend = lr.direct()
	lr.flushTurn()
	lr.directSend = false
}

// direct reports whether this flush writes its connection's output at once: one
// connection to send for, on a ring with few connections.
func (lr *loopRing) direct() bool {
	return directSend && len(lr.dirty) == 1 && lr.conns <= directConns
}

// flushTurn is flush's body.
func (lr *loopRing) flushTurn() {
	for i := 0; i < len(lr.dirty); i++ {
		c := lr.dirty[i]
		lr.dirty[i] = nil
		c.flushWrite()
		if lr.closed {
			return
		}
	}
	lr.dirty = lr.dirty[:0]
	lr.startReads()
	// Operations that complete inline while being submitted (a send into a socket with
	// room) have their completions in the queue as soon as Submit returns. For a small
	// batch, reap them now rather than after another trip through the poller (one
	// epoll_wait less per request-response exchange); a large batch is better left for
	// the next turn, where its completions are reaped together with the receives that
	// arrive meanwhile, fewer and fuller turns (measured: BenchmarkEcho).
	for round := 0; ; round++ {
		small := lr.ring.Pending() <= smallBatch
		lr.submit()
		if lr.closed || round == 3 || !small {
			return
		}
		// (On a single-issuer ring this also clears the eventfd the inline completions
		// signalled, sparing the next poll a wake-up with nothing new to reap.)
		n := lr.reap()
		if lr.closed {
			return
		}
		// The completions just reaped may have made connections dirty (a receive
		// echoed at once): a single one is written directly here too, whatever the
		// flush started with (a flush that started with none to send, run for a
		// receive's re-arming, used to turn such a reply into a send operation, whose
		// own flush then found the next request the same way: 40% of the replies with
		// one connection went out as send operations).
		lr.directSend = lr.direct()
		for i := 0; i < len(lr.dirty); i++ {
			c := lr.dirty[i]
			lr.dirty[i] = nil
			c.flushWrite()
			if lr.closed {
				return
			}
		}
		lr.dirty = lr.dirty[:0]
		lr.startReads()
		if n == 0 || lr.ring.Pending() == 0 {
			lr.watch()
			return
		}
	}
}

// startReads starts the bulk receives queued by queueRead (flush, after the sends).
func (lr *loopRing) startReads() {
	for i := 0; i < len(lr.readQ); i++ {
		c := lr.readQ[i]
		lr.readQ[i] = nil
		c.readQueued = false
		if c.dead || lr.closed {
			continue
		}
		c.c.Enter()
		if c.readLater && !c.writing && !c.dead {
			c.startRead()
		}
		c.c.Leave()
	}
	lr.readQ = lr.readQ[:0]
}

// queueRead queues c's next bulk receive for the flush, after the turn's sends: a
// receive waiting for a send (conn.readLater) whose send completed starts there rather
// than at once, so that the kernel, which runs a submission's operations in order, makes
// the sends' copies out of memory the receives of the turn before filled before this
// turn's receives copy anything in (see "Sends before receives" in doc.go).
func (lr *loopRing) queueRead(c *conn) {
	if c.readQueued {
		return
	}
	c.readQueued = true
	lr.readQ = append(lr.readQ, c)
	lr.schedule()
}

// submit hands the prepared operations to the kernel and keeps the ring's fd watched
// while operations are in flight.
func (lr *loopRing) submit() {
	if lr.closed {
		return
	}
	if lr.ring.Pending() > 0 {
		lr.submits++
		lr.maxBatch = max(lr.maxBatch, lr.ring.Pending())
		if _, err := lr.ring.Submit(); err != nil {
			if errors.Is(err, uring.ErrCQOverflow) || errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.ENOMEM) {
				// Older kernels refuse submissions while completions overflow; the
				// entries stay queued. Reap, and try again next turn.
				lr.reap()
				if !lr.closed {
					lr.schedule()
				}
			} else if errors.Is(err, uring.ErrCompletionsLost) || errors.Is(err, unix.EEXIST) {
				// Lost completions, or a single-issuer ring entered from another
				// thread: the ring cannot go on.
				lr.fail(err)
				return
			}
		}
	}
	lr.watch()
}

// watch keeps the ring's event pending exactly while operations are in flight, so that
// an idle base's Dispatch can return (libevent's virtual events for IOCP).
func (lr *loopRing) watch() {
	if lr.closed || lr.ev == nil {
		return
	}
	if lr.fatal != nil && !lr.waiting {
		// A failed ring is not watched: its connections have failed and the teardown
		// drains it. (A single-issuer ring that can no longer run its deferred work
		// would keep its descriptor readable and spin the loop.)
		if lr.evOn {
			_ = lr.ev.Del()
			lr.evOn = false
		}
		return
	}
	inFlight := lr.ring.InFlight()
	if lr.pollArmed {
		inFlight-- // the poll of the base's poller keeps nothing running
	}
	want := inFlight > 0
	if want == lr.evOn {
		return
	}
	if lr.waiting {
		// The ring is not watched: it keeps the loop running while it has work.
		if want {
			lr.base.AddVirtual(1)
		} else {
			lr.base.AddVirtual(-1)
		}
		lr.evOn = want
		return
	}
	if want {
		lr.evOn = lr.ev.Add() == nil
	} else {
		_ = lr.ev.Del()
		lr.evOn = false
	}
}

// onReadable is the ring's event callback: completions are waiting.
func (lr *loopRing) onReadable(int, eventbase.What) {
	lr.holdThread(!lr.waiting)
	if lr.waitErr != nil && lr.waiting {
		lr.waitFailed()
	}
	lr.reap()
	if !lr.closed {
		if lr.ring.Pending() > 0 || len(lr.dirty) > 0 {
			lr.schedule()
		} else {
			lr.watch()
		}
	}
}

// reap delivers the waiting completions and returns how many. On a single-issuer ring it
// first clears the eventfd and runs the deferred task work, in that order, so that a
// signal arriving meanwhile stays pending for the poller.
func (lr *loopRing) reap() int {
	if lr.closed {
		return 0
	}
	if lr.efd >= 0 {
		_, _ = unix.Read(lr.efd, lr.efdBuf[:])
		if err := lr.ring.RunTaskWork(); err != nil && (errors.Is(err, uring.ErrCompletionsLost) || errors.Is(err, unix.EEXIST)) {
			lr.fail(err)
			return 0
		}
	}
	held := lr.bufHeld
	lr.bufSeen = 0
	n, err := lr.ring.Reap(lr.reapFn)
	if err != nil && errors.Is(err, uring.ErrCompletionsLost) {
		lr.fail(err)
	}
	// The kernel needed held+bufSeen buffers since the previous reap: when that is half
	// of what the pool provides, provide more before it runs dry.
	if lr.bufs != nil && 2*(held+lr.bufSeen) >= lr.bufs.Provided() {
		lr.growBufs()
	}
	return n
}

// armed counts d more (or fewer) multishot receives armed on the ring, and makes the
// pool provide at least one buffer per armed receive (up to msBufCount): a burst of data
// on every connection at once then finds a buffer for each, where a pool sized by past
// demand alone would end most of those receives with ENOBUFS, each falling back to a
// receive into pinned input space.
func (lr *loopRing) armed(d int) {
	lr.msArmed += d
	if d > 0 && lr.bufs != nil && !lr.closed && lr.msArmed > lr.bufs.Provided() {
		if lr.bufs.Grow(max(lr.bufs.Provided(), lr.msArmed-lr.bufs.Provided())) > 0 {
			lr.bufGrows++
		}
	}
}

// growBufs doubles the buffers the pool provides to the kernel (up to msBufCount).
func (lr *loopRing) growBufs() {
	if lr.bufs != nil && !lr.closed && lr.bufs.Grow(lr.bufs.Provided()) > 0 {
		lr.bufGrows++
	}
}

// onCompletion dispatches one completion to its owner.
func (lr *loopRing) onCompletion(ud uint64, res int32, flags uint32) {
	if ud == uring.ReservedUserData {
		return
	}
	if ud == kindPoll {
		lr.pollArmed = false
		return
	}
	if _, ok := uring.BufferID(flags); ok {
		lr.bufHeld++
		lr.bufSeen++
	}
	id := ud >> kindBits
	o := lr.lookup(id)
	if o == nil {
		if bid, ok := uring.BufferID(flags); ok {
			lr.recycle(bid)
		}
		return
	}
	o.complete(int(ud&(1<<kindBits-1)), res, flags)
}

// bufRing returns the base's provided-buffer pool for multishot receives, creating it on
// first use, or nil when multishot receives are off or unsupported. The probe runs once
// per ring: a kernel without provided-buffer rings fails the registration; one without
// multishot receives (5.19) fails the first receive with EINVAL, and the connection that
// sees it calls noMultishot.
func (lr *loopRing) bufRing() *uring.BufRing {
	if lr.msState == 0 {
		lr.msState = -1
		if multishot {
			if b, err := lr.ring.NewBufRingPartial(msGroup, msBufCount, msBufSize, min(msBufInitial, msBufCount)); err == nil {
				lr.bufs, lr.msState = b, 1
			}
		}
	}
	if lr.msState < 0 || lr.closed {
		return nil
	}
	return lr.bufs
}

// noMultishot turns multishot receives off for the rest of the ring's life.
func (lr *loopRing) noMultishot() { lr.msState = -1 }

// recycle gives a provided buffer back to the kernel.
func (lr *loopRing) recycle(id uint16) {
	if lr.bufs != nil && lr.bufs.Recycle(id) == nil {
		lr.bufHeld--
	}
}

// forget removes an owner once it is closed and has nothing in flight.
func (lr *loopRing) forget(id uint64) {
	if lr.lookup(id) == nil {
		return
	}
	idx := uint32(id)
	lr.owners[idx].o = nil
	lr.freeIDs = append(lr.freeIDs, idx)
}

// fail handles a ring that lost completions: operations whose completion was dropped
// will never finish, so every owner is failed and the ring is abandoned (its memory
// stays pinned: see uring's Close).
func (lr *loopRing) fail(err error) {
	if lr.fatal != nil {
		return
	}
	lr.fatal = err
	for i := range lr.owners {
		if c, ok := lr.owners[i].o.(*conn); ok {
			c.ringFailed(err)
		}
	}
}

// singleIssuer lists the bases whose rings are made single-issuer (SetSingleIssuer).
var singleIssuer = struct {
	sync.Mutex
	m map[*eventbase.Base]bool
}{m: make(map[*eventbase.Base]bool)}

func singleThread(base *eventbase.Base) bool {
	singleIssuer.Lock()
	defer singleIssuer.Unlock()
	return singleIssuer.m[base]
}

// SetSingleIssuer makes the io_uring ring of base a single-issuer ring with deferred
// task work (IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, Linux 6.1): the
// kernel then finishes completions only when the loop asks for them, in batches, instead
// of interrupting the loop's thread (an inter-processor interrupt and a task-work run
// per burst of completions). On an epoll base they run inside the ring's wait for the
// loop (see "Waiting in the ring" in the package documentation); on another poller the
// kernel announces them through an eventfd the base watches, which costs a single
// request-response connection one more io_uring_enter per message (see BenchmarkEcho,
// server=async-si).
//
// It comes with a hard rule: every async bufferevent and listener of base must be
// created, used and closed, and base's loop run, by one goroutine locked to its OS
// thread with runtime.LockOSThread from before the first of them is created until after
// the last is closed. The kernel rejects submissions from any other thread (EEXIST);
// the backend then fails every bufferevent of the base with that error. Call it before
// the first async bufferevent or listener is created on base (later calls apply to the
// next ring, after the current one is torn down). It returns an error matching
// errors.ErrUnsupported when the kernel lacks the feature.
//
// The setting applies to base's next ring (or its current one, if created after the
// call) and ends with it: once the last async bufferevent and listener of base are
// closed and the ring is torn down, call SetSingleIssuer again before creating new ones.
//
// Safe for concurrent use.
func SetSingleIssuer(base *eventbase.Base) error {
	if base == nil {
		return errors.New("async: nil base")
	}
	if err := Available(); err != nil {
		return err
	}
	probeSI.once.Do(func() {
		r, err := uring.New(2, uring.WithSingleIssuer())
		if err != nil {
			probeSI.err = errors.Join(ErrUnsupported, err)
			return
		}
		r.Close()
	})
	if probeSI.err != nil {
		return probeSI.err
	}
	singleIssuer.Lock()
	singleIssuer.m[base] = true
	singleIssuer.Unlock()
	return nil
}

var probeSI struct {
	once sync.Once
	err  error
}
