//go:build linux

package socket

import (
	"testing"
	"unsafe"
)

// TestSockLayout keeps the layout sock's comment describes: the bufferevent's hot line
// (bufferevent's own TestLayoutHotLine keeps it last) right before the sock's (every
// field a read or write event touches), which shares one 128-byte block of the
// allocation with the read event's first line, checked on real allocations, since it depends on the size
// class Go picks and its allocation header (bench/doc.go has the measurements).
func TestSockLayout(t *testing.T) {
	var s sock
	if n := unsafe.Sizeof(s); n != 1144 {
		t.Errorf("sock is %d bytes; keep it at 1144 (1152-byte size class with its 8-byte header)", n)
	}
	hot := unsafe.Offsetof(s.c)
	for name, f := range map[string][2]uintptr{
		"c":          {unsafe.Offsetof(s.c), unsafe.Sizeof(s.c)},
		"fd":         {unsafe.Offsetof(s.fd), unsafe.Sizeof(s.fd)},
		"in":         {unsafe.Offsetof(s.in), unsafe.Sizeof(s.in)},
		"out":        {unsafe.Offsetof(s.out), unsafe.Sizeof(s.out)},
		"rev":        {unsafe.Offsetof(s.rev), unsafe.Sizeof(s.rev)},
		"wev":        {unsafe.Offsetof(s.wev), unsafe.Sizeof(s.wev)},
		"dead":       {unsafe.Offsetof(s.dead), unsafe.Sizeof(s.dead)},
		"connecting": {unsafe.Offsetof(s.connecting), unsafe.Sizeof(s.connecting)},
		"rOn":        {unsafe.Offsetof(s.rOn), unsafe.Sizeof(s.rOn)},
		"wOn":        {unsafe.Offsetof(s.wOn), unsafe.Sizeof(s.wOn)},
	} {
		if f[0] < hot || f[0]+f[1] > hot+64 {
			t.Errorf("sock.%s is at bytes %d to %d; keep it in the hot line, bytes %d to %d", name, f[0], f[0]+f[1]-1, hot, hot+63)
		}
	}
	if off := unsafe.Offsetof(s.evs); off != hot+64 {
		t.Errorf("sock.evs is at byte %d; keep it right after the hot line (%d)", off, hot+64)
	}
	if off := unsafe.Offsetof(s.bevStore) + unsafe.Sizeof(s.bevStore); off != hot {
		t.Errorf("sock.bevStore ends at byte %d; keep the sock's hot line (%d) right after it", off, hot)
	}
	keep := make([]*sock, 64)
	for i := range keep {
		keep[i] = new(sock)
		if a := uintptr(unsafe.Pointer(&keep[i].c)); a%128 != 0 {
			t.Fatalf("allocation %d: the hot line is at %#x, not at a multiple of 128 (did the size class or the allocation header change? adjust the cold prefix)", i, a)
		}
	}
}
