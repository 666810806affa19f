package compress

import (
	"bytes"
	stdflate "compress/flate"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/bufev/bufev/backends/filter"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
	kflate "github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// Benchmarks: each filter beside the same compressor used through a plain
// io.Writer / io.Reader, in the same run. A message is 64 KiB of
// protocol-like text; the encoder benchmarks send one message per op and
// end it with a sync flush (Flush mode), as a connection sending messages
// does; the decoder benchmarks decode one flushed message per op from a
// long stream.
//
//	go test -run '^$' -bench . -benchmem ./compress

const benchMsg = 64 << 10

var benchData = testData(rand.New(rand.NewPCG(42, 42)), 64*benchMsg)

// plainWriter is the compressor of f writing to w, as a plain io.Writer.
func plainWriter(b *testing.B, f Format, w io.Writer) streamWriter {
	var sw streamWriter
	var err error
	switch f {
	case Deflate:
		sw, err = kflate.NewWriter(w, 5)
	case Zlib:
		sw, err = zlib.NewWriterLevel(w, 5)
	case Gzip:
		sw, err = gzip.NewWriterLevel(w, 5)
	case Zstd:
		sw, err = zstd.NewWriter(w, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(DefaultEncoderWindow))
	}
	if err != nil {
		b.Fatal(err)
	}
	return sw
}

func BenchmarkEncode(b *testing.B) {
	for _, f := range formats {
		b.Run(f.String()+"/filter", func(b *testing.B) {
			e, err := NewEncoder(f, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			var src, dst evbuffer.Buffer
			b.SetBytes(benchMsg)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				off := (i % 64) * benchMsg
				i++
				_ = src.Add(benchData[off : off+benchMsg])
				if e.Filter(&src, &dst, -1, bufferevent.Flush) != filter.OK {
					b.Fatal(e.Err())
				}
				_ = dst.Drain(dst.Len())
			}
		})
		b.Run(f.String()+"/io.Writer", func(b *testing.B) {
			w := plainWriter(b, f, io.Discard)
			defer w.Close()
			b.SetBytes(benchMsg)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				off := (i % 64) * benchMsg
				i++
				if _, err := w.Write(benchData[off : off+benchMsg]); err != nil {
					b.Fatal(err)
				}
				if err := w.Flush(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// flushedStream compresses benchData with a sync flush after each message
// and returns the stream cut at the flush points.
func flushedStream(b *testing.B, f Format) [][]byte {
	e, err := NewEncoder(f, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	var src, dst evbuffer.Buffer
	var segs [][]byte
	for off := 0; off < len(benchData); off += benchMsg {
		_ = src.Add(benchData[off : off+benchMsg])
		mode := bufferevent.Flush
		if off+benchMsg == len(benchData) {
			mode = bufferevent.Finished
		}
		e.Filter(&src, &dst, -1, mode)
		seg := make([]byte, dst.Len())
		_, _ = dst.Remove(seg)
		segs = append(segs, seg)
	}
	return segs
}

func BenchmarkDecode(b *testing.B) {
	for _, f := range formats {
		segs := flushedStream(b, f)
		b.Run(f.String()+"/filter", func(b *testing.B) {
			var d *Decoder
			var src, dst evbuffer.Buffer
			b.SetBytes(benchMsg)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i%len(segs) == 0 {
					if d != nil {
						d.Close()
					}
					d, _ = NewDecoder(f, nil)
				}
				_ = src.Add(segs[i%len(segs)])
				i++
				mode := bufferevent.Normal
				if i%len(segs) == 0 {
					mode = bufferevent.Finished
				}
				if d.Filter(&src, &dst, filter.NoLimit, mode) == filter.Error {
					b.Fatal(d.Err())
				}
				if dst.Len() != benchMsg {
					b.Fatalf("decoded %d bytes, want %d", dst.Len(), benchMsg)
				}
				_ = dst.Drain(dst.Len())
			}
			d.Close()
		})
		b.Run(f.String()+"/io.Reader", func(b *testing.B) {
			whole := bytes.Join(segs, nil)
			var r io.Reader
			var z *zstd.Decoder
			buf := make([]byte, benchMsg)
			b.SetBytes(benchMsg)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i%len(segs) == 0 {
					if z != nil {
						z.Close()
					}
					r, z = plainReader(b, f, bytes.NewReader(whole))
				}
				i++
				if _, err := io.ReadFull(r, buf); err != nil {
					b.Fatal(err)
				}
			}
			if z != nil {
				z.Close()
			}
		})
	}
}

func plainReader(b *testing.B, f Format, r io.Reader) (io.Reader, *zstd.Decoder) {
	switch f {
	case Deflate:
		return kflate.NewReader(r), nil
	case Zlib:
		z, err := zlib.NewReader(r)
		if err != nil {
			b.Fatal(err)
		}
		return z, nil
	case Gzip:
		z, err := gzip.NewReader(r)
		if err != nil {
			b.Fatal(err)
		}
		return z, nil
	}
	z, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
	if err != nil {
		b.Fatal(err)
	}
	return z, z
}

// BenchmarkLibraries compares compress/flate with klauspost/compress/flate
// on 1 MiB (the measurement behind the choice of klauspost/compress).
func BenchmarkLibraries(b *testing.B) {
	data := benchData[:1<<20]
	for _, level := range []int{1, 6} {
		b.Run("compress/std/level"+string(rune('0'+level)), func(b *testing.B) {
			w, _ := stdflate.NewWriter(io.Discard, level)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				w.Reset(io.Discard)
				_, _ = w.Write(data)
				_ = w.Close()
			}
		})
		b.Run("compress/klauspost/level"+string(rune('0'+level)), func(b *testing.B) {
			w, _ := kflate.NewWriter(io.Discard, level)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				w.Reset(io.Discard)
				_, _ = w.Write(data)
				_ = w.Close()
			}
		})
	}
	var c bytes.Buffer
	w, _ := stdflate.NewWriter(&c, 6)
	_, _ = w.Write(data)
	_ = w.Close()
	comp := c.Bytes()
	buf := make([]byte, 32<<10)
	b.Run("decompress/std", func(b *testing.B) {
		r := stdflate.NewReader(bytes.NewReader(comp))
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			_ = r.(stdflate.Resetter).Reset(bytes.NewReader(comp), nil)
			for {
				if _, err := r.Read(buf); err != nil {
					break
				}
			}
		}
	})
	b.Run("decompress/klauspost", func(b *testing.B) {
		r := kflate.NewReader(bytes.NewReader(comp))
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			_ = r.(kflate.Resetter).Reset(bytes.NewReader(comp), nil)
			for {
				if _, err := r.Read(buf); err != nil {
					break
				}
			}
		}
	})
}
