package evbuffer

import (
	"bytes"
	"fmt"
	"testing"
)

// spaceRec counts the releases of caller memory given to AddSpace.
type spaceRec struct {
	released [][]byte
}

func (r *spaceRec) release(p []byte) { r.released = append(r.released, p) }

// once checks that exactly the memory p came back, once.
func (r *spaceRec) once(t *testing.T, p []byte) {
	t.Helper()
	if len(r.released) != 1 || &r.released[0][0] != &p[0] || len(r.released[0]) != len(p) {
		t.Fatalf("released %d times (want once, with the memory given)", len(r.released))
	}
}

// TestAddSpace covers AddSpace: the writes that follow land in the caller's memory,
// the chain moves between buffers like any other, release runs exactly once, when the
// chain is freed, never while completion I/O pins it, and errors leave b unchanged.
func TestAddSpace(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, b *Buffer, p []byte, r *spaceRec)
	}{
		{"add lands in p, drain releases", func(t *testing.T, b *Buffer, p []byte, r *spaceRec) {
			noErr(t, b.AddString("hello"))
			if string(p[:5]) != "hello" {
				t.Fatalf("the add did not land in the caller's memory: %q", p[:5])
			}
			mustValid(t, b)
			b.Drain(3)
			if len(r.released) != 0 {
				t.Fatal("released with bytes left")
			}
			b.Drain(2)
			r.once(t, p)
			mustValid(t, b)
		}},
		{"moved by AddBuffer, released by the other buffer", func(t *testing.T, b *Buffer, p []byte, r *spaceRec) {
			noErr(t, b.AddString("moved"))
			var dst Buffer
			noErr(t, dst.AddBuffer(b))
			if b.Len() != 0 || len(r.released) != 0 {
				t.Fatalf("after the move: %d bytes left, %d releases", b.Len(), len(r.released))
			}
			wantStr(t, "moved", contents(t, &dst), "moved")
			dst.Drain(dst.Len())
			r.once(t, p)
			mustValid(t, &dst)
		}},
		{"PinRead uses p; Reset while pinned releases at the commit", func(t *testing.T, b *Buffer, p []byte, r *spaceRec) {
			var v [1][]byte
			_, err := b.PinRead(1000, v[:])
			noErr(t, err)
			if &v[0][0] != &p[0] {
				t.Fatal("PinRead did not use the caller's space")
			}
			copy(v[0], "kernel")
			b.Reset()
			if len(r.released) != 0 {
				t.Fatal("released while the read was in flight")
			}
			noErr(t, b.CommitRead(6))
			wantStr(t, "read", contents(t, b), "kernel")
			b.Drain(6)
			r.once(t, p)
			mustValid(t, b)
		}},
		{"no resize into memory of b's own", func(t *testing.T, b *Buffer, p []byte, r *spaceRec) {
			// A chain of caller memory with a little data and not enough room:
			// Reserve links a new chain rather than moving the bytes into a bigger
			// one and swapping the memory.
			noErr(t, b.AddString("abc"))
			var v [1][]byte
			_, err := b.Reserve(len(p), v[:])
			noErr(t, err)
			if len(r.released) != 0 || &b.first.buf[0] != &p[0] {
				t.Fatalf("the caller's chain was resized away:\n%s", b.dump())
			}
			mustValid(t, b)
			b.Reset()
			r.once(t, p)
		}},
		{"Shrink releases unused space", func(t *testing.T, b *Buffer, p []byte, r *spaceRec) {
			b.Shrink()
			r.once(t, p)
			if b.first != nil || b.heldMemory() != 0 {
				t.Fatalf("Shrink kept memory:\n%s", b.dump())
			}
		}},
		{"Shrink keeps space a read in flight uses", func(t *testing.T, b *Buffer, p []byte, r *spaceRec) {
			var v [1][]byte
			_, err := b.PinRead(100, v[:])
			noErr(t, err)
			b.Shrink()
			if len(r.released) != 0 {
				t.Fatal("Shrink released pinned space")
			}
			noErr(t, b.CommitRead(0))
			b.Shrink()
			r.once(t, p)
		}},
		{"an add that links a new chain lets unused space go", func(t *testing.T, b *Buffer, p []byte, r *spaceRec) {
			noErr(t, b.AddSpace(make([]byte, 8), nil)) // frees the trailing empty chain over p
			r.once(t, p)
			mustValid(t, b)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b Buffer
			p := make([]byte, 4096)
			r := &spaceRec{}
			noErr(t, b.AddSpace(p, r.release))
			if b.Len() != 0 {
				t.Fatalf("AddSpace added %d readable bytes", b.Len())
			}
			tc.run(t, &b, p, r)
		})
	}
}

// TestAddSpaceErrors: a frozen end refuses the space (release not called), and an empty
// slice adds nothing.
func TestAddSpaceErrors(t *testing.T) {
	var b Buffer
	r := &spaceRec{}
	b.Freeze(false)
	if err := b.AddSpace(make([]byte, 10), r.release); err != ErrFrozen {
		t.Fatalf("frozen end: %v, want ErrFrozen", err)
	}
	b.Unfreeze(false)
	noErr(t, b.AddSpace(nil, r.release))
	if b.first != nil || len(r.released) != 0 {
		t.Fatal("an empty slice added a chain or was released")
	}
}

// ExampleBuffer_AddSpace reads into memory the caller manages (an arena, huge pages)
// and gets it back once the bytes are gone.
func ExampleBuffer_AddSpace() {
	var b Buffer
	block := make([]byte, 64<<10)
	_ = b.AddSpace(block, func(p []byte) { fmt.Println("block back:", len(p)) })
	_, _ = b.ReadFrom(bytes.NewReader([]byte("lands in the block")))
	fmt.Println(string(block[:18]))
	b.Drain(b.Len())
	// Output:
	// lands in the block
	// block back: 65536
}
