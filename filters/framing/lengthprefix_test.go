package framing

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bufev/bufev/backends/filter"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
)

var sizes = []LengthSize{Uint8, Uint16, Uint32, Uint64, Uvarint}

func randFrames(rng *rand.Rand, n, max int) [][]byte {
	frames := make([][]byte, n)
	for i := range frames {
		k := rng.IntN(max + 1)
		if rng.IntN(5) == 0 {
			k = 0
		}
		p := make([]byte, k)
		for j := range p {
			p[j] = byte(rng.Uint32())
		}
		frames[i] = p
	}
	return frames
}

func TestLengthPrefixRoundTrip(t *testing.T) {
	for _, size := range sizes {
		t.Run(size.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(size+10), 1))
			max := 250
			if size != Uint8 {
				max = 1000
			}
			out, err := NewLengthPrefix(size, max)
			if err != nil {
				t.Fatal(err)
			}
			in, _ := NewLengthPrefix(size, max)
			frames := randFrames(rng, 200, max)

			// Output side: each message ends with a Flush.
			var user, wire evbuffer.Buffer
			for _, p := range frames {
				_ = user.Add(p)
				if r := out.Out(&user, &wire, 100, bufferevent.Normal); r != filter.NeedMore {
					t.Fatalf("Normal mode: %v", r)
				}
				if r := out.Out(&user, &wire, 100, bufferevent.Flush); r != filter.OK {
					t.Fatalf("Flush: %v, %v", r, out.Err())
				}
				if user.Len() != 0 {
					t.Fatal("Flush left bytes")
				}
			}
			var w []byte
			w = make([]byte, wire.Len())
			_, _ = wire.Remove(w)

			// Check the bytes against a hand encoder.
			var want []byte
			for _, p := range frames {
				if len(p) == 0 {
					// An empty message makes no frame on the output side.
					continue
				}
				want = out.appendHeader(want, len(p))
				want = append(want, p...)
			}
			if !bytes.Equal(w, want) {
				t.Fatal("wire bytes differ from the hand encoding")
			}
			// Add empty frames by hand (WriteFrame) for the input side.
			var wb evbuffer.Buffer
			for _, p := range frames {
				if err := in.WriteFrame(&wb, p); err != nil {
					t.Fatal(err)
				}
			}
			w = make([]byte, wb.Len())
			_, _ = wb.Remove(w)

			// Input side with random chunking and limits.
			var got evbuffer.Buffer
			if r := pump(t, rng, in.In, w, &got, true); r == filter.Error {
				t.Fatal(in.Err())
			}
			var p []byte
			for i, f := range frames {
				p, err = in.ReadFrame(&got, p)
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if !bytes.Equal(p, f) {
					t.Fatalf("frame %d differs", i)
				}
			}
			if _, err := in.ReadFrame(&got, p); !errors.Is(err, ErrIncomplete) || got.Len() != 0 {
				t.Fatalf("after the last frame: %v, %d bytes", err, got.Len())
			}
		})
	}
}

// TestLengthPrefixWholeFrames: the input buffer only ever holds whole
// frames, even when the limit is 1 and bytes arrive one at a time.
func TestLengthPrefixWholeFrames(t *testing.T) {
	f, _ := NewLengthPrefix(Uint16, 100)
	var wire evbuffer.Buffer
	for i := range 10 {
		_ = f.WriteFrame(&wire, bytes.Repeat([]byte{byte(i)}, 10*i))
	}
	all := make([]byte, wire.Len())
	_, _ = wire.Remove(all)
	var src, dst evbuffer.Buffer
	frames := 0
	for _, c := range all {
		_ = src.Add([]byte{c})
		for src.Len() > 0 {
			if r := f.In(&src, &dst, 1, bufferevent.Normal); r == filter.Error {
				t.Fatal(f.Err())
			} else if r == filter.NeedMore {
				break
			}
		}
		for dst.Len() > 0 {
			hl, n, err := f.FrameLen(&dst)
			if err != nil {
				t.Fatalf("input holds a partial frame: %v", err)
			}
			_ = dst.Drain(hl + n)
			frames++
		}
	}
	if frames != 10 {
		t.Fatalf("%d frames, want 10", frames)
	}
}

func TestLengthPrefixErrors(t *testing.T) {
	u32 := func(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }
	cases := []struct {
		name   string
		size   LengthSize
		max    int
		input  []byte
		finish bool
		want   error
	}{
		{"oversize uint32", Uint32, 100, u32(101), false, ErrFrameTooLarge},
		{"oversize uint8", Uint8, 10, []byte{11}, false, ErrFrameTooLarge},
		{"huge uint64", Uint64, 0, binary.BigEndian.AppendUint64(nil, 1<<63), false, ErrFrameTooLarge},
		{"uvarint overflow", Uvarint, 0, bytes.Repeat([]byte{0xff}, 11), false, ErrBadHeader},
		{"uvarint too long", Uvarint, 0, append(bytes.Repeat([]byte{0x80}, 10), 0), false, ErrBadHeader},
		{"uvarint oversize", Uvarint, 1000, binary.AppendUvarint(nil, 1001), false, ErrFrameTooLarge},
		{"truncated payload", Uint16, 100, []byte{0, 5, 'a', 'b'}, true, ErrTruncated},
		{"truncated header", Uint32, 100, []byte{0, 0}, true, ErrTruncated},
		{"after good frame", Uint8, 5, []byte{1, 'x', 6}, false, ErrFrameTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := NewLengthPrefix(tc.size, tc.max)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(5, 5))
			var sink evbuffer.Buffer
			r := pump(t, rng, f.In, tc.input, &sink, tc.finish)
			if r != filter.Error || !errors.Is(f.Err(), tc.want) {
				t.Fatalf("got %v, %v; want Error, %v", r, f.Err(), tc.want)
			}
			// Sticky: later calls fail too.
			var src, dst evbuffer.Buffer
			if f.In(&src, &dst, -1, bufferevent.Normal) != filter.Error {
				t.Fatal("error not sticky")
			}
		})
	}
	// Output side: a message above the maximum.
	f, _ := NewLengthPrefix(Uint16, 10)
	var src, dst evbuffer.Buffer
	_ = src.Add(make([]byte, 11))
	if r := f.Out(&src, &dst, -1, bufferevent.Normal); r != filter.Error || !errors.Is(f.Err(), ErrFrameTooLarge) {
		t.Fatalf("oversize message: %v, %v", r, f.Err())
	}
	if err := f.WriteFrame(&dst, make([]byte, 11)); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("WriteFrame oversize: %v", err)
	}
	if _, err := NewLengthPrefix(LengthSize(3), 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("size 3: %v", err)
	}
	if f, _ := NewLengthPrefix(Uint8, 1000); f.Max() != 255 {
		t.Fatalf("uint8 max = %d", f.Max())
	}
}

func TestLengthPrefixHelpers(t *testing.T) {
	f, _ := NewLengthPrefix(Uvarint, 0)
	var buf, payload, dst evbuffer.Buffer
	_ = payload.AddString("zero-copy payload")
	if err := f.WriteFrameBuffer(&buf, &payload); err != nil || payload.Len() != 0 {
		t.Fatal(err, payload.Len())
	}
	_ = f.WriteFrame(&buf, []byte("second"))
	p, total, err := f.PeekFrame(&buf)
	if err != nil || string(p) != "zero-copy payload" || total != 18 {
		t.Fatalf("PeekFrame = %q, %d, %v", p, total, err)
	}
	_ = buf.Drain(total)
	n, err := f.ReadFrameBuffer(&buf, &dst)
	if err != nil || n != 6 || dst.Len() != 6 || buf.Len() != 0 {
		t.Fatalf("ReadFrameBuffer = %d, %v", n, err)
	}
	if _, err := f.ReadFrameBuffer(&buf, &dst); !errors.Is(err, ErrIncomplete) {
		t.Fatal(err)
	}
}

func TestLengthSizeString(t *testing.T) {
	got := fmt.Sprint(Uint8, Uint16, Uint32, Uint64, Uvarint, LengthSize(5))
	if got != "uint8 uint16 uint32 uint64 uvarint LengthSize(5)" {
		t.Fatal(got)
	}
}

// TestLengthPrefixLimit: while src holds more, a call stops before the
// frame that would pass the limit, but always moves at least one.
func TestLengthPrefixLimit(t *testing.T) {
	f, _ := NewLengthPrefix(Uint16, 100)
	var src, dst evbuffer.Buffer
	for range 10 {
		_ = f.WriteFrame(&src, make([]byte, 8)) // 10 bytes per frame
	}
	if r := f.In(&src, &dst, 25, bufferevent.Normal); r != filter.OK || dst.Len() != 20 {
		t.Fatalf("limit 25: %v, %d bytes", r, dst.Len())
	}
	_ = dst.Drain(dst.Len())
	if r := f.In(&src, &dst, 3, bufferevent.Normal); r != filter.OK || dst.Len() != 10 {
		t.Fatalf("limit 3: %v, %d bytes (one whole frame expected)", r, dst.Len())
	}
	_ = dst.Drain(dst.Len())
	if r := f.In(&src, &dst, -1, bufferevent.Normal); r != filter.OK || dst.Len() != 70 || src.Len() != 0 {
		t.Fatalf("no limit: %v, %d bytes", r, dst.Len())
	}
	if r := f.In(&src, &dst, -1, bufferevent.Normal); r != filter.NeedMore {
		t.Fatalf("nothing to do: %v", r)
	}
}

// TestLengthPrefixManyChains: frames whose headers and payloads are split
// over many tiny chains (more than one Peek can return) still parse.
func TestLengthPrefixManyChains(t *testing.T) {
	for _, size := range sizes {
		lp, _ := NewLengthPrefix(size, 200)
		rng := rand.New(rand.NewPCG(uint64(size+3), 8))
		frames := randFrames(rng, 60, 200)
		var wire evbuffer.Buffer
		for _, p := range frames {
			_ = lp.WriteFrame(&wire, p)
		}
		all := make([]byte, wire.Len())
		_, _ = wire.Remove(all)
		var src, dst evbuffer.Buffer
		for rest := all; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(3))
			_ = src.AddReference(rest[:n], nil) // one chain per piece
			rest = rest[n:]
		}
		if r := lp.In(&src, &dst, filter.NoLimit, bufferevent.Flush); r != filter.OK || src.Len() != 0 {
			t.Fatalf("%v: %v, %v, %d left", size, r, lp.Err(), src.Len())
		}
		var p []byte
		var err error
		for i, want := range frames {
			if p, err = lp.ReadFrame(&dst, p); err != nil || !bytes.Equal(p, want) {
				t.Fatalf("%v frame %d: %v", size, i, err)
			}
		}
	}
}

// TestLengthPrefixHugeMax: with the largest maximum a user can ask for
// ("no limit"), a peer's header declaring that many bytes is a frame that
// is not complete yet, never a negative length: In took it for a whole
// frame of negative size and stalled (NeedMore with src untouched), and
// FrameLen reported it complete, so ReadFrame panicked slicing -2^63+7.
func TestLengthPrefixHugeMax(t *testing.T) {
	for _, sz := range []LengthSize{Uint64, Uvarint} {
		t.Run(sz.String(), func(t *testing.T) {
			f, err := NewLengthPrefix(sz, math.MaxInt)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []uint64{math.MaxInt, uint64(f.Max()), 1 << 62} {
				h := binary.AppendUvarint(nil, n)
				if sz == Uint64 {
					h = binary.BigEndian.AppendUint64(nil, n)
				}
				var b evbuffer.Buffer
				_ = b.Add(h)
				_ = b.AddString("abc")
				_, _, err := f.FrameLen(&b)
				if n > uint64(f.Max()) {
					if !errors.Is(err, ErrFrameTooLarge) {
						t.Fatalf("declared %d: FrameLen = %v, want ErrFrameTooLarge", n, err)
					}
					continue
				}
				if !errors.Is(err, ErrIncomplete) {
					t.Fatalf("declared %d: FrameLen = %v, want ErrIncomplete", n, err)
				}
				if p, err := f.ReadFrame(&b, nil); !errors.Is(err, ErrIncomplete) || len(p) != 0 || b.Len() != len(h)+3 {
					t.Fatalf("declared %d: ReadFrame = %d bytes, %v, %d left", n, len(p), err, b.Len())
				}
				// The input filter takes the partial frame in, leaving
				// the underlying buffer free, and waits for the rest.
				g, _ := NewLengthPrefix(sz, math.MaxInt)
				var dst evbuffer.Buffer
				if r := g.In(&b, &dst, -1, bufferevent.Normal); r != filter.OK || b.Len() != 0 || dst.Len() != 0 {
					t.Fatalf("declared %d: In = %v, %d left in src, %d delivered (%v)", n, r, b.Len(), dst.Len(), g.Err())
				}
				if r := g.In(&b, &dst, -1, bufferevent.Finished); r != filter.Error || !errors.Is(g.Err(), ErrTruncated) {
					t.Fatalf("declared %d: Finished = %v, %v", n, r, g.Err())
				}
			}
			if f.Max() > math.MaxInt-maxHeader {
				t.Fatalf("Max() = %d: header plus payload overflows an int", f.Max())
			}
		})
	}
}
