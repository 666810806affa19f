package eventbase

import (
	"testing"
	"unsafe"
)

// TestFDInfoLayout and TestEventLayout keep the objects a ready fd walks in
// aligned size classes (64 and 192 bytes), so that their hot fields never
// straddle a cache line (bench/doc.go has the measurements).
func TestFDInfoLayout(t *testing.T) {
	if n := unsafe.Sizeof(fdInfo{}); n != 64 {
		t.Errorf("fdInfo is %d bytes; keep it at 64", n)
	}
}

func TestEventLayout(t *testing.T) {
	if n := unsafe.Sizeof(Event{}); n != 192 {
		t.Errorf("Event is %d bytes; keep it at 192 (adjust the padding)", n)
	}
	if off := unsafe.Offsetof(Event{}.qPrev); off > 64 {
		t.Errorf("Event's per-activation fields end at %d; keep them in the first 64 bytes", off)
	}
	// Direct dispatch (ioReady, runDirect) reads these and nothing else of
	// the event: one cache line per ready fd.
	for name, end := range map[string]uintptr{
		"interval": unsafe.Offsetof(Event{}.interval) + unsafe.Sizeof(Event{}.interval),
		"h":        unsafe.Offsetof(Event{}.h) + unsafe.Sizeof(Event{}.h),
		"counted":  unsafe.Offsetof(Event{}.counted) + unsafe.Sizeof(Event{}.counted),
	} {
		if end > 64 {
			t.Errorf("Event.%s ends at byte %d; keep it in the first 64 bytes", name, end)
		}
	}
}
