package framing

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"testing"

	"github.com/bufev/bufev/backends/filter"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
)

// Benchmarks: each framer moving 128-byte messages, beside the standard
// library way of reading the same stream (bufio.Reader with a header and
// io.ReadFull, or ReadSlice for lines), in the same run. Steady state
// allocates nothing.
//
//	go test -run '^$' -bench . -benchmem ./framing

const benchFrame = 128

// BenchmarkLengthPrefixIn: 16 frames arrive in one read; the input filter
// passes them and the reader takes each with ReadFrame.
func BenchmarkLengthPrefixIn(b *testing.B) {
	lp, _ := NewLengthPrefix(Uint32, 1<<20)
	var wire evbuffer.Buffer
	payload := bytes.Repeat([]byte("x"), benchFrame)
	for range 16 {
		_ = lp.WriteFrame(&wire, payload)
	}
	chunk := make([]byte, wire.Len())
	_, _ = wire.Remove(chunk)
	b.Run("filter", func(b *testing.B) {
		var src, dst evbuffer.Buffer
		buf := make([]byte, 0, benchFrame)
		b.SetBytes(int64(len(chunk)))
		b.ReportAllocs()
		for b.Loop() {
			_ = src.Add(chunk)
			if lp.In(&src, &dst, filter.DefaultLimit, bufferevent.Normal) != filter.OK {
				b.Fatal(lp.Err())
			}
			for range 16 {
				var err error
				if buf, err = lp.ReadFrame(&dst, buf); err != nil || len(buf) != benchFrame {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("bufio", func(b *testing.B) {
		r := &repeatReader{chunk: chunk}
		br := bufio.NewReader(r)
		var hdr [4]byte
		buf := make([]byte, benchFrame)
		b.SetBytes(int64(len(chunk)))
		b.ReportAllocs()
		for b.Loop() {
			for range 16 {
				if _, err := io.ReadFull(br, hdr[:]); err != nil {
					b.Fatal(err)
				}
				n := binary.BigEndian.Uint32(hdr[:])
				if _, err := io.ReadFull(br, buf[:n]); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// BenchmarkLengthPrefixOut: each message is written and flushed as one
// frame.
func BenchmarkLengthPrefixOut(b *testing.B) {
	lp, _ := NewLengthPrefix(Uint32, 1<<20)
	payload := bytes.Repeat([]byte("x"), benchFrame)
	b.Run("filter", func(b *testing.B) {
		var src, dst evbuffer.Buffer
		b.SetBytes(benchFrame)
		b.ReportAllocs()
		for b.Loop() {
			_ = src.Add(payload)
			if lp.Out(&src, &dst, filter.NoLimit, bufferevent.Flush) != filter.OK {
				b.Fatal(lp.Err())
			}
			_ = dst.Drain(dst.Len())
		}
	})
	b.Run("bufio", func(b *testing.B) {
		bw := bufio.NewWriter(io.Discard)
		var hdr [4]byte
		b.SetBytes(benchFrame)
		b.ReportAllocs()
		for b.Loop() {
			binary.BigEndian.PutUint32(hdr[:], benchFrame)
			_, _ = bw.Write(hdr[:])
			_, _ = bw.Write(payload)
			_ = bw.Flush()
		}
	})
}

// BenchmarkLinesIn: 16 CRLF lines arrive in one read; the input filter
// passes them and the reader takes each with ReadLineSlice.
func BenchmarkLinesIn(b *testing.B) {
	l, _ := NewLines(evbuffer.EOLCRLF, 4096)
	line := append(bytes.Repeat([]byte("y"), benchFrame-2), '\r', '\n')
	chunk := bytes.Repeat(line, 16)
	b.Run("filter", func(b *testing.B) {
		var src, dst evbuffer.Buffer
		b.SetBytes(int64(len(chunk)))
		b.ReportAllocs()
		for b.Loop() {
			_ = src.Add(chunk)
			if l.In(&src, &dst, filter.DefaultLimit, bufferevent.Normal) != filter.OK {
				b.Fatal(l.Err())
			}
			for range 16 {
				if p, err := dst.ReadLineSlice(evbuffer.EOLCRLF); err != nil || len(p) != benchFrame-2 {
					b.Fatal(err, len(p))
				}
			}
		}
	})
	b.Run("bufio", func(b *testing.B) {
		br := bufio.NewReader(&repeatReader{chunk: chunk})
		b.SetBytes(int64(len(chunk)))
		b.ReportAllocs()
		for b.Loop() {
			for range 16 {
				p, err := br.ReadSlice('\n')
				if err != nil || len(p) != benchFrame {
					b.Fatal(err)
				}
			}
		}
	})
}

// repeatReader returns chunk over and over, one chunk per Read at most.
type repeatReader struct {
	chunk []byte
	off   int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := copy(p, r.chunk[r.off:])
	r.off = (r.off + n) % len(r.chunk)
	return n, nil
}
