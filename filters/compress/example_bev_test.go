package compress_test

import (
	"fmt"

	"github.com/bufev/bufev/backends/pair"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
	"github.com/bufev/bufev/filters/compress"
)

// Stacking a Codec on a bufferevent: the client compresses what it writes
// and the server decompresses what it reads, each with its own Codec (here
// over an in-memory pair; a socket bufferevent works the same way).
func ExampleCodec_filter() {
	base, _ := eventbase.New(eventbase.Config{})
	defer base.Close()
	a, b, _ := pair.New(base, bufferevent.CloseOnFree)

	// NewFilter hands each Codec to its filter, which closes it when closed.
	cc, _ := compress.NewZstd(compress.DefaultLevel)
	client, _ := cc.NewFilter(a, bufferevent.CloseOnFree)
	defer client.Close()

	sc, _ := compress.NewZstd(compress.DefaultLevel)
	server, _ := sc.NewFilter(b, bufferevent.CloseOnFree)
	defer server.Close()

	_ = server.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		p := make([]byte, bev.Input().Len())
		n, _ := bev.Read(p)
		fmt.Printf("server read %q\n", p[:n])
	}, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		fmt.Printf("server event %v, stream complete: %v, codec error: %v\n", what, sc.Decoder.Ended(), sc.Err())
		_ = base.LoopExit(0)
	})
	_ = server.Enable(bufferevent.Read)
	_ = client.Enable(bufferevent.Write)

	_, _ = client.Write([]byte("hello over zstd"))
	_, _ = client.Flush(bufferevent.Write, bufferevent.Flush)    // decodable now
	_, _ = client.Flush(bufferevent.Write, bufferevent.Finished) // frame end, then EOF
	_ = base.Dispatch()
	in, _ := cc.Encoder.Stats()
	fmt.Printf("client compressed %d bytes, trailer written: %v\n", in, cc.Encoder.Finished())
	// Output:
	// server read "hello over zstd"
	// server event Reading|EOF, stream complete: true, codec error: <nil>
	// client compressed 15 bytes, trailer written: true
}
