package compress

import (
	"testing"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
)

// BenchmarkConnection measures the cost of one short connection: a Codec
// is created, one 1 KiB message goes each way (compressed, sync-flushed,
// decompressed), then both directions finish and the Codec is closed.
// B/op is the memory a connection's codec state costs.
func BenchmarkConnection(b *testing.B) {
	msg := benchData[:1024]
	for _, f := range formats {
		b.Run(f.String(), func(b *testing.B) {
			b.ReportAllocs()
			var plain, wire, out evbuffer.Buffer
			for b.Loop() {
				c, err := New(f, nil)
				if err != nil {
					b.Fatal(err)
				}
				_ = plain.Add(msg)
				c.Out(&plain, &wire, -1, bufferevent.Finished)
				c.In(&wire, &out, -1, bufferevent.Finished)
				if out.Len() != len(msg) {
					b.Fatal(c.Err())
				}
				_ = out.Drain(out.Len())
				_ = c.Close()
			}
		})
	}
}
