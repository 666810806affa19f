package bufferevent

import (
	"testing"
	"unsafe"
)

// TestLayoutSize guards the rule in BufferEvent's field comment: at most
// 512 bytes, so the allocation carries no 8-byte header and the fields
// every read and write touch stay in the first cache lines (bench/doc.go
// has the measurements behind the layout).
func TestLayoutSize(t *testing.T) {
	if n := unsafe.Sizeof(BufferEvent{}); n != 512 {
		t.Errorf("BufferEvent is %d bytes; keep it at exactly 512 (move cold fields out, as RunInLoop's queue was, or adjust the padding)", n)
	}
}
