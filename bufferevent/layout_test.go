package bufferevent

import (
	"math"
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

// TestLayoutHotLine keeps what a read event, the read callback and an
// echoed write read of the bufferevent in its last cache line (one likely
// miss per message with thousands of connections, not two; not the first,
// so that its cache sets differ from those of the other objects' first
// lines; the last, so that an embedding backend's hot line can follow it).
func TestLayoutHotLine(t *testing.T) {
	var b BufferEvent
	for name, f := range map[string][2]uintptr{
		"lk":        {unsafe.Offsetof(b.lk), unsafe.Sizeof(b.lk)},
		"in":        {unsafe.Offsetof(b.in), unsafe.Sizeof(b.in)},
		"out":       {unsafe.Offsetof(b.out), unsafe.Sizeof(b.out)},
		"readCb":    {unsafe.Offsetof(b.readCb), unsafe.Sizeof(b.readCb)},
		"readHigh":  {unsafe.Offsetof(b.readHigh), unsafe.Sizeof(b.readHigh)},
		"refs":      {unsafe.Offsetof(b.refs), unsafe.Sizeof(b.refs)},
		"maxRead":   {unsafe.Offsetof(b.maxRead), unsafe.Sizeof(b.maxRead)},
		"maxWrite":  {unsafe.Offsetof(b.maxWrite), unsafe.Sizeof(b.maxWrite)},
		"opts":      {unsafe.Offsetof(b.opts), unsafe.Sizeof(b.opts)},
		"enabled":   {unsafe.Offsetof(b.enabled), unsafe.Sizeof(b.enabled)},
		"wm":        {unsafe.Offsetof(b.wm), unsafe.Sizeof(b.wm)},
		"readSusp":  {unsafe.Offsetof(b.readSusp), unsafe.Sizeof(b.readSusp)},
		"writeSusp": {unsafe.Offsetof(b.writeSusp), unsafe.Sizeof(b.writeSusp)},
		"closed":    {unsafe.Offsetof(b.closed), unsafe.Sizeof(b.closed)},
		"dead":      {unsafe.Offsetof(b.dead), unsafe.Sizeof(b.dead)},
		"rlOn":      {unsafe.Offsetof(b.rlOn), unsafe.Sizeof(b.rlOn)},
		"hasWrite":  {unsafe.Offsetof(b.hasWrite), unsafe.Sizeof(b.hasWrite)},
	} {
		if off, end := f[0], f[0]+f[1]; off < 448 || end > 512 {
			t.Errorf("BufferEvent.%s is at bytes %d to %d; keep it in bytes 448 to 511", name, off, end-1)
		}
	}
}

// TestReadLimitsCache checks that what the first cache line keeps of the
// watermarks, the maximum input and the maximum single read and write
// follows every setter.
func TestReadLimitsCache(t *testing.T) {
	b := &BufferEvent{}
	check := func(step string, wantHigh int, wantWM uint8) {
		t.Helper()
		if b.readHigh != b.effectiveHigh() || b.readHigh != wantHigh || b.wm != wantWM {
			t.Errorf("%s: readHigh %d wm %#x, want %d %#x", step, b.readHigh, b.wm, wantHigh, wantWM)
		}
	}
	for _, tc := range []struct {
		step            string
		low, high, maxI int
		wantHigh        int
		wantWM          uint8
	}{
		{"defaults", 0, 0, DefaultMaxInput, DefaultMaxInput, 0},
		{"high", 0, 100, DefaultMaxInput, 100, wmRHigh},
		{"low and high", 10, 100, DefaultMaxInput, 100, wmRLow | wmRHigh},
		{"low only", 10, 0, 5000, 5000, wmRLow},
		{"unlimited", 0, 0, 0, 0, 0},
	} {
		b.setReadLimits(tc.low, tc.high, tc.maxI)
		check(tc.step, tc.wantHigh, tc.wantWM)
	}
	clamps := []struct {
		n    int
		want int32
	}{{1, 1}, {DefaultMaxSingle, DefaultMaxSingle}, {math.MaxInt32, math.MaxInt32}, {math.MaxInt, math.MaxInt32}}
	if math.MaxInt > math.MaxInt32 {
		// Only a 64-bit int goes past the clamp (a constant MaxInt32+1 does
		// not compile on 386 and arm).
		over := uint64(math.MaxInt32) + 1
		clamps = append(clamps, struct {
			n    int
			want int32
		}{int(over), math.MaxInt32})
	}
	for _, tc := range clamps {
		if got := clampInt32(tc.n); got != tc.want {
			t.Errorf("clampInt32(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}
