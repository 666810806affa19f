package eventbase

import (
	"fmt"
	"slices"
	"unsafe"
)

// fdInfo is the per-fd entry of the fd map (libevent's evmap_io): the events
// on the fd and how many want each condition; the poller is told only when
// the aggregate interest changes. It is exactly 64 bytes (int32 counts), an
// aligned size class: a ready fd costs one cache line here (TestFDInfoLayout).
type fdInfo struct {
	evs    []*Event // starts on inl: an fd with one or two events needs no other object
	nread  int32
	nwrite int32
	nclose int32
	net    int32 // events asking for ET
	mask   What  // interest currently registered with the poller
	idx    int32 // poller scratch (poll: index in the pollfd array)
	inl    [2]*Event
}

// fdSlot is an entry of Base.fds: the fd's fdInfo and, when the fd has
// exactly one event, that event, so that direct dispatch of a ready fd
// with one event (a socket reading, its write event idle) goes from the
// slot to the event without reading the fdInfo's cache line.
type fdSlot struct {
	fi  *fdInfo
	one *Event // fi.evs[0] when len(fi.evs) == 1, else nil (setOne)
}

// fds below this are kept in a slice indexed by fd, others in a map
// (Windows SOCKET handles can be large).
const maxSliceFD = 1 << 20

func (b *Base) fdLookup(fd int) *fdInfo {
	if fd >= 0 && fd < len(b.fds) {
		return b.fds[fd].fi
	}
	if fd >= maxSliceFD {
		return b.fdMap[fd]
	}
	return nil
}

func (b *Base) fdGet(fd int) *fdInfo {
	if fi := b.fdLookup(fd); fi != nil {
		return fi
	}
	fi := &fdInfo{idx: -1}
	fi.evs = fi.inl[:0]
	if fd < maxSliceFD {
		if fd >= len(b.fds) {
			n := max(2*len(b.fds), 64, fd+1)
			n = min(n, maxSliceFD)
			b.fds = append(b.fds, make([]fdSlot, n-len(b.fds))...)
		}
		b.fds[fd].fi = fi
	} else {
		if b.fdMap == nil {
			b.fdMap = make(map[int]*fdInfo)
		}
		b.fdMap[fd] = fi
	}
	return fi
}

func (fi *fdInfo) interest() What {
	var m What
	if fi.nread > 0 {
		m |= Read
	}
	if fi.nwrite > 0 {
		m |= Write
	}
	if fi.nclose > 0 {
		m |= Closed
	}
	if m != 0 && fi.net > 0 {
		m |= ET
	}
	return m
}

func (fi *fdInfo) adjust(ev *Event, delta int32) {
	if ev.events&Read != 0 {
		fi.nread += delta
	}
	if ev.events&Write != 0 {
		fi.nwrite += delta
	}
	if ev.events&Closed != 0 {
		fi.nclose += delta
	}
	if ev.events&ET != 0 {
		fi.net += delta
	}
}

// ioAdd registers ev on its fd (libevent's evmap_io_add_).
func (b *Base) ioAdd(ev *Event) error {
	if ev.fd < 0 {
		return fmt.Errorf("%w: fd %d", ErrBadFD, ev.fd)
	}
	fi := b.fdGet(ev.fd)
	if len(fi.evs) > 0 && (fi.net > 0) != (ev.events&ET != 0) {
		return fmt.Errorf("%w (fd %d)", ErrETMismatch, ev.fd)
	}
	old := fi.mask
	fi.adjust(ev, 1)
	nw := fi.interest()
	if nw != old {
		if err := b.poll.ctl(ev.fd, old, nw, fi); err != nil {
			fi.adjust(ev, -1)
			if len(fi.evs) == 0 && ev.fd >= maxSliceFD {
				delete(b.fdMap, ev.fd)
			}
			return &OpError{Op: "add", Method: b.method, FD: ev.fd, Err: err}
		}
		fi.mask = nw
	}
	onInl := cap(fi.evs) == len(fi.inl) && len(fi.evs) == len(fi.inl)
	fi.evs = append(fi.evs, ev)
	if onInl {
		// The list moved off inl: forget the copies there, which would
		// otherwise keep deleted events (and what their callbacks hold)
		// alive for as long as the fd's entry.
		clear(fi.inl[:])
	}
	b.setOne(ev.fd, fi)
	return nil
}

// prefetchFD starts loading the first line of fd's sole event (see fdSlot)
// and the two lines before it, for a poller about to report fd after the
// current one: direct dispatch reads the event first, and an owner that
// embeds it (InitHandlerEvent) can keep its own hottest lines right before
// it (the socket backend keeps its hot line and its bufferevent's there).
// Without a sole event it does nothing.
func (b *Base) prefetchFD(fd int) {
	if fd >= 0 && fd < len(b.fds) {
		if ev := b.fds[fd].one; ev != nil {
			prefetchLead(uintptr(unsafe.Pointer(ev)))
		}
	}
}

// setOne refreshes the fd's slot after its event list changed.
func (b *Base) setOne(fd int, fi *fdInfo) {
	if fd < 0 || fd >= len(b.fds) {
		return
	}
	var one *Event
	if len(fi.evs) == 1 {
		one = fi.evs[0]
	}
	b.fds[fd].one = one
}

// ioDel unregisters ev from its fd (libevent's evmap_io_del_).
func (b *Base) ioDel(ev *Event) {
	fi := b.fdLookup(ev.fd)
	if fi == nil {
		return
	}
	i := slices.Index(fi.evs, ev)
	if i < 0 {
		return
	}
	fi.evs = slices.Delete(fi.evs, i, i+1)
	b.setOne(ev.fd, fi)
	old := fi.mask
	fi.adjust(ev, -1)
	nw := fi.interest()
	if nw != old {
		// Errors are ignored, as libevent does: the fd may already be
		// closed, which removed it from the kernel's interest set.
		_ = b.poll.ctl(ev.fd, old, nw, fi)
		fi.mask = nw
	}
}

// ioReady is called by pollers for each ready fd (libevent's
// evmap_io_active_). res may include ET when the fd is edge-triggered.
func (b *Base) ioReady(fd int, res What) {
	var fi *fdInfo
	if fd >= 0 && fd < len(b.fds) {
		slot := &b.fds[fd]
		if ev := slot.one; ev != nil && b.direct && b.remoteN.Load() == 0 {
			// The fd's only event, reached without its fdInfo: what the
			// loop below does for one event, with the fd's registered
			// ET (fi.mask) read off the event, which alone set it.
			if ev.events&res&whatIO == 0 || ev.flags&flPollAdded != 0 {
				return
			}
			if ev.flags&(flFinalizing|flFreed|flActive|flActiveLate|flTimeout) == 0 &&
				ev.events&(Persist|Signal) == Persist && ev.kind == kindIO && ev.interval == 0 {
				if ev.events&ET != 0 && b.features&FeatureET != 0 {
					res |= ET
				}
				b.runDirect(ev, ev.events&res)
				return
			}
		}
		fi = slot.fi
	} else {
		fi = b.fdLookup(fd)
	}
	if fi == nil {
		return
	}
	if fi.mask&ET != 0 && b.features&FeatureET != 0 {
		res |= ET
	}
	if b.direct && b.remoteN.Load() != 0 {
		// Work from another goroutine arrived during the poll: it runs
		// first, as without direct dispatch, so queue from here on.
		b.endDirect()
	}
	if !b.direct {
		for _, ev := range fi.evs {
			if ev.events&res&whatIO != 0 {
				if ev.flags&flPollAdded != 0 {
					continue
				}
				b.activate(ev, ev.events&res, 1)
			}
		}
		return
	}
	// Direct dispatch: when exactly one event waits for what is ready and
	// it is a persistent I/O event with nothing else to do on activation
	// (no timeout to re-arm, not active, not a signal), run it here instead
	// of queueing it and running it from the active queue. The loop allows
	// this only with one priority, no dispatch limits and nothing active
	// before the poll, so the order is the queue's: every ready event runs
	// in the poller's order before anything activated meanwhile.
	var one *Event
	n := 0
	for _, ev := range fi.evs {
		if ev.events&res&whatIO == 0 {
			continue
		}
		if ev.flags&flPollAdded != 0 {
			// Added by a callback of this batch: the poll predates it
			// (libevent activates a whole batch before running any).
			continue
		}
		n++
		if n == 1 && ev.flags&(flFinalizing|flFreed|flActive|flActiveLate|flTimeout) == 0 &&
			ev.events&(Persist|Signal) == Persist && ev.kind == kindIO && ev.interval == 0 {
			one = ev
			continue
		}
		if one != nil {
			b.activate(one, one.events&res, 1)
			one = nil
		}
		b.activate(ev, ev.events&res, 1)
	}
	if n > 0 && one == nil {
		// Something of this batch is queued: later ready events queue
		// behind it (the poller's order).
		b.endDirect()
		return
	}
	if one != nil {
		b.runDirect(one, one.events&res)
	}
}

// runDirect runs a ready event's callback from the poller, as processQueue
// would run it from the active queue. A loop break, a LoopContinue or a
// request from another goroutine ends direct dispatch for the rest of the
// poll: the other ready events are then queued (after a LoopContinue the
// loop leaves them active for the next turn, as processQueue would).
func (b *Base) runDirect(ev *Event, res What) {
	if !ev.intern {
		b.nDirect++
	}
	if !b.directRan {
		// The cache may hold a time read by another goroutine during the poll.
		b.directRan = true
		b.inWait.Store(false)
		b.clearCache()
	}
	b.runningPri = 0
	b.current = ev
	ev.h.HandleEvent(ev.fd, res)
	b.current = nil
	b.runningPri = -1
	if b.remoteN.Load() != 0 {
		b.sync()
	}
	if b.gotBreak.Load() || b.closeReq || b.cont {
		b.endDirect()
	}
}

// endDirect ends direct dispatch for the current poll.
func (b *Base) endDirect() { b.direct = false }

// endPoll forgets the events inserted during the poll's callbacks.
func (b *Base) endPoll() {
	b.direct = false
	if len(b.newIns) != 0 {
		for _, ev := range b.newIns {
			ev.flags &^= flPollAdded
		}
		clear(b.newIns)
		b.newIns = b.newIns[:0]
	}
}

// ActiveByFD activates the pending I/O events on fd that wait for any of
// the Read, Write or Closed bits in what; if what includes Timeout, it
// activates pending timer events whose fd is fd instead (libevent's
// event_base_active_by_fd). Loop-confined.
func (b *Base) ActiveByFD(fd int, what What) {
	b.sync()
	if what&Timeout != 0 {
		var hits []*Event
		for _, ev := range b.heap {
			if ev.ctMarker == nil && ev.fd == fd {
				hits = append(hits, ev)
			}
		}
		for _, ct := range b.common {
			for ev := ct.head; ev != nil; ev = ev.ctNext {
				if ev.fd == fd {
					hits = append(hits, ev)
				}
			}
		}
		for _, ev := range hits {
			b.activate(ev, Timeout, 1)
		}
		return
	}
	if fi := b.fdLookup(fd); fi != nil {
		for _, ev := range fi.evs {
			if ev.events&what&whatIO != 0 {
				b.activate(ev, ev.events&what&whatIO, 1)
			}
		}
	}
}

// OpError describes a failed poller operation on an fd; it wraps the
// system call error, so errors.Is(err, unix.EBADF) works. Its methods are
// safe for concurrent use.
type OpError struct {
	Op     string // "add", "del", "wait"
	Method string // poller name
	FD     int
	Err    error
}

// Error formats the failure as "eventbase: <method> <op> fd <n>: <cause>".
// Safe for concurrent use.
func (e *OpError) Error() string {
	return fmt.Sprintf("eventbase: %s %s fd %d: %v", e.Method, e.Op, e.FD, e.Err)
}

// Unwrap returns the underlying error. Safe for concurrent use.
func (e *OpError) Unwrap() error { return e.Err }
