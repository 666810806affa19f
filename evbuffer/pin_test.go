package evbuffer

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// pinData returns n bytes of a recognisable pattern.
func pinData(n int, seed byte) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = 'a' + (seed+byte(i%23)+byte(i/97))%26
	}
	return p
}

// pinSetup fills b with 3000 bytes over two chains (1024 full, 2048 with
// 1976 bytes and 72 bytes of room), the layout the table tests start from.
func pinSetup(t *testing.T, b *Buffer) []byte {
	t.Helper()
	data := pinData(3000, 0)
	if err := b.Add(data[:1000]); err != nil {
		t.Fatal(err)
	}
	if err := b.Add(data[1000:]); err != nil {
		t.Fatal(err)
	}
	mustValid(t, b)
	return data
}

// churn takes chains of every pooled size from the pools and writes into
// them, so that a pinned chain recycled by mistake gets overwritten; the
// caller keeps the buffers until its checks are done.
func churn() []*Buffer {
	var bufs []*Buffer
	for size := 512; size <= 16<<10; size *= 2 {
		for range 4 {
			b := New()
			b.Add(bytes.Repeat([]byte{'Z'}, size))
			bufs = append(bufs, b)
		}
	}
	return bufs
}

func resetAll(bufs []*Buffer) {
	for _, b := range bufs {
		b.Reset()
	}
}

// onList reports whether c is linked in b.
func onList(b *Buffer, c *chain) bool {
	for x := b.first; x != nil; x = x.next {
		if x == c {
			return true
		}
	}
	return false
}

// noPins fails if any chain of b is still pinned or dangling.
func noPins(t *testing.T, name string, b *Buffer) {
	t.Helper()
	for c := b.first; c != nil; c = c.next {
		if c.flags&(flagPinned|flagDangling|flagPinRef) != 0 {
			t.Fatalf("%s: chain still pinned after the commit (flags %#x)\n%s", name, c.flags, b.dump())
		}
	}
}

// TestPinReadOps runs every operation that must respect a read in flight:
// the kernel's space stays linked, unmoved and unrecycled, the bytes already
// readable stay readable or move as asked, and the read lands at the end.
func TestPinReadOps(t *testing.T) {
	data := string(pinData(3000, 0))
	tests := []struct {
		name    string
		op      func(b, o *Buffer) error
		wantErr error
		wantB   string // b's bytes after op (before the commit)
		wantO   string
	}{
		{"Drain all empties the pinned chain", func(b, o *Buffer) error { return b.Drain(5000) }, nil, "", ""},
		{"Drain into the pinned chain", func(b, o *Buffer) error { return b.Drain(2990) }, nil, data[2990:], ""},
		{"Drain before the pinned chain", func(b, o *Buffer) error { return b.Drain(100) }, nil, data[100:], ""},
		{"Remove all", func(b, o *Buffer) error { _, err := b.Remove(make([]byte, 4000)); return err }, nil, "", ""},
		{"AddBuffer leaves the pinned chains", func(b, o *Buffer) error { return o.AddBuffer(b) }, nil, "", data},
		{"PrependBuffer leaves the pinned chains", func(b, o *Buffer) error {
			o.AddString("tail")
			return o.PrependBuffer(b)
		}, nil, "", data + "tail"},
		{"RemoveBuffer of all", func(b, o *Buffer) error { _, err := b.RemoveBuffer(o, 1<<20); return err }, nil, "", data},
		{"RemoveBuffer into the pinned chain", func(b, o *Buffer) error { _, err := b.RemoveBuffer(o, 2500); return err }, nil, data[2500:], data[:2500]},
		{"Pullup of all copies out of the pinned chain", func(b, o *Buffer) error {
			p, err := b.Pullup(-1)
			if err == nil && string(p) != data {
				return fmt.Errorf("Pullup returned the wrong bytes")
			}
			return err
		}, nil, data, ""},
		{"ReadLineSlice across the pinned chain", func(b, o *Buffer) error {
			b.Drain(1)
			line, err := b.ReadLineSlice(EOLLF)
			if !errors.Is(err, ErrNoLine) || line != nil {
				return fmt.Errorf("ReadLineSlice = %q, %v", line, err)
			}
			return nil
		}, nil, data[1:], ""},
		{"AddBufferReference shares the bytes", func(b, o *Buffer) error { return o.AddBufferReference(b) }, nil, data, data},
		{"Reset keeps the pinned chains, empty", func(b, o *Buffer) error { b.Reset(); return nil }, nil, "", ""},
		{"Prepend", func(b, o *Buffer) error { return b.Prepend([]byte("head")) }, nil, "head" + data, ""},
		{"PrependBuffer into the emptied buffer", func(b, o *Buffer) error {
			b.Drain(5000)
			o.AddString("moved")
			o.Expand(3000) // spare chains must not end up before the pinned ones
			return b.PrependBuffer(o)
		}, nil, "moved", ""},
		{"Expand links after the pinned chains", func(b, o *Buffer) error { return b.Expand(8000) }, nil, data, ""},
		{"Add is refused", func(b, o *Buffer) error { return b.Add([]byte("x")) }, ErrFrozen, data, ""},
		{"Add after Unfreeze is refused", func(b, o *Buffer) error { b.Unfreeze(false); return b.AddString("x") }, ErrFrozen, data, ""},
		{"Reserve is refused", func(b, o *Buffer) error { _, err := b.Reserve(10, make([][]byte, 1)); return err }, ErrFrozen, data, ""},
		{"AddBuffer into it is refused", func(b, o *Buffer) error { o.AddString("x"); err := b.AddBuffer(o); o.Drain(1); return err }, ErrFrozen, data, ""},
		{"second PinRead is refused", func(b, o *Buffer) error { _, err := b.PinRead(10, make([][]byte, 1)); return err }, ErrInFlight, data, ""},
		{"CommitWrite without a write", func(b, o *Buffer) error { return b.CommitWrite(0) }, ErrNotInFlight, data, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b, o Buffer
			pinSetup(t, &b)
			vecs := make([][]byte, 2)
			nv, err := b.PinRead(2048, vecs)
			if err != nil || nv != 2 || len(vecs[0]) != 72 || len(vecs[0])+len(vecs[1]) != 2048 {
				t.Fatalf("PinRead = %d, %v (%d+%d bytes)", nv, err, len(vecs[0]), len(vecs[1]))
			}
			if rd, wr := b.InFlight(); !rd || wr {
				t.Fatalf("InFlight = %v, %v", rd, wr)
			}
			pinned := append([]*chain(nil), b.pin.rChains...)
			err = tc.op(&b, &o)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("op: %v, want %v", err, tc.wantErr)
			}
			mustValid(t, &b)
			mustValid(t, &o)
			for _, c := range pinned {
				if !onList(&b, c) || c.flags&flagPinnedR == 0 {
					t.Fatalf("a pinned chain left the buffer or lost its pin\n%s", b.dump())
				}
			}
			if got := contents(t, &b); got != tc.wantB {
				t.Fatalf("b holds %d bytes, want %d", len(got), len(tc.wantB))
			}
			if got := contents(t, &o); got != tc.wantO {
				t.Fatalf("o holds %d bytes, want %d", len(got), len(tc.wantO))
			}
			// The kernel writes now, into memory nobody else may hold.
			others := churn()
			payload := pinData(2048, 7)
			copy(vecs[1], payload[copy(vecs[0], payload):])
			if err := b.CommitRead(1500); err != nil {
				t.Fatal(err)
			}
			mustValid(t, &b)
			noPins(t, "b", &b)
			if got := contents(t, &b); got != tc.wantB+string(payload[:1500]) {
				t.Fatalf("after the commit b holds %d bytes, want %d", len(got), len(tc.wantB)+1500)
			}
			for _, x := range others {
				if bytes.IndexFunc(contentsOf(x), func(r rune) bool { return r != 'Z' }) >= 0 {
					t.Fatal("the read landed in another buffer's memory")
				}
			}
			if err := b.Add([]byte("!")); err != nil {
				t.Fatalf("Add after the commit: %v", err)
			}
			resetAll(others)
			b.Reset()
			o.Reset()
		})
	}
}

func contentsOf(b *Buffer) []byte {
	p := make([]byte, b.Len())
	b.CopyOut(p)
	return p
}

// TestPinWriteOps runs every operation that must respect a write in flight:
// the bytes being sent stay where they are, unchanged, until CommitWrite,
// which drains what was sent.
func TestPinWriteOps(t *testing.T) {
	data := string(pinData(3000, 0))
	tests := []struct {
		name    string
		op      func(b, o *Buffer) error
		wantErr error
		wantB   string // b's bytes after op
		gone    bool   // the op discarded the bytes in flight
	}{
		{"Drain is refused", func(b, o *Buffer) error { return b.Drain(10) }, ErrFrozen, data, false},
		{"Drain after Unfreeze is refused", func(b, o *Buffer) error { b.Unfreeze(true); return b.Drain(10) }, ErrFrozen, data, false},
		{"Remove is refused", func(b, o *Buffer) error { _, err := b.Remove(make([]byte, 10)); return err }, ErrFrozen, data, false},
		{"AddBuffer out is refused", func(b, o *Buffer) error { return o.AddBuffer(b) }, ErrFrozen, data, false},
		{"RemoveBuffer is refused", func(b, o *Buffer) error { _, err := b.RemoveBuffer(o, 10); return err }, ErrFrozen, data, false},
		{"Prepend is refused", func(b, o *Buffer) error { return b.Prepend([]byte("x")) }, ErrFrozen, data, false},
		{"ReadLine is refused", func(b, o *Buffer) error { _, err := b.ReadLine(EOLAny); return err }, ErrFrozen, data, false},
		{"Pullup across pinned chains is refused", func(b, o *Buffer) error { _, err := b.Pullup(2000); return err }, ErrPinned, data, false},
		{"Pullup inside the first chain", func(b, o *Buffer) error { _, err := b.Pullup(100); return err }, nil, data, false},
		{"Add fills the tail without realigning", func(b, o *Buffer) error { return b.Add(pinData(5000, 3)) }, nil, data + string(pinData(5000, 3)), false},
		{"Expand does not resize a pinned chain", func(b, o *Buffer) error { return b.Expand(4000) }, nil, data, false},
		{"Reserve and Commit", func(b, o *Buffer) error {
			v := make([][]byte, 1)
			if _, err := b.Reserve(100, v); err != nil {
				return err
			}
			v[0] = v[0][:copy(v[0], "res")]
			return b.Commit(v)
		}, nil, data + "res", false},
		{"AddBuffer into it", func(b, o *Buffer) error { o.AddString("more"); return b.AddBuffer(o) }, nil, data + "more", false},
		{"AddBufferReference shares the bytes", func(b, o *Buffer) error { return o.AddBufferReference(b) }, nil, data, false},
		{"shared, then both reset", func(b, o *Buffer) error {
			err := o.AddBufferReference(b)
			o.Reset()
			b.Reset()
			return err
		}, nil, "", true},
		{"Reset discards the bytes", func(b, o *Buffer) error { b.Reset(); return nil }, nil, "", true},
		{"Reset, then Add", func(b, o *Buffer) error { b.Reset(); return b.AddString("new") }, nil, "new", true},
		{"second PinWrite is refused", func(b, o *Buffer) error { _, err := b.PinWrite(10, make([][]byte, 1)); return err }, ErrInFlight, data, false},
		{"CommitRead without a read", func(b, o *Buffer) error { return b.CommitRead(0) }, ErrNotInFlight, data, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b, o Buffer
			pinSetup(t, &b)
			vecs := make([][]byte, 4)
			nv, err := b.PinWrite(1500, vecs)
			if err != nil || nv != 2 || len(vecs[0]) != 1024 || len(vecs[1]) != 476 {
				t.Fatalf("PinWrite = %d, %v (%d+%d bytes)", nv, err, len(vecs[0]), len(vecs[1]))
			}
			sent := string(vecs[0]) + string(vecs[1])
			if sent != data[:1500] {
				t.Fatal("PinWrite handed out the wrong bytes")
			}
			err = tc.op(&b, &o)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("op: %v, want %v", err, tc.wantErr)
			}
			mustValid(t, &b)
			mustValid(t, &o)
			if got := contents(t, &b); got != tc.wantB {
				t.Fatalf("b holds %d bytes, want %d", len(got), len(tc.wantB))
			}
			others := churn()
			if got := string(vecs[0]) + string(vecs[1]); got != sent {
				t.Fatalf("the memory of the write in flight changed at %d", firstDiff([]byte(got), []byte(sent)))
			}
			if err := b.CommitWrite(1200); err != nil {
				t.Fatal(err)
			}
			mustValid(t, &b)
			noPins(t, "b", &b)
			want := tc.wantB
			if !tc.gone {
				want = want[1200:]
			}
			if got := contents(t, &b); got != want {
				t.Fatalf("after the commit b holds %d bytes, want %d", len(got), len(want))
			}
			if err := b.Drain(1); err != nil && b.Len() > 0 {
				t.Fatalf("Drain after the commit: %v", err)
			}
			resetAll(others)
			b.Reset()
			o.Reset()
		})
	}
}

// TestPinDangling checks that memory a Reset gave up while a write was in
// flight is released only at the commit (libevent's DANGLING chains): the
// cleanup of a reference runs then, not before.
func TestPinDangling(t *testing.T) {
	var b Buffer
	cleaned := 0
	ref := []byte("referenced bytes")
	b.AddReference(ref, func([]byte) { cleaned++ })
	b.AddString(" and copied ones")
	vecs := make([][]byte, 2)
	if nv, err := b.PinWrite(100, vecs); err != nil || nv != 2 {
		t.Fatalf("PinWrite = %d, %v", nv, err)
	}
	b.Reset()
	if cleaned != 0 {
		t.Fatal("the reference was released while the kernel was sending it")
	}
	if string(vecs[0]) != "referenced bytes" {
		t.Fatal("the memory in flight changed")
	}
	if err := b.CommitWrite(5); err != nil {
		t.Fatal(err)
	}
	if cleaned != 1 || b.Len() != 0 {
		t.Fatalf("after the commit: %d cleanups, %d bytes", cleaned, b.Len())
	}
}

// TestPinErrors covers the argument errors of the pin calls and the freeze
// state they restore.
func TestPinErrors(t *testing.T) {
	var b Buffer
	if _, err := b.PinRead(-1, make([][]byte, 1)); !errors.Is(err, ErrNegative) {
		t.Fatalf("PinRead(-1): %v", err)
	}
	if _, err := b.PinRead(10, nil); !errors.Is(err, ErrNoVecs) {
		t.Fatalf("PinRead without vecs: %v", err)
	}
	if n, err := b.PinRead(0, make([][]byte, 1)); n != 0 || err != nil {
		t.Fatalf("PinRead(0) = %d, %v", n, err)
	}
	if rd, _ := b.InFlight(); rd {
		t.Fatal("PinRead(0) started a read")
	}
	if n, err := b.PinWrite(10, make([][]byte, 1)); n != 0 || err != nil {
		t.Fatalf("PinWrite of an empty buffer = %d, %v", n, err)
	}
	if _, err := b.PinWrite(-1, make([][]byte, 1)); !errors.Is(err, ErrNegative) {
		t.Fatalf("PinWrite(-1): %v", err)
	}
	b.AddString("x")
	if _, err := b.PinWrite(1, nil); !errors.Is(err, ErrNoVecs) {
		t.Fatalf("PinWrite without vecs: %v", err)
	}
	if _, err := b.PinRead(MaxChainSize+1, make([][]byte, 1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("PinRead(too large): %v", err)
	}
	if err := b.CommitRead(0); !errors.Is(err, ErrNotInFlight) {
		t.Fatalf("CommitRead without a read: %v", err)
	}

	// A frozen end refuses PinRead; a freeze set during the read stays.
	b.Freeze(false)
	if _, err := b.PinRead(10, make([][]byte, 1)); !errors.Is(err, ErrFrozen) {
		t.Fatalf("PinRead of a frozen end: %v", err)
	}
	b.Unfreeze(false)
	v := make([][]byte, 1)
	if _, err := b.PinRead(10, v); err != nil {
		t.Fatal(err)
	}
	if err := b.CommitRead(11); !errors.Is(err, ErrCommit) {
		t.Fatalf("CommitRead beyond the space: %v", err)
	}
	if err := b.CommitRead(-1); !errors.Is(err, ErrNegative) {
		t.Fatalf("CommitRead(-1): %v", err)
	}
	b.Freeze(false)
	copy(v[0], "0123456789")
	if err := b.CommitRead(10); err != nil {
		t.Fatal(err)
	}
	if !b.Frozen(false) {
		t.Fatal("the caller's freeze was lost by the commit")
	}
	b.Unfreeze(false)

	b.Freeze(true)
	if _, err := b.PinWrite(1, make([][]byte, 1)); !errors.Is(err, ErrFrozen) {
		t.Fatalf("PinWrite of a frozen front: %v", err)
	}
	b.Unfreeze(true)
	if _, err := b.PinWrite(100, make([][]byte, 1)); err != nil {
		t.Fatal(err)
	}
	if err := b.CommitWrite(12); !errors.Is(err, ErrCommit) {
		t.Fatalf("CommitWrite beyond the bytes: %v", err)
	}
	if err := b.CommitWrite(-1); !errors.Is(err, ErrNegative) {
		t.Fatalf("CommitWrite(-1): %v", err)
	}
	if err := b.CommitWrite(1); err != nil {
		t.Fatal(err)
	}
	if got := contents(t, &b); got != "0123456789" || b.Frozen(true) {
		t.Fatalf("b = %q, front frozen %v", got, b.Frozen(true))
	}
}

// TestPinCallbacks checks that the commits report their changes to the
// callbacks once each, and the pins none.
func TestPinCallbacks(t *testing.T) {
	var b Buffer
	var infos []CallbackInfo
	b.AddCallback(func(_ *Buffer, info CallbackInfo) { infos = append(infos, info) })
	v := make([][]byte, 3)
	nv, err := b.PinRead(100, v)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 0 {
		t.Fatalf("PinRead ran the callbacks: %+v", infos)
	}
	copy(v[0], "hello")
	_ = nv
	if err := b.CommitRead(5); err != nil {
		t.Fatal(err)
	}
	if _, err := b.PinWrite(5, v); err != nil {
		t.Fatal(err)
	}
	if err := b.CommitWrite(3); err != nil {
		t.Fatal(err)
	}
	want := []CallbackInfo{{OrigSize: 0, Added: 5}, {OrigSize: 5, Deleted: 3}}
	if fmt.Sprint(infos) != fmt.Sprint(want) {
		t.Fatalf("callbacks saw %+v, want %+v", infos, want)
	}
}

// TestPinAllocs checks that a buffer cycling reads and writes in flight
// allocates nothing in steady state.
func TestPinAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	var b Buffer
	rv := make([][]byte, 1)
	wv := make([][]byte, 4)
	cycle := func() {
		if _, err := b.PinRead(4096, rv); err != nil {
			t.Fatal(err)
		}
		if err := b.CommitRead(64); err != nil {
			t.Fatal(err)
		}
		if _, err := b.PinWrite(1<<20, wv); err != nil {
			t.Fatal(err)
		}
		if err := b.CommitWrite(64); err != nil {
			t.Fatal(err)
		}
	}
	cycle()
	if n := testing.AllocsPerRun(100, cycle); n != 0 {
		t.Fatalf("%v allocations per read/write cycle", n)
	}
}

func ExampleBuffer_PinRead() {
	var b Buffer
	b.AddString("hello, ")
	vecs := make([][]byte, 2)
	nv, _ := b.PinRead(16, vecs)
	// vecs[:nv] go to the kernel (io_uring recv, WSARecv); the bytes
	// already in b stay readable meanwhile.
	fmt.Println(nv, len(vecs[0]), b.Len())
	// The operation completed with 5 bytes:
	copy(vecs[0], "world")
	_ = b.CommitRead(5)
	out := make([]byte, b.Len())
	b.Remove(out)
	fmt.Printf("%s\n", out)
	// Output:
	// 1 16 7
	// hello, world
}

func ExampleBuffer_PinWrite() {
	var b Buffer
	b.AddString("request one;")
	b.AddString("request two;")
	vecs := make([][]byte, 4)
	nv, _ := b.PinWrite(1<<20, vecs)
	// vecs[:nv] go to the kernel (io_uring send, WSASend); b can grow
	// meanwhile, but its front is frozen.
	b.AddString("request three;")
	fmt.Println(nv, b.Drain(1))
	// The kernel sent 12 bytes:
	_ = b.CommitWrite(12)
	out := make([]byte, b.Len())
	b.Remove(out)
	fmt.Printf("%s\n", out)
	// Output:
	// 1 evbuffer: buffer frozen
	// request two;request three;
}
