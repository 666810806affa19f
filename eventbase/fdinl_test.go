//go:build unix

package eventbase

import (
	"os"
	"testing"
)

// An fd's first two events live inside its fdInfo; a third moves the list to
// the heap, after which the inline slots must hold nothing (a stale copy
// would keep a deleted event and its callback's captures alive). Events on
// the fd keep working through both layouts.
func TestFDInfoInlineEvents(t *testing.T) {
	b, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	fd := int(r.Fd())
	var evs []*Event
	for i := 0; i < 3; i++ {
		ev, err := b.NewEvent(fd, Read|Persist, func(int, What) {})
		if err != nil {
			t.Fatal(err)
		}
		if err := ev.Add(); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
		fi := b.fdLookup(fd)
		if len(fi.evs) != i+1 {
			t.Fatalf("after %d adds: %d events on the fd", i+1, len(fi.evs))
		}
		onInl := &fi.evs[0] == &fi.inl[0]
		if i < 2 && !onInl {
			t.Fatalf("after %d adds the list left the inline slots", i+1)
		}
		if i == 2 {
			if onInl {
				t.Fatal("three events still on two inline slots")
			}
			if fi.inl != [2]*Event{} {
				t.Fatalf("inline slots keep %v after the list moved", fi.inl)
			}
		}
	}
	for _, ev := range evs {
		if err := ev.Del(); err != nil {
			t.Fatal(err)
		}
	}
	fi := b.fdLookup(fd)
	if len(fi.evs) != 0 || fi.mask != 0 {
		t.Fatalf("after deleting all: %d events, mask %v", len(fi.evs), fi.mask)
	}
	for _, e := range fi.evs[:cap(fi.evs)] {
		if e != nil {
			t.Fatal("a deleted event is still referenced by the fd's list")
		}
	}
}
