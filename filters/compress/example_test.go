package compress_test

import (
	"fmt"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/filters/compress"
)

// The filters run without an event loop: plain buffers in, plain buffers
// out. Flush makes everything written so far decodable; Finished adds the
// trailer.
func Example() {
	c, err := compress.NewGzip(compress.DefaultLevel)
	if err != nil {
		panic(err)
	}
	defer c.Close()

	var plain, wire, decoded evbuffer.Buffer
	plain.AddString("hello, hello, hello, compressed world\n")
	c.Out(&plain, &wire, -1, bufferevent.Flush)
	c.In(&wire, &decoded, -1, bufferevent.Normal)
	fmt.Printf("after Flush the peer has %q\n", readAll(&decoded))

	plain.AddString("bye\n")
	c.Out(&plain, &wire, -1, bufferevent.Finished)
	c.In(&wire, &decoded, -1, bufferevent.Finished)
	fmt.Printf("after Finished: %q, stream ended: %v, err: %v\n", readAll(&decoded), c.Decoder.Ended(), c.Err())
	// Output:
	// after Flush the peer has "hello, hello, hello, compressed world\n"
	// after Finished: "bye\n", stream ended: true, err: <nil>
}

// A decompression bomb stops at the limit with a clear error.
func ExampleOptions() {
	enc, _ := compress.NewEncoder(compress.Zlib, nil)
	var plain, wire, out evbuffer.Buffer
	plain.Add(make([]byte, 1<<20)) // 1 MiB of zeros: about 1 KiB compressed
	enc.Filter(&plain, &wire, -1, bufferevent.Finished)

	dec, _ := compress.NewDecoder(compress.Zlib, &compress.Options{MaxOutput: 64 << 10})
	defer dec.Close()
	r := dec.Filter(&wire, &out, -1, bufferevent.Finished)
	fmt.Println(r, out.Len())
	fmt.Println(dec.Err())
	// Output:
	// Error 65536
	// compress: decompression limit exceeded: more than 65536 bytes (MaxOutput) (zlib decoder)
}

func readAll(b *evbuffer.Buffer) string {
	p := make([]byte, b.Len())
	b.Remove(p)
	return string(p)
}
