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
}
