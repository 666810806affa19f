package eventbase

import (
	"bufio"
	"fmt"
	"io"
	"time"
)

// ForEachEvent calls fn for every event of the base (libevent's
// event_base_foreach_event): first the inserted fd and signal events, then
// the events with only a timeout, then the events that are only active. It
// stops at the first non-nil error and returns it. fn must not add, delete
// or activate events. Loop-confined.
func (b *Base) ForEachEvent(fn func(ev *Event) error) error {
	if fn == nil {
		return ErrNilCallback
	}
	b.sync()
	var err error
	visit := func(ev *Event) bool {
		err = fn(ev)
		return err == nil
	}
	for _, slot := range b.fds {
		fi := slot.fi
		if fi == nil {
			continue
		}
		for _, ev := range fi.evs {
			if !visit(ev) {
				return err
			}
		}
	}
	for _, fi := range b.fdMap {
		for _, ev := range fi.evs {
			if !visit(ev) {
				return err
			}
		}
	}
	for _, w := range b.sigs {
		if w == nil {
			continue
		}
		for _, ev := range w.evs {
			if !visit(ev) {
				return err
			}
		}
	}
	for _, ev := range b.heap {
		if ev.ctMarker == nil && ev.flags&flInserted == 0 {
			if !visit(ev) {
				return err
			}
		}
	}
	for _, ct := range b.common {
		for ev := ct.head; ev != nil; ev = ev.ctNext {
			if ev.flags&flInserted == 0 {
				if !visit(ev) {
					return err
				}
			}
		}
	}
	for pri := range b.active {
		for ev := b.active[pri].head; ev != nil; ev = ev.qNext {
			if ev.flags&(flInserted|flTimeout) == 0 {
				if !visit(ev) {
					return err
				}
			}
		}
	}
	for ev := b.late.head; ev != nil; ev = ev.qNext {
		if ev.flags&(flInserted|flTimeout) == 0 {
			if !visit(ev) {
				return err
			}
		}
	}
	return nil
}

// DumpEvents writes a human-readable list of the base's events to w in
// libevent's event_base_dump_events format: an "Inserted events:" section
// (fd, conditions, timeout as wall-clock seconds) and an "Active events:"
// section (priority and result flags). Loop-confined.
func (b *Base) DumpEvents(w io.Writer) error {
	bw := bufio.NewWriter(w)
	b.sync()
	wall := func(ns int64) time.Time {
		// Convert the monotonic deadline to wall-clock time, like
		// libevent's tv_clock_diff.
		return b.epoch.Add(time.Duration(ns)).Round(0)
	}
	fmt.Fprintln(bw, "Inserted events:")
	_ = b.ForEachEvent(func(ev *Event) error {
		if ev.flags&(flInserted|flTimeout) == 0 {
			return nil
		}
		fmt.Fprintf(bw, "  %p [%s %d]%s%s%s%s%s%s%s", ev, fdWord(ev), ev.fd,
			flagWord(ev.events, Read, " Read"), flagWord(ev.events, Write, " Write"),
			flagWord(ev.events, Closed, " EOF"), flagWord(ev.events, Signal, " Signal"),
			flagWord(ev.events, Persist, " Persist"), flagWord(ev.events, ET, " ET"),
			boolWord(ev.intern, " Internal"))
		if ev.flags&flTimeout != 0 {
			t := wall(ev.deadline)
			fmt.Fprintf(bw, " Timeout=%d.%06d", t.Unix(), t.Nanosecond()/1000)
		}
		fmt.Fprintln(bw)
		return nil
	})
	fmt.Fprintln(bw, "Active events:")
	_ = b.ForEachEvent(func(ev *Event) error {
		if ev.flags&(flActive|flActiveLate) == 0 {
			return nil
		}
		fmt.Fprintf(bw, "  %p [%s %d, priority=%d]%s%s%s%s%s active%s%s\n", ev, fdWord(ev), ev.fd, ev.pri,
			flagWord(ev.res, Read, " Read"), flagWord(ev.res, Write, " Write"),
			flagWord(ev.res, Closed, " EOF"), flagWord(ev.res, Signal, " Signal"),
			flagWord(ev.res, Timeout, " Timeout"),
			boolWord(ev.intern, " [Internal]"), boolWord(ev.flags&flActiveLate != 0, " [NextTime]"))
		return nil
	})
	return bw.Flush()
}

func fdWord(ev *Event) string {
	if ev.events&Signal != 0 {
		return "sig"
	}
	return "fd "
}

func flagWord(w, bit What, s string) string {
	if w&bit != 0 {
		return s
	}
	return ""
}

func boolWord(b bool, s string) string {
	if b {
		return s
	}
	return ""
}
