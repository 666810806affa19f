//go:build linux

package socket

import (
	"testing"
	"unsafe"
)

// TestSockLayout keeps sock at 256 bytes, an aligned size class, so that its
// first cache line (everything a read or write event touches) is one line of
// memory (bench/doc.go has the measurements).
func TestSockLayout(t *testing.T) {
	if n := unsafe.Sizeof(sock{}); n != 256 {
		t.Errorf("sock is %d bytes; keep it at 256 (adjust the padding)", n)
	}
	if off := unsafe.Offsetof(sock{}.base); off > 64 {
		t.Errorf("sock's hot fields end at %d; keep them in the first 64 bytes", off)
	}
}
