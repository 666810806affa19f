package eventbase

import (
	"fmt"
)

// checkInvariants is libevent's event_base_assert_ok_: it verifies the
// heap, the common-timeout lists, the active queues, the fd map and the
// counters, and returns the first inconsistency.
func (b *Base) checkInvariants() error {
	for i, ev := range b.heap {
		if ev.heapIdx != i {
			return fmt.Errorf("heap[%d] has heapIdx %d", i, ev.heapIdx)
		}
		if i > 0 && timerLess(ev, b.heap[(i-1)/2]) {
			return fmt.Errorf("heap[%d] sorts before its parent", i)
		}
		if ev.ctMarker == nil && (ev.flags&flTimeout == 0 || ev.ct != nil) {
			return fmt.Errorf("heap[%d]: flags %#x ct %p", i, ev.flags, ev.ct)
		}
	}
	for _, ct := range b.common {
		var prev *Event
		for ev := ct.head; ev != nil; ev = ev.ctNext {
			if ev.ct != ct || ev.ctPrev != prev || ev.flags&flTimeout == 0 || ev.heapIdx != -1 {
				return fmt.Errorf("common list %v: bad links or flags at %p", ct.d, ev)
			}
			if prev != nil && prev.deadline > ev.deadline {
				return fmt.Errorf("common list %v not sorted", ct.d)
			}
			prev = ev
		}
		if ct.tail != prev {
			return fmt.Errorf("common list %v: bad tail", ct.d)
		}
		m := &ct.marker
		if (ct.head == nil) != (m.heapIdx < 0) {
			return fmt.Errorf("common list %v: marker in heap %v, head %p", ct.d, m.heapIdx >= 0, ct.head)
		}
		if ct.head != nil && m.deadline != ct.head.deadline {
			return fmt.Errorf("common list %v: marker %d, head %d", ct.d, m.deadline, ct.head.deadline)
		}
	}
	nActive := 0
	for pri := range b.active {
		var prev *Event
		for ev := b.active[pri].head; ev != nil; ev = ev.qNext {
			if ev.flags&flActive == 0 || ev.pri != pri || ev.qPrev != prev {
				return fmt.Errorf("active queue %d: bad event %p", pri, ev)
			}
			prev = ev
			nActive++
		}
		if b.active[pri].tail != prev {
			return fmt.Errorf("active queue %d: bad tail", pri)
		}
	}
	for ev := b.late.head; ev != nil; ev = ev.qNext {
		nActive++
	}
	if nActive != b.nActive {
		return fmt.Errorf("nActive %d, queues hold %d", b.nActive, nActive)
	}
	nUser := 0
	seen := map[*Event]bool{}
	count := func(ev *Event) {
		if !seen[ev] && !ev.intern && ev.flags&(flTimeout|flInserted|flActive|flActiveLate) != 0 {
			nUser++
		}
		seen[ev] = true
	}
	check := func(fd int, fi *fdInfo) error {
		var r, w, c int
		for _, ev := range fi.evs {
			if ev.fd != fd || ev.flags&flInserted == 0 {
				return fmt.Errorf("fd %d: event %p with fd %d flags %#x", fd, ev, ev.fd, ev.flags)
			}
			if ev.events&Read != 0 {
				r++
			}
			if ev.events&Write != 0 {
				w++
			}
			if ev.events&Closed != 0 {
				c++
			}
			count(ev)
		}
		if int32(r) != fi.nread || int32(w) != fi.nwrite || int32(c) != fi.nclose || fi.interest() != fi.mask {
			return fmt.Errorf("fd %d: counts %d/%d/%d mask %v, events say %d/%d/%d", fd, fi.nread, fi.nwrite, fi.nclose, fi.mask, r, w, c)
		}
		return nil
	}
	for fd, slot := range b.fds {
		fi := slot.fi
		if fi == nil {
			if slot.one != nil {
				return fmt.Errorf("fd %d: a slot without fdInfo names an event", fd)
			}
			continue
		}
		if err := check(fd, fi); err != nil {
			return err
		}
		var one *Event
		if len(fi.evs) == 1 {
			one = fi.evs[0]
		}
		if slot.one != one {
			return fmt.Errorf("fd %d: slot's sole event %p, fdInfo has %d events (first %p)", fd, slot.one, len(fi.evs), one)
		}
	}
	for fd, fi := range b.fdMap {
		if err := check(fd, fi); err != nil {
			return err
		}
	}
	for _, w := range b.sigs {
		if w != nil {
			for _, ev := range w.evs {
				count(ev)
			}
		}
	}
	for _, ev := range b.heap {
		if ev.ctMarker == nil {
			count(ev)
		}
	}
	for _, ct := range b.common {
		for ev := ct.head; ev != nil; ev = ev.ctNext {
			count(ev)
		}
	}
	for pri := range b.active {
		for ev := b.active[pri].head; ev != nil; ev = ev.qNext {
			count(ev)
		}
	}
	if nUser != b.nUser {
		return fmt.Errorf("nUser %d, found %d", b.nUser, nUser)
	}
	return nil
}
