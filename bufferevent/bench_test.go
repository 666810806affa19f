package bufferevent_test

import (
	"testing"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/bevtest/pipe"
	"github.com/bufev/bufev/eventbase"
)

// BenchmarkRoundTrip measures Write on one end plus the read callback on
// the other end of the in-memory test pipe, one 64-byte message per
// iteration, in steady state (0 allocations expected).
func BenchmarkRoundTrip(b *testing.B) {
	for _, o := range []struct {
		name string
		opts bufferevent.Options
	}{{"Plain", 0}, {"Deferred", bufferevent.DeferCallbacks}, {"ThreadSafe", bufferevent.ThreadSafe}} {
		b.Run(o.name, func(b *testing.B) {
			base, err := eventbase.New(eventbase.Config{})
			if err != nil {
				b.Fatal(err)
			}
			defer base.Close()
			x, y, err := pipe.New(base, o.opts)
			if err != nil {
				b.Fatal(err)
			}
			msg := make([]byte, 64)
			buf := make([]byte, 64)
			got := 0
			y.SetCallbacks(func(bev *bufferevent.BufferEvent) {
				n, _ := bev.Read(buf)
				got += n
			}, nil, nil)
			y.Enable(bufferevent.Read)
			step := func() {
				x.Write(msg)
				for got < len(msg) {
					base.Loop(eventbase.LoopOnce)
				}
				got = 0
			}
			for range 100 {
				step()
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			b.ResetTimer()
			for range b.N {
				step()
			}
			b.StopTimer()
			x.Close()
			y.Close()
		})
	}
}
