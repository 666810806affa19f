package evbuffer

import (
	"testing"
	"unsafe"
)

// TestLayoutSize guards the rule in Buffer's field comment: exactly 128
// bytes, an aligned size class, so that a buffer spans two cache lines
// (bench/doc.go has the measurements behind the layout).
func TestLayoutSize(t *testing.T) {
	if n := unsafe.Sizeof(Buffer{}); n != 128 {
		t.Errorf("Buffer is %d bytes; keep it at 128 (move rarely used fields to bufExt)", n)
	}
}
