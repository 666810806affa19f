package compress

import (
	"bytes"
	stdflate "compress/flate"
	stdgzip "compress/gzip"
	stdzlib "compress/zlib"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/bufev/bufev/backends/filter"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
	"github.com/klauspost/compress/zstd"
)

var formats = []Format{Deflate, Zlib, Gzip, Zstd}

// stdReader opens data with the standard library's reader for f (the
// klauspost decoder for zstd, which the standard library lacks).
func stdReader(t testing.TB, f Format, data []byte) io.Reader {
	t.Helper()
	r := bytes.NewReader(data)
	switch f {
	case Deflate:
		return stdflate.NewReader(r)
	case Zlib:
		z, err := stdzlib.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		return z
	case Gzip:
		z, err := stdgzip.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		return z
	case Zstd:
		z, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
		if err != nil {
			t.Fatal(err)
		}
		return &closingReader{z}
	}
	t.Fatalf("format %v", f)
	return nil
}

// closingReader releases a zstd decoder when it reports the end (or an
// error).
type closingReader struct{ z *zstd.Decoder }

func (c *closingReader) Read(p []byte) (int, error) {
	n, err := c.z.Read(p)
	if err != nil {
		c.z.Close()
	}
	return n, err
}

func TestRoundTrip(t *testing.T) {
	for _, f := range formats {
		for _, level := range []int{DefaultLevel, BestSpeed, NoCompression} {
			t.Run(fmt.Sprintf("%v/level%d", f, level), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(f), uint64(level+200)))
				c, err := New(f, &Options{Level: level})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				data := testData(rng, 300<<10)
				cut := 100<<10 + rng.IntN(50<<10)

				// First part, then Flush: everything so far must decode.
				wire1 := feed(t, rng, c.Out, c.Err, data[:cut], bufferevent.Flush)
				if f != Zstd || true {
					got := make([]byte, cut)
					if _, err := io.ReadFull(stdReader(t, f, wire1), got); err != nil {
						t.Fatalf("standard reader after Flush: %v", err)
					}
					if !bytes.Equal(got, data[:cut]) {
						t.Fatal("standard reader after Flush: wrong bytes")
					}
				}
				plain1 := feed(t, rng, c.In, c.Err, wire1, bufferevent.Normal)
				if !bytes.Equal(plain1, data[:cut]) {
					t.Fatalf("decoder after Flush: got %d bytes, want %d", len(plain1), cut)
				}

				// The rest, then Finished: the trailer makes a complete stream.
				wire2 := feed(t, rng, c.Out, c.Err, data[cut:], bufferevent.Finished)
				if !c.Encoder.Finished() {
					t.Fatal("encoder not finished")
				}
				wire := append(append([]byte(nil), wire1...), wire2...)
				got, err := io.ReadAll(stdReader(t, f, wire))
				if err != nil {
					t.Fatalf("standard reader: %v", err)
				}
				if !bytes.Equal(got, data) {
					t.Fatalf("standard reader: got %d bytes, want %d", len(got), len(data))
				}
				plain2 := feed(t, rng, c.In, c.Err, wire2, bufferevent.Finished)
				if !bytes.Equal(plain2, data[cut:]) {
					t.Fatalf("decoder: got %d bytes, want %d", len(plain2), len(data)-cut)
				}
				if !c.Decoder.Ended() {
					t.Fatal("decoder did not see the end of the stream")
				}
				if err := c.Err(); err != nil {
					t.Fatal(err)
				}
				in, out := c.Encoder.Stats()
				if in != int64(len(data)) || out != int64(len(wire)) {
					t.Fatalf("encoder stats %d/%d, want %d/%d", in, out, len(data), len(wire))
				}
				in, out = c.Decoder.Stats()
				if in != int64(len(wire)) || out != int64(len(data)) {
					t.Fatalf("decoder stats %d/%d, want %d/%d", in, out, len(wire), len(data))
				}
			})
		}
	}
}

// TestEmptyStream: Finished with no data still writes a valid stream, and
// a decoder that saw nothing at all is content with Finished.
func TestEmptyStream(t *testing.T) {
	for _, f := range formats {
		t.Run(f.String(), func(t *testing.T) {
			c, err := New(f, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var src, dst evbuffer.Buffer
			if r := c.Out(&src, &dst, -1, bufferevent.Finished); r != filter.OK {
				t.Fatalf("Out = %v, %v", r, c.Err())
			}
			wire := make([]byte, dst.Len())
			_, _ = dst.Remove(wire)
			if len(wire) == 0 {
				t.Fatal("no stream written")
			}
			got, err := io.ReadAll(stdReader(t, f, wire))
			if err != nil || len(got) != 0 {
				t.Fatalf("standard reader: %q, %v", got, err)
			}
			// A second Finished is a no-op.
			if r := c.Out(&src, &dst, -1, bufferevent.Finished); r != filter.OK || dst.Len() != 0 {
				t.Fatalf("second Finished: %v, %d bytes", r, dst.Len())
			}
			// Nothing received, then Finished: no error.
			d, _ := NewDecoder(f, nil)
			defer d.Close()
			if r := d.Filter(&src, &dst, -1, bufferevent.Finished); r != filter.OK {
				t.Fatalf("decoder on nothing = %v, %v", r, d.Err())
			}
			// The empty stream decodes to nothing and ends.
			_ = src.Add(wire)
			if r := d.Filter(&src, &dst, -1, bufferevent.Finished); r != filter.OK || dst.Len() != 0 || !d.Ended() {
				t.Fatalf("decoder on empty stream = %v, %d bytes, ended %v, %v", r, dst.Len(), d.Ended(), d.Err())
			}
		})
	}
}

// TestWriteAfterFinished: data after the trailer is refused with a clear
// error.
func TestWriteAfterFinished(t *testing.T) {
	e, _ := NewEncoder(Gzip, nil)
	defer e.Close()
	var src, dst evbuffer.Buffer
	_ = src.AddString("one")
	if r := e.Filter(&src, &dst, -1, bufferevent.Finished); r != filter.OK {
		t.Fatal(r, e.Err())
	}
	_ = src.AddString("two")
	if r := e.Filter(&src, &dst, -1, bufferevent.Normal); r != filter.Error || !errors.Is(e.Err(), ErrFinished) {
		t.Fatalf("got %v, %v; want Error, ErrFinished", r, e.Err())
	}
}

func TestBadOptions(t *testing.T) {
	cases := []struct {
		f    Format
		o    Options
		want error
	}{
		{Format(0), Options{}, ErrFormat},
		{Format(9), Options{}, ErrFormat},
		{Deflate, Options{Level: 10}, ErrLevel},
		{Gzip, Options{Level: -3}, ErrLevel},
		{Zstd, Options{Level: 23}, ErrLevel},
		{Zstd, Options{EncoderWindow: 3000}, ErrLevel},
		{Zstd, Options{MaxWindow: 10}, ErrLevel},
		{Zlib, Options{MaxOutput: -1}, ErrLevel},
	}
	for _, tc := range cases {
		if _, err := New(tc.f, &tc.o); !errors.Is(err, tc.want) {
			t.Errorf("New(%v, %+v) = %v, want %v", tc.f, tc.o, err, tc.want)
		}
	}
}

// compressAll compresses data in one go with a fresh Encoder.
func compressAll(t testing.TB, f Format, o *Options, data []byte) []byte {
	t.Helper()
	e, err := NewEncoder(f, o)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var src, dst evbuffer.Buffer
	_ = src.Add(data)
	for src.Len() > 0 || !e.Finished() {
		if r := e.Filter(&src, &dst, -1, bufferevent.Finished); r != filter.OK {
			t.Fatal(r, e.Err())
		}
	}
	out := make([]byte, dst.Len())
	_, _ = dst.Remove(out)
	return out
}

// decodeAll runs data through a Decoder, draining its output, until it
// fails or is Finished; it returns the bytes produced and the error.
func decodeAll(t testing.TB, f Format, o *Options, data []byte, mode bufferevent.FlushMode) (int64, error) {
	t.Helper()
	d, err := NewDecoder(f, o)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var src, dst evbuffer.Buffer
	_ = src.Add(data)
	var total int64
	for i := 0; ; i++ {
		r := d.Filter(&src, &dst, 64<<10, mode)
		total += int64(dst.Len())
		_ = dst.Drain(dst.Len())
		if r == filter.Error {
			if d.Err() == nil {
				t.Fatal("Error result without Err")
			}
			return total, d.Err()
		}
		if src.Len() == 0 && (r == filter.NeedMore || mode == bufferevent.Normal || d.Ended() || i > 0) {
			if r == filter.OK && mode == bufferevent.Normal {
				continue
			}
			return total, d.Err()
		}
		if i > 1<<22 {
			t.Fatal("decoder loops")
		}
	}
}

func TestCorruptInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := testData(rng, 64<<10)
	for _, f := range formats {
		t.Run(f.String(), func(t *testing.T) {
			wire := compressAll(t, f, nil, data)
			// Flip bytes in the middle: a checksum or block error.
			bad := append([]byte(nil), wire...)
			for i := len(bad) / 3; i < len(bad)/3+8; i++ {
				bad[i] ^= 0x5a
			}
			_, err := decodeAll(t, f, nil, bad, bufferevent.Finished)
			// Raw DEFLATE has no checksum: flipped bits may still decode.
			if !errors.Is(err, ErrCorrupt) && (f != Deflate || err != nil) {
				t.Fatalf("corrupt middle: %v, want ErrCorrupt", err)
			}
			// Garbage from the start.
			garbage := []byte("this is not a compressed stream at all, not at all!!")
			if _, err := decodeAll(t, f, nil, garbage, bufferevent.Finished); err == nil {
				t.Fatal("garbage accepted")
			}
			// Truncated: Finished before the trailer.
			for _, n := range []int{1, len(wire) / 2, len(wire) - 1} {
				_, err := decodeAll(t, f, nil, wire[:n], bufferevent.Finished)
				if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrCorrupt) {
					t.Fatalf("truncated to %d of %d: %v, want ErrTruncated", n, len(wire), err)
				}
				if n == len(wire)-1 && !errors.Is(err, ErrTruncated) {
					t.Fatalf("cut trailer: %v, want ErrTruncated", err)
				}
			}
			// Truncated but not finished: no error yet, just waiting.
			if _, err := decodeAll(t, f, nil, wire[:len(wire)-1], bufferevent.Normal); err != nil {
				t.Fatalf("partial stream in Normal mode: %v", err)
			}
		})
	}
}

func TestTrailingData(t *testing.T) {
	for _, f := range []Format{Deflate, Zlib} {
		wire := compressAll(t, f, nil, []byte("hello"))
		wire = append(wire, "junk"...)
		if _, err := decodeAll(t, f, nil, wire, bufferevent.Finished); !errors.Is(err, ErrTrailingData) {
			t.Errorf("%v: %v, want ErrTrailingData", f, err)
		}
	}
}

// TestZipBomb: a stream that expands far beyond its size hits the limit
// and fails with ErrLimit instead of eating memory.
func TestZipBomb(t *testing.T) {
	zeros := make([]byte, 8<<20)
	cases := []struct {
		name string
		f    Format
		o    *Options
	}{
		{"zstd/default-ratio", Zstd, nil},
		{"gzip/max-output", Gzip, &Options{MaxOutput: 1 << 20}},
		{"deflate/ratio", Deflate, &Options{MaxRatio: 100}},
		{"zlib/max-output", Zlib, &Options{MaxOutput: 2 << 20}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wire := compressAll(t, tc.f, &Options{Level: BestSpeed}, zeros)
			n, err := decodeAll(t, tc.f, tc.o, wire, bufferevent.Finished)
			if !errors.Is(err, ErrLimit) {
				t.Fatalf("%d bytes from %d, err %v; want ErrLimit", n, len(wire), err)
			}
			if tc.o != nil && tc.o.MaxOutput > 0 && n > tc.o.MaxOutput {
				t.Fatalf("produced %d bytes, above MaxOutput %d", n, tc.o.MaxOutput)
			}
			if n >= int64(len(zeros)) {
				t.Fatalf("produced %d bytes before stopping", n)
			}
		})
	}
	// Exactly at MaxOutput is fine.
	wire := compressAll(t, Gzip, nil, zeros[:1000])
	if n, err := decodeAll(t, Gzip, &Options{MaxOutput: 1000}, wire, bufferevent.Finished); err != nil || n != 1000 {
		t.Fatalf("at the limit: %d, %v", n, err)
	}
}

// TestZstdWindowLimit: a frame asking for a window above MaxWindow is
// refused before the decoder allocates it.
func TestZstdWindowLimit(t *testing.T) {
	// Flush before the end so the encoder cannot know the size and must
	// declare its window.
	e, _ := NewEncoder(Zstd, &Options{EncoderWindow: 8 << 20})
	defer e.Close()
	var src, dst evbuffer.Buffer
	_ = src.Add(testData(rand.New(rand.NewPCG(3, 3)), 4<<10))
	e.Filter(&src, &dst, -1, bufferevent.Flush)
	_ = src.AddString("end")
	e.Filter(&src, &dst, -1, bufferevent.Finished)
	wire := make([]byte, dst.Len())
	_, _ = dst.Remove(wire)
	if _, err := decodeAll(t, Zstd, &Options{MaxWindow: 8 << 20}, wire, bufferevent.Finished); err != nil {
		t.Fatalf("window at the limit: %v", err)
	}
	_, err := decodeAll(t, Zstd, &Options{MaxWindow: 1 << 20}, wire, bufferevent.Finished)
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("err %v, want ErrLimit", err)
	}
}

// TestDecoderCloseEndsCoroutine: a Decoder in the middle of a stream holds
// a coroutine; Close ends it.
func TestDecoderCloseEndsCoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	var ds []*Decoder
	for _, f := range formats {
		wire := compressAll(t, f, nil, []byte("some bytes to decode, some bytes to decode"))
		d, _ := NewDecoder(f, nil)
		var src, dst evbuffer.Buffer
		_ = src.Add(wire[:len(wire)-2])
		if r := d.Filter(&src, &dst, -1, bufferevent.Normal); r == filter.Error {
			t.Fatal(d.Err())
		}
		ds = append(ds, d)
	}
	if runtime.NumGoroutine() <= before {
		t.Log("no coroutine goroutines visible")
	}
	for _, d := range ds {
		_ = d.Close()
		_ = d.Close()
		var src, dst evbuffer.Buffer
		_ = src.AddString("x")
		if r := d.Filter(&src, &dst, -1, bufferevent.Normal); r != filter.Error || !errors.Is(d.Err(), ErrClosed) {
			t.Fatalf("after Close: %v, %v", r, d.Err())
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after Close, %d before", n, before)
	}
}

// TestCallOutputBounded: with filter.NoLimit (Flush and Finished mode) a
// call still produces at most MaxCallOutput (plus one codec block) while
// input remains; the backend's loop of calls delivers everything.
func TestCallOutputBounded(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	random := make([]byte, 6<<20)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	zeros := make([]byte, 8<<20)
	for _, f := range formats {
		t.Run(f.String(), func(t *testing.T) {
			// Encoder: incompressible input, one Flush.
			e, _ := NewEncoder(f, &Options{Level: BestSpeed})
			defer e.Close()
			var src, dst evbuffer.Buffer
			_ = src.Add(random)
			calls := 0
			for first := true; first || src.Len() > 0; first = false {
				if r := e.Filter(&src, &dst, filter.NoLimit, bufferevent.Flush); r != filter.OK {
					t.Fatal(r, e.Err())
				}
				if dst.Len() > MaxCallOutput+maxOvershoot {
					t.Fatalf("encoder call produced %d bytes", dst.Len())
				}
				_ = dst.Drain(dst.Len())
				calls++
			}
			if calls < 2 {
				t.Fatalf("%d calls: output not bounded per call", calls)
			}
			// Decoder: highly compressible input, Finished.
			wire := compressAll(t, f, nil, zeros)
			d, _ := NewDecoder(f, &Options{MaxRatio: -1})
			defer d.Close()
			_ = src.Add(wire)
			total := 0
			for first := true; first || src.Len() > 0; first = false {
				if r := d.Filter(&src, &dst, filter.NoLimit, bufferevent.Finished); r != filter.OK {
					t.Fatal(r, d.Err())
				}
				if dst.Len() > MaxCallOutput+maxOvershoot {
					t.Fatalf("decoder call produced %d bytes", dst.Len())
				}
				total += dst.Len()
				_ = dst.Drain(dst.Len())
			}
			if total != len(zeros) || !d.Ended() {
				t.Fatalf("decoded %d of %d bytes, ended %v", total, len(zeros), d.Ended())
			}
		})
	}
}
