package pair_test

import (
	"io"
	"net"
	"testing"

	"github.com/bufev/bufev/backends/pair"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
)

const pingSize = 64

// BenchmarkPingPong measures one round trip of a 64-byte message over a
// pair: a writes, b echoes by moving its input chains to its output, a reads.
// Compare with BenchmarkPingPongNetPipe (the standard library's in-memory
// connection, one goroutine per side).
//
//	go test -run '^$' -bench PingPong -benchmem ./backends/pair
func BenchmarkPingPong(b *testing.B) {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer base.Close()
	ea, eb, err := pair.New(base, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer ea.Close()
	defer eb.Close()
	msg := make([]byte, pingSize)
	buf := make([]byte, pingSize)
	n := 0
	must(b, eb.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		_ = bev.Output().AddBuffer(bev.Input())
	}, nil, nil))
	must(b, ea.SetWatermark(bufferevent.Read, pingSize, 0))
	must(b, ea.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		for bev.Input().Len() >= pingSize {
			_, _ = bev.Read(buf)
			n++
			if n >= b.N {
				base.LoopBreak()
				return
			}
			_, _ = bev.Write(msg)
		}
	}, nil, nil))
	must(b, ea.Enable(bufferevent.Read))
	must(b, eb.Enable(bufferevent.Read))
	// Warm the buffers' chain pools.
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	_, _ = ea.Write(msg)
	must(b, base.Dispatch())
	b.StopTimer()
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	if n < b.N {
		b.Fatalf("%d round trips; want %d", n, b.N)
	}
}

// BenchmarkPingPongNetPipe is the same round trip over net.Pipe.
func BenchmarkPingPongNetPipe(b *testing.B) {
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	go func() {
		buf := make([]byte, pingSize)
		for {
			if _, err := io.ReadFull(c2, buf); err != nil {
				return
			}
			if _, err := c2.Write(buf); err != nil {
				return
			}
		}
	}()
	msg := make([]byte, pingSize)
	buf := make([]byte, pingSize)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for range b.N {
		if _, err := c1.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c1, buf); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

const streamChunk = 16 << 10

// BenchmarkStream measures one-way throughput: a keeps its output topped up
// with 16 KiB writes from its write callback, b drains its input; b's read
// high watermark (256 KiB) applies backpressure.
func BenchmarkStream(b *testing.B) {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer base.Close()
	ea, eb, err := pair.New(base, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer ea.Close()
	defer eb.Close()
	chunk := make([]byte, streamChunk)
	total := int64(b.N) * streamChunk
	var sent, recvd int64
	must(b, eb.SetWatermark(bufferevent.Read, 0, 256<<10))
	must(b, eb.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		n := bev.Input().Len()
		_ = bev.Input().Drain(n)
		recvd += int64(n)
		if recvd >= total {
			base.LoopBreak()
		}
	}, nil, nil))
	must(b, ea.SetWatermark(bufferevent.Write, 64<<10, 0))
	must(b, ea.SetCallbacks(nil, func(bev *bufferevent.BufferEvent) {
		for sent < total && bev.Output().Len() < 128<<10 {
			_, _ = bev.Write(chunk)
			sent += streamChunk
		}
	}, nil))
	must(b, eb.Enable(bufferevent.Read))
	b.SetBytes(streamChunk)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	must(b, ea.Trigger(bufferevent.Write, 0))
	must(b, base.Dispatch())
	b.StopTimer()
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	if recvd < total {
		b.Fatalf("received %d of %d bytes", recvd, total)
	}
}

// BenchmarkStreamNetPipe is the same one-way stream over net.Pipe.
func BenchmarkStreamNetPipe(b *testing.B) {
	c1, c2 := net.Pipe()
	defer c1.Close()
	total := int64(b.N) * streamChunk
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		var n int64
		for n < total {
			k, err := c2.Read(buf)
			if err != nil {
				return
			}
			n += int64(k)
		}
	}()
	chunk := make([]byte, streamChunk)
	b.SetBytes(streamChunk)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for range b.N {
		if _, err := c1.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
	<-done
	b.StopTimer()
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	c2.Close()
}
