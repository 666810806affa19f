package evbuffer

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// cpuMetric reports the process CPU time per operation ("cpu-ns/op") when
// the benchmark returns: on a shared machine it is steadier than wall time,
// which includes time spent waiting for a CPU.
func cpuMetric(b *testing.B) func() {
	start := cpuNow()
	return func() {
		if d := cpuNow() - start; d > 0 && b.N > 0 {
			b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

var benchSizes = []struct {
	name string
	n    int
}{{"64B", 64}, {"4KiB", 4 << 10}, {"64KiB", 64 << 10}}

// policies are the memory policies benchmarked: the default (one spare chain
// of up to 4 KiB), FlagKeepMemory (up to 1 MiB) and FlagReleaseMemory (no
// spare: every emptied chain goes back to the shared pools).
var policies = []struct {
	name  string
	flags Flags
}{{"evbuffer", 0}, {"evbuffer+KeepMemory", FlagKeepMemory}, {"evbuffer+ReleaseMemory", FlagReleaseMemory}}

// BenchmarkAddDrain appends n bytes and discards them, in steady state.
func BenchmarkAddDrain(b *testing.B) {
	for _, sz := range benchSizes {
		p := bytes.Repeat([]byte("x"), sz.n)
		for _, pol := range policies {
			b.Run(sz.name+"/"+pol.name, func(b *testing.B) {
				var buf Buffer
				buf.SetFlags(pol.flags)
				b.SetBytes(int64(sz.n))
				b.ReportAllocs()
				defer cpuMetric(b)()
				for i := 0; i < b.N; i++ {
					buf.Add(p)
					buf.Drain(sz.n)
				}
			})
		}
		b.Run(sz.name+"/bytes.Buffer", func(b *testing.B) {
			var buf bytes.Buffer
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			defer cpuMetric(b)()
			for i := 0; i < b.N; i++ {
				buf.Write(p)
				buf.Next(sz.n)
			}
		})
	}
}

// BenchmarkAddRemove appends n bytes and copies them out again. "copy" is
// the floor: the same two copies into and out of a preallocated slice (the
// goal: evbuffer at 4 KiB within 0.8x of its throughput).
func BenchmarkAddRemove(b *testing.B) {
	for _, sz := range benchSizes {
		p := bytes.Repeat([]byte("x"), sz.n)
		out := make([]byte, sz.n)
		for _, pol := range policies {
			b.Run(sz.name+"/"+pol.name, func(b *testing.B) {
				var buf Buffer
				buf.SetFlags(pol.flags)
				b.SetBytes(int64(sz.n))
				b.ReportAllocs()
				defer cpuMetric(b)()
				for i := 0; i < b.N; i++ {
					buf.Add(p)
					buf.Remove(out)
				}
			})
		}
		b.Run(sz.name+"/bytes.Buffer", func(b *testing.B) {
			var buf bytes.Buffer
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			defer cpuMetric(b)()
			for i := 0; i < b.N; i++ {
				buf.Write(p)
				buf.Read(out)
			}
		})
		b.Run(sz.name+"/copy", func(b *testing.B) {
			mid := make([]byte, sz.n)
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			defer cpuMetric(b)()
			for i := 0; i < b.N; i++ {
				copy(mid, p)
				copy(out, mid)
			}
		})
	}
}

// BenchmarkAddBuffer moves every byte of a many-chain buffer into another
// and back. The evbuffer cost should not depend on the bytes moved.
func BenchmarkAddBuffer(b *testing.B) {
	for _, chains := range []int{16, 256} {
		for _, chunk := range []int{1 << 10, 16 << 10} {
			name := fmt.Sprintf("%dx%dKiB", chains, chunk>>10)
			p := bytes.Repeat([]byte("m"), chunk)
			b.Run(name+"/evbuffer", func(b *testing.B) {
				var src, dst Buffer
				for i := 0; i < chains; i++ {
					var tmp Buffer
					tmp.Add(p)
					src.AddBuffer(&tmp)
				}
				b.ReportAllocs()
				defer cpuMetric(b)()
				defer cpuMetric(b)()
				for i := 0; i < b.N; i++ {
					dst.AddBuffer(&src)
					src.AddBuffer(&dst)
				}
			})
			b.Run(name+"/bytes.Buffer", func(b *testing.B) {
				var src, dst bytes.Buffer
				for i := 0; i < chains; i++ {
					src.Write(p)
				}
				b.ReportAllocs()
				defer cpuMetric(b)()
				defer cpuMetric(b)()
				for i := 0; i < b.N; i++ {
					src.WriteTo(&dst)
					dst.WriteTo(&src)
				}
			})
		}
	}
}

// linesInput is 1 MiB of short lines ("GET /item/12345 HTTP/1.1" and the
// end of line eol: about 42,000 lines of 20-28 bytes).
func linesInput(eol string) []byte {
	var sb strings.Builder
	for i := 0; sb.Len() < 1<<20; i++ {
		fmt.Fprintf(&sb, "GET /item/%d HTTP/1.1%s", i, eol)
	}
	return []byte(sb.String())
}

// addChunks appends in to b 4 KiB at a time, as socket reads would.
func addChunks(b *Buffer, in []byte) {
	for len(in) > 0 {
		n := min(len(in), 4096)
		b.Add(in[:n])
		in = in[n:]
	}
}

// BenchmarkReadLine reads every line of 1 MiB of short lines and compares
// evbuffer with bufio.Reader on the same input: the same lines (LF-ended
// unless eol says otherwise), the same line count, one copy of the input
// into the reader's memory on both sides, and then either no copy per line
// on both sides (evbuffer.ReadLineSlice against bufio.ReadSlice, both
// returning slices of their buffer) or one allocated copy per line on both
// sides (evbuffer.ReadLine against bufio.ReadBytes and
// bytes.Buffer.ReadBytes). The feed says how the input reaches the reader:
//
//   - reads=4KiB: 4 KiB at a time, lines read after each (evbuffer's
//     DefaultMaxRead; bufio.NewReader's default buffer size);
//   - reads=16KiB: 16 KiB at a time (the socket backend's read size);
//   - buffered=1MiB: all of it first (evbuffer: added 4 KiB at a time, 256
//     chains; bufio: a 1 MiB buffer filled at once), then every line.
//
// Compare with: benchstat -col /impl on the output.
func BenchmarkReadLine(b *testing.B) {
	type feed struct {
		name   string
		chunk  int  // bytes per read
		stream bool // read lines after each chunk (else after all of them)
	}
	feeds := []feed{{"reads=4KiB", 4 << 10, true}, {"reads=16KiB", 16 << 10, true}, {"buffered=1MiB", 4 << 10, false}}
	styles := []struct {
		style EOLStyle
		eol   string
	}{{EOLLF, "\n"}, {EOLCRLF, "\r\n"}, {EOLAny, "\r\n"}}
	for _, st := range styles {
		in := linesInput(st.eol)
		for _, fd := range feeds {
			if st.style != EOLLF && fd.name != "reads=4KiB" {
				continue
			}
			prefix := "eol=" + st.style.String() + "/" + fd.name + "/impl="
			evbuf := func(name string, read func(*Buffer) error) {
				b.Run(prefix+name, func(b *testing.B) {
					var buf Buffer
					b.SetBytes(int64(len(in)))
					b.ReportAllocs()
					defer cpuMetric(b)()
					for i := 0; i < b.N; i++ {
						for p := in; len(p) > 0; {
							n := len(p)
							if fd.stream {
								n = min(n, fd.chunk)
							}
							for q := p[:n]; len(q) > 0; {
								k := min(len(q), fd.chunk)
								buf.Add(q[:k])
								q = q[k:]
							}
							p = p[n:]
							for read(&buf) == nil {
							}
						}
					}
				})
			}
			evbuf("evbuffer.ReadLineSlice", func(buf *Buffer) error {
				_, err := buf.ReadLineSlice(st.style)
				return err
			})
			if st.style == EOLLF && fd.name == "reads=4KiB" {
				evbuf("evbuffer.ReadLine", func(buf *Buffer) error {
					_, err := buf.ReadLine(st.style)
					return err
				})
			}
			size := fd.chunk
			if !fd.stream {
				size = len(in)
			}
			bufioRun := func(name string, read func(*bufio.Reader) error) {
				b.Run(prefix+name, func(b *testing.B) {
					r := bytes.NewReader(in)
					br := bufio.NewReaderSize(r, size)
					b.SetBytes(int64(len(in)))
					b.ReportAllocs()
					defer cpuMetric(b)()
					for i := 0; i < b.N; i++ {
						r.Reset(in)
						br.Reset(r)
						for read(br) == nil {
						}
					}
				})
			}
			if st.style == EOLAny {
				continue // no bufio counterpart
			}
			bufioRun("bufio.ReadSlice", func(br *bufio.Reader) error {
				_, err := br.ReadSlice('\n')
				return err
			})
			if st.style == EOLLF && fd.name == "reads=4KiB" {
				bufioRun("bufio.ReadBytes", func(br *bufio.Reader) error {
					_, err := br.ReadBytes('\n')
					return err
				})
				b.Run(prefix+"bytes.Buffer.ReadBytes", func(b *testing.B) {
					var buf bytes.Buffer
					b.SetBytes(int64(len(in)))
					b.ReportAllocs()
					defer cpuMetric(b)()
					for i := 0; i < b.N; i++ {
						for p := in; len(p) > 0; {
							n := min(len(p), fd.chunk)
							buf.Write(p[:n])
							p = p[n:]
							for {
								if _, err := buf.ReadBytes('\n'); err != nil {
									break
								}
							}
						}
					}
				})
			}
		}
	}
}

// BenchmarkSearch looks for a needle at the end of 1 MiB spread over chains.
func BenchmarkSearch(b *testing.B) {
	in := bytes.Repeat([]byte("abcdefgh"), 1<<17)
	needle := []byte("needle!")
	b.Run("evbuffer", func(b *testing.B) {
		var buf Buffer
		for off := 0; off < len(in); off += 4096 {
			var tmp Buffer
			tmp.Add(in[off : off+4096])
			buf.AddBuffer(&tmp)
		}
		buf.Add(needle)
		b.SetBytes(int64(buf.Len()))
		b.ReportAllocs()
		defer cpuMetric(b)()
		for i := 0; i < b.N; i++ {
			if buf.Search(needle, nil).Pos != len(in) {
				b.Fatal("not found")
			}
		}
	})
	b.Run("bytes.Index", func(b *testing.B) {
		all := append(append([]byte{}, in...), needle...)
		b.SetBytes(int64(len(all)))
		b.ReportAllocs()
		defer cpuMetric(b)()
		for i := 0; i < b.N; i++ {
			if bytes.Index(all, needle) != len(in) {
				b.Fatal("not found")
			}
		}
	})
}

// BenchmarkReadLineWatched is BenchmarkReadLine's zero-copy case on a buffer
// with a callback registered, as a bufferevent's input always has.
func BenchmarkReadLineWatched(b *testing.B) {
	in := linesInput("\n")
	var buf Buffer
	seen := 0
	buf.AddCallback(func(_ *Buffer, info CallbackInfo) { seen += info.Deleted })
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuMetric(b)()
	for i := 0; i < b.N; i++ {
		addChunks(&buf, in)
		for {
			if _, err := buf.ReadLineSlice(EOLLF); err != nil {
				break
			}
		}
	}
}
