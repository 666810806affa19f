package framing

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bufev/bufev/backends/filter"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
)

// FuzzLengthPrefixRoundTrip cuts data into frames at random points, frames
// them (output filter and WriteFrame), and reads them back through the
// input filter with random chunking and limits.
func FuzzLengthPrefixRoundTrip(f *testing.F) {
	f.Add([]byte("hello framed world"), uint64(1), uint8(0))
	f.Add(bytes.Repeat([]byte{0xff}, 700), uint64(2), uint8(4))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64, which uint8) {
		size := sizes[int(which)%len(sizes)]
		rng := rand.New(rand.NewPCG(seed, 3))
		out, _ := NewLengthPrefix(size, 255)
		in, _ := NewLengthPrefix(size, 255)
		var frames [][]byte
		for rest := data; len(rest) > 0; {
			n := min(len(rest), rng.IntN(256))
			frames = append(frames, rest[:n])
			rest = rest[n:]
		}
		var user, wire evbuffer.Buffer
		for _, p := range frames {
			if len(p) == 0 || rng.IntN(2) == 0 {
				if err := out.WriteFrame(&wire, p); err != nil {
					t.Fatal(err)
				}
				continue
			}
			_ = user.Add(p)
			if r := out.Out(&user, &wire, -1, bufferevent.Flush); r != filter.OK {
				t.Fatal(r, out.Err())
			}
		}
		w := make([]byte, wire.Len())
		_, _ = wire.Remove(w)
		var got evbuffer.Buffer
		if r := pump(t, rng, in.In, w, &got, true); r == filter.Error {
			t.Fatal(in.Err())
		}
		var p []byte
		var err error
		for i, want := range frames {
			if p, err = in.ReadFrame(&got, p); err != nil || !bytes.Equal(p, want) {
				t.Fatalf("frame %d: %q, %v; want %q", i, p, err, want)
			}
		}
		if got.Len() != 0 {
			t.Fatalf("%d bytes left", got.Len())
		}
	})
}

// FuzzLengthPrefixGarbage feeds arbitrary bytes to the frame parser: no
// panic, errors are clean, and the input buffer only ever holds whole
// frames within the maximum. The top bit of which picks the largest
// maximum a caller can ask for (math.MaxInt, "no limit") instead of 100,
// and the helpers (FrameLen, ReadFrame) also parse the raw input.
func FuzzLengthPrefixGarbage(f *testing.F) {
	f.Add([]byte{0, 3, 'a', 'b', 'c', 0xff, 0xff}, uint64(1), uint8(1))
	f.Add([]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, uint64(2), uint8(4))
	// A header of MaxInt bytes under the largest maximum (Uint64, Uvarint).
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 'a'}, uint64(3), uint8(0x83))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 'a'}, uint64(3), uint8(0x84))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64, which uint8) {
		size := sizes[int(which&0x7f)%len(sizes)]
		rng := rand.New(rand.NewPCG(seed, 4))
		max := 100
		if which&0x80 != 0 {
			max = math.MaxInt
		}
		lp, _ := NewLengthPrefix(size, max)
		var raw evbuffer.Buffer
		_ = raw.Add(data)
		if hl, n, err := lp.FrameLen(&raw); err == nil && (hl <= 0 || n < 0 || n > len(data)-hl) {
			t.Fatalf("FrameLen = %d, %d on %d bytes", hl, n, len(data))
		}
		if p, err := lp.ReadFrame(&raw, nil); err == nil && len(p) > len(data) {
			t.Fatalf("ReadFrame = %d bytes from %d", len(p), len(data))
		}
		var got evbuffer.Buffer
		r := pump(t, rng, lp.In, data, &got, rng.IntN(2) == 0)
		if r == filter.Error {
			err := lp.Err()
			if !errors.Is(err, ErrFrameTooLarge) && !errors.Is(err, ErrBadHeader) && !errors.Is(err, ErrTruncated) {
				t.Fatalf("error without a sentinel: %v", err)
			}
		}
		// Everything delivered parses as whole frames and is a prefix of
		// the input.
		delivered := make([]byte, got.Len())
		_, _ = got.CopyOut(delivered)
		if !bytes.HasPrefix(data, delivered) {
			t.Fatal("delivered bytes are not the input's prefix")
		}
		for got.Len() > 0 {
			hl, n, err := lp.FrameLen(&got)
			if err != nil || n > lp.Max() {
				t.Fatalf("input holds a bad frame: %d, %v", n, err)
			}
			_ = got.Drain(hl + n)
		}
	})
}

// FuzzLines feeds arbitrary bytes to the line framer of every style: no
// panic, clean errors, and only whole lines within the maximum reach the
// input buffer.
func FuzzLines(f *testing.F) {
	f.Add([]byte("a\r\nb\nc\rd\x00e"), uint64(1), uint8(1))
	f.Add([]byte("0123456789\r\n0123456789\r"), uint64(2), uint8(2))
	styles := []evbuffer.EOLStyle{evbuffer.EOLAny, evbuffer.EOLCRLF, evbuffer.EOLCRLFStrict, evbuffer.EOLLF, evbuffer.EOLNUL}
	f.Fuzz(func(t *testing.T, data []byte, seed uint64, which uint8) {
		style := styles[int(which)%len(styles)]
		rng := rand.New(rand.NewPCG(seed, 6))
		l, _ := NewLines(style, 10)
		var got evbuffer.Buffer
		r := pump(t, rng, l.In, data, &got, rng.IntN(2) == 0)
		if r == filter.Error {
			err := l.Err()
			if !errors.Is(err, ErrLineTooLong) && !errors.Is(err, ErrTruncated) {
				t.Fatalf("error without a sentinel: %v", err)
			}
		}
		delivered := make([]byte, got.Len())
		_, _ = got.CopyOut(delivered)
		if !bytes.HasPrefix(data, delivered) {
			t.Fatal("delivered bytes are not the input's prefix")
		}
		for got.Len() > 0 {
			pos, n := got.SearchEOL(nil, style)
			if pos.Pos < 0 {
				t.Fatalf("input holds a partial line %q", delivered)
			}
			if pos.Pos > 10 {
				t.Fatalf("line of %d bytes delivered", pos.Pos)
			}
			_ = got.Drain(pos.Pos + n)
		}
		// Round trip through the output side: complete lines pass as they
		// are.
		out, _ := NewLines(style, 1<<20)
		var src, dst evbuffer.Buffer
		_ = src.Add(data)
		if out.Out(&src, &dst, -1, bufferevent.Normal) == filter.Error {
			t.Fatal(out.Err())
		}
		passed := make([]byte, dst.Len())
		_, _ = dst.CopyOut(passed)
		if !bytes.HasPrefix(data, passed) || src.Len()+dst.Len() != len(data) {
			t.Fatal("output filter changed complete lines")
		}
	})
}
