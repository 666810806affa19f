package eventbase

import (
	"fmt"
	"time"
)

// Timers live in a min-heap ordered by (deadline, seq); every event keeps its
// heap index so deleting or re-arming it is O(log n). Events whose timeout
// is a registered common duration instead go to that duration's FIFO list
// (O(1) insert and delete, since equal durations expire in insertion order);
// only the list head is represented in the heap, by a marker event.

// commonTimeout is one registered common duration.
type commonTimeout struct {
	d      int64
	head   *Event
	tail   *Event
	marker Event // heap representative of head
}

// maxCommonTimeouts is libevent's MAX_COMMON_TIMEOUTS.
const maxCommonTimeouts = 256

// CommonTimeout registers d as a common timeout (libevent's
// event_base_init_common_timeout): afterwards AddTimeout(d) on any event of
// this base uses an O(1) FIFO queue instead of the heap, which is much
// cheaper when thousands of events share the duration (idle timeouts,
// keep-alives). Registering the same duration again is harmless. It returns
// d for convenience. At most 256 durations can be registered; d must be
// positive. Loop-confined.
func (b *Base) CommonTimeout(d time.Duration) (time.Duration, error) {
	if b.closed {
		return 0, ErrClosed
	}
	if d <= 0 {
		return 0, fmt.Errorf("%w: common timeout %v", ErrNegativeTimeout, d)
	}
	if b.lookupCommon(int64(d)) != nil {
		return d, nil
	}
	if len(b.common) >= maxCommonTimeouts {
		return 0, ErrTooManyCommon
	}
	ct := &commonTimeout{d: int64(d)}
	ct.marker = Event{base: b, fd: -1, heapIdx: -1, intern: true, ctMarker: ct}
	b.common = append(b.common, ct)
	if b.commonMap == nil {
		b.commonMap = make(map[int64]*commonTimeout)
	}
	b.commonMap[ct.d] = ct
	return d, nil
}

func (b *Base) lookupCommon(d int64) *commonTimeout {
	if len(b.common) > 8 {
		return b.commonMap[d]
	}
	for _, ct := range b.common {
		if ct.d == d {
			return ct
		}
	}
	return nil
}

// addTimeout (re)arms ev's timeout to now+d; ct selects a common list.
func (b *Base) addTimeout(ev *Event, d time.Duration, ct *commonTimeout) {
	// Re-adding an event that is active because of its timeout cancels that
	// activation (libevent's event_add_nolock_).
	if ev.flags&flActive != 0 && ev.res&Timeout != 0 && ev.kind != kindFinalize {
		if ev.events&Signal != 0 {
			ev.ncalls = 0
		}
		b.queueRemoveActive(ev)
	}
	if ev.events&Persist != 0 {
		ev.interval = int64(d)
	}
	b.scheduleAt(ev, b.nowNS()+int64(d), ct)
	b.recount(ev)
}

// scheduleAt puts ev's timeout at the absolute time at.
func (b *Base) scheduleAt(ev *Event, at int64, ct *commonTimeout) {
	if ev.flags&flTimeout != 0 {
		b.removeTimeout(ev)
	}
	ev.deadline = at
	ev.flags |= flTimeout
	if ct != nil {
		b.commonInsert(ct, ev)
		return
	}
	b.heapPush(ev)
}

// removeTimeout drops ev's pending timeout.
func (b *Base) removeTimeout(ev *Event) {
	if ev.flags&flTimeout == 0 {
		return
	}
	ev.flags &^= flTimeout
	if ct := ev.ct; ct != nil {
		b.commonRemove(ct, ev)
		return
	}
	b.heapRemove(ev)
}

// persistRearm re-arms a persistent event's timeout before its callback
// (libevent's event_persist_closure): relative to the previous expiry when
// the timeout fired, so periodic timers do not drift, else relative to now.
func (b *Base) persistRearm(ev *Event, res What) {
	now := b.nowNS()
	var at int64
	if res&Timeout != 0 {
		at = ev.deadline + ev.interval
	} else {
		at = now + ev.interval
	}
	if at < now {
		at = now + ev.interval
	}
	b.scheduleAt(ev, at, b.lookupCommon(ev.interval))
}

// expireTimers activates every event whose timeout is due.
func (b *Base) expireTimers() {
	if len(b.heap) == 0 {
		return
	}
	now := b.nowNS()
	for len(b.heap) > 0 && b.heap[0].deadline <= now {
		ev := b.heap[0]
		if ct := ev.ctMarker; ct != nil {
			b.heapRemove(ev)
			for e := ct.head; e != nil && e.deadline <= now; e = ct.head {
				b.commonRemoveNoMarker(ct, e)
				e.flags &^= flTimeout
				b.activate(e, Timeout, 1)
				b.recount(e)
			}
			b.commonResetMarker(ct)
			continue
		}
		b.heapRemove(ev)
		ev.flags &^= flTimeout
		b.activate(ev, Timeout, 1)
		b.recount(ev)
	}
}

// ---- common timeout lists ----

func (b *Base) commonInsert(ct *commonTimeout, ev *Event) {
	ev.ct = ct
	// Search from the tail: almost always the new deadline is the latest.
	p := ct.tail
	for p != nil && p.deadline > ev.deadline {
		p = p.ctPrev
	}
	ev.ctPrev = p
	if p == nil {
		ev.ctNext = ct.head
		ct.head = ev
	} else {
		ev.ctNext = p.ctNext
		p.ctNext = ev
	}
	if ev.ctNext != nil {
		ev.ctNext.ctPrev = ev
	} else {
		ct.tail = ev
	}
	if ct.head == ev {
		b.commonResetMarker(ct)
	}
}

func (b *Base) commonRemoveNoMarker(ct *commonTimeout, ev *Event) {
	if ev.ctPrev != nil {
		ev.ctPrev.ctNext = ev.ctNext
	} else {
		ct.head = ev.ctNext
	}
	if ev.ctNext != nil {
		ev.ctNext.ctPrev = ev.ctPrev
	} else {
		ct.tail = ev.ctPrev
	}
	ev.ctPrev, ev.ctNext, ev.ct = nil, nil, nil
}

func (b *Base) commonRemove(ct *commonTimeout, ev *Event) {
	wasHead := ct.head == ev
	b.commonRemoveNoMarker(ct, ev)
	if wasHead {
		b.commonResetMarker(ct)
	}
}

// commonResetMarker makes the heap marker track the list head.
func (b *Base) commonResetMarker(ct *commonTimeout) {
	m := &ct.marker
	if ct.head == nil {
		if m.heapIdx >= 0 {
			b.heapRemove(m)
		}
		return
	}
	if m.heapIdx >= 0 {
		if m.deadline == ct.head.deadline {
			return
		}
		b.heapRemove(m)
	}
	m.deadline = ct.head.deadline
	b.heapPush(m)
}

// ---- min-heap ----

func timerLess(a, b *Event) bool {
	if a.deadline != b.deadline {
		return a.deadline < b.deadline
	}
	return a.seq < b.seq
}

func (b *Base) heapPush(ev *Event) {
	b.seq++
	ev.seq = b.seq
	ev.heapIdx = len(b.heap)
	b.heap = append(b.heap, ev)
	b.heapUp(ev.heapIdx)
}

func (b *Base) heapRemove(ev *Event) {
	i := ev.heapIdx
	if i < 0 {
		return
	}
	last := len(b.heap) - 1
	if i != last {
		b.heap[i] = b.heap[last]
		b.heap[i].heapIdx = i
	}
	b.heap[last] = nil
	b.heap = b.heap[:last]
	ev.heapIdx = -1
	if i < last {
		if i > 0 && timerLess(b.heap[i], b.heap[(i-1)/2]) {
			b.heapUp(i)
		} else {
			b.heapDown(i)
		}
	}
}

func (b *Base) heapUp(i int) {
	h := b.heap
	ev := h[i]
	for i > 0 {
		p := (i - 1) / 2
		if !timerLess(ev, h[p]) {
			break
		}
		h[i] = h[p]
		h[i].heapIdx = i
		i = p
	}
	h[i] = ev
	ev.heapIdx = i
}

func (b *Base) heapDown(i int) {
	h := b.heap
	n := len(h)
	ev := h[i]
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && timerLess(h[c+1], h[c]) {
			c++
		}
		if !timerLess(h[c], ev) {
			break
		}
		h[i] = h[c]
		h[i].heapIdx = i
		i = c
	}
	h[i] = ev
	ev.heapIdx = i
}
