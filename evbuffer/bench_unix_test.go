//go:build unix

package evbuffer

import (
	"bytes"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkFD moves n bytes through a socketpair: written from one buffer
// with WriteToFD and read into another with ReadFromFD, against the same
// transfer with write(2)/read(2) from and into bytes.Buffer.
func BenchmarkFD(b *testing.B) {
	for _, sz := range benchSizes[:2] {
		p := bytes.Repeat([]byte("f"), sz.n)
		for _, pol := range policies {
			b.Run(sz.name+"/"+pol.name, func(b *testing.B) {
				a, c := socketpair(b)
				var out, in Buffer
				out.SetFlags(pol.flags)
				in.SetFlags(pol.flags)
				in.SetMaxRead(64 << 10)
				b.SetBytes(int64(sz.n))
				b.ReportAllocs()
				defer cpuMetric(b)()
				for i := 0; i < b.N; i++ {
					out.Add(p)
					for out.Len() > 0 {
						if _, err := out.WriteToFD(a, -1); err != nil {
							b.Fatal(err)
						}
					}
					for in.Len() < sz.n {
						if _, err := in.ReadFromFD(c, -1); err != nil {
							b.Fatal(err)
						}
					}
					in.Drain(sz.n)
				}
			})
		}
		b.Run(sz.name+"/bytes.Buffer", func(b *testing.B) {
			a, c := socketpair(b)
			var out, in bytes.Buffer
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			defer cpuMetric(b)()
			for i := 0; i < b.N; i++ {
				out.Write(p)
				for out.Len() > 0 {
					n, err := unix.Write(a, out.Bytes())
					if err != nil {
						b.Fatal(err)
					}
					out.Next(n)
				}
				for in.Len() < sz.n {
					in.Grow(sz.n)
					free := in.AvailableBuffer()[:sz.n-in.Len()]
					n, err := unix.Read(c, free)
					if err != nil {
						b.Fatal(err)
					}
					in.Write(free[:n])
				}
				in.Next(sz.n)
			}
		})
	}
}
