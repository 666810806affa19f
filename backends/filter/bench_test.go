package filter_test

import (
	"testing"

	"github.com/bufev/bufev/backends/filter"
	"github.com/bufev/bufev/backends/pair"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
)

const benchChunk = 4 << 10

// streamBench streams b.N 4 KiB writes from w to r (r drains everything it
// gets) through layers of pass-through filters on each pair end; readHigh,
// if not 0, is r's read high watermark.
func streamBench(b *testing.B, layers, readHigh int) {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer base.Close()
	w, r, err := pair.New(base, 0)
	if err != nil {
		b.Fatal(err)
	}
	for range layers {
		if w, err = filter.New(w, nil, nil, bufferevent.CloseOnFree); err != nil {
			b.Fatal(err)
		}
		if r, err = filter.New(r, nil, nil, bufferevent.CloseOnFree); err != nil {
			b.Fatal(err)
		}
	}
	defer w.Close()
	defer r.Close()
	must(b, r.SetWatermark(bufferevent.Read, 0, readHigh))
	chunk := make([]byte, benchChunk)
	total := int64(b.N) * benchChunk
	var sent, recvd int64
	must(b, r.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		in := bev.Input()
		n := in.Len()
		_ = in.Drain(n)
		recvd += int64(n)
		if recvd >= total {
			base.LoopBreak()
		}
	}, nil, nil))
	must(b, w.SetWatermark(bufferevent.Write, 32<<10, 0))
	must(b, w.SetCallbacks(nil, func(bev *bufferevent.BufferEvent) {
		for sent < total && bev.Output().Len() < 64<<10 {
			_, _ = bev.Write(chunk)
			sent += benchChunk
		}
	}, nil))
	must(b, r.Enable(bufferevent.Read))
	b.SetBytes(benchChunk)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	must(b, w.Trigger(bufferevent.Write, 0))
	must(b, base.Dispatch())
	b.StopTimer()
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	if recvd < total {
		b.Fatalf("received %d of %d bytes", recvd, total)
	}
}

// BenchmarkStreamBarePair is the baseline: 4 KiB writes over a bare pair.
//
//	go test -run '^$' -bench Stream -benchmem ./backends/filter
func BenchmarkStreamBarePair(b *testing.B) { streamBench(b, 0, 0) }

// BenchmarkStreamFilteredPair adds a pass-through filter on each end: the
// overhead of the filter plumbing per 4 KiB write.
func BenchmarkStreamFilteredPair(b *testing.B) { streamBench(b, 1, 0) }

// BenchmarkStreamFilteredPair2 stacks two pass-through filters on each end.
func BenchmarkStreamFilteredPair2(b *testing.B) { streamBench(b, 2, 0) }

// BenchmarkStreamBarePairRead64K and BenchmarkStreamFilteredPairRead64K
// are the same with a 64 KiB read high watermark on the reader, so that
// little is in flight and the CPU caches hold it.
func BenchmarkStreamBarePairRead64K(b *testing.B)     { streamBench(b, 0, 64<<10) }
func BenchmarkStreamFilteredPairRead64K(b *testing.B) { streamBench(b, 1, 64<<10) }

// pingBench measures 64-byte round trips through layers of pass-through
// filters over a pair.
func pingBench(b *testing.B, layers int) {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer base.Close()
	c, s, err := pair.New(base, 0)
	if err != nil {
		b.Fatal(err)
	}
	for range layers {
		if c, err = filter.New(c, nil, nil, bufferevent.CloseOnFree); err != nil {
			b.Fatal(err)
		}
		if s, err = filter.New(s, nil, nil, bufferevent.CloseOnFree); err != nil {
			b.Fatal(err)
		}
	}
	defer c.Close()
	defer s.Close()
	msg := make([]byte, 64)
	buf := make([]byte, 64)
	n := 0
	must(b, s.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		_ = bev.Output().AddBuffer(bev.Input())
	}, nil, nil))
	must(b, c.SetWatermark(bufferevent.Read, len(msg), 0))
	must(b, c.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		for bev.Input().Len() >= len(msg) {
			_, _ = bev.Read(buf)
			n++
			if n >= b.N {
				base.LoopBreak()
				return
			}
			_, _ = bev.Write(msg)
		}
	}, nil, nil))
	must(b, c.Enable(bufferevent.Read))
	must(b, s.Enable(bufferevent.Read))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	_, _ = c.Write(msg)
	must(b, base.Dispatch())
	b.StopTimer()
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	if n < b.N {
		b.Fatalf("%d round trips; want %d", n, b.N)
	}
}

// BenchmarkPingPongBarePair and BenchmarkPingPongFilteredPair compare 64-byte
// round trips without and with a pass-through filter on each end.
func BenchmarkPingPongBarePair(b *testing.B)     { pingBench(b, 0) }
func BenchmarkPingPongFilteredPair(b *testing.B) { pingBench(b, 1) }
