package compress

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/bufev/bufev/backends/filter"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
)

// maxOvershoot is how far past limit a call may go once its src is used up
// (one codec block plus slack).
const maxOvershoot = 256 << 10

// testData returns n bytes of mixed compressible and random content.
func testData(rng *rand.Rand, n int) []byte {
	words := []string{"GET /index.html HTTP/1.1\r\n", "Host: example.com\r\n", "bufev ", "event loop ", "filter ", "{\"id\":42}", "\n"}
	var b bytes.Buffer
	for b.Len() < n {
		switch rng.IntN(4) {
		case 0:
			for range rng.IntN(64) {
				b.WriteByte(byte(rng.Uint32()))
			}
		default:
			b.WriteString(words[rng.IntN(len(words))])
		}
	}
	return b.Bytes()[:n]
}

// drive plays the filter backend: it calls f while it returns OK and src
// holds bytes (or, in a flush mode, once more after src empties), with a
// random limit, moving dst's bytes to sink between calls the way a reader
// drains its input. It checks the limit contract and returns the last
// result.
func drive(t testing.TB, rng *rand.Rand, f filter.Func, src, sink *evbuffer.Buffer, mode bufferevent.FlushMode) filter.Result {
	t.Helper()
	var dst evbuffer.Buffer
	for i := 0; ; i++ {
		limit := 1 + rng.IntN(64<<10)
		if rng.IntN(8) == 0 {
			limit = -1
		}
		r := f(src, &dst, limit, mode)
		n := dst.Len()
		if limit >= 0 && n > limit && src.Len() > 0 {
			t.Fatalf("call produced %d bytes with limit %d while src still held %d", n, limit, src.Len())
		}
		if n > max(limit, MaxCallOutput)+maxOvershoot {
			t.Fatalf("call produced %d bytes with limit %d", n, limit)
		}
		if err := sink.AddBuffer(&dst); err != nil {
			t.Fatal(err)
		}
		if r != filter.OK || src.Len() == 0 {
			if r == filter.OK && mode != bufferevent.Normal && i == 0 {
				continue
			}
			return r
		}
		if i > 1<<20 {
			t.Fatal("filter loops without end")
		}
	}
}

// feed splits data into random chunks and runs them through f in Normal
// mode, then calls f once in mode (if not Normal). It returns everything f
// produced.
func feed(t testing.TB, rng *rand.Rand, f filter.Func, errf func() error, data []byte, mode bufferevent.FlushMode) []byte {
	t.Helper()
	var src, sink evbuffer.Buffer
	for len(data) > 0 {
		n := min(len(data), 1+rng.IntN(20000))
		if err := src.Add(data[:n]); err != nil {
			t.Fatal(err)
		}
		data = data[n:]
		if r := drive(t, rng, f, &src, &sink, bufferevent.Normal); r == filter.Error {
			t.Fatalf("filter error in Normal mode: %v", errf())
		}
	}
	if mode != bufferevent.Normal {
		if r := drive(t, rng, f, &src, &sink, mode); r == filter.Error {
			t.Fatalf("filter error in %v mode: %v", mode, errf())
		}
	}
	if src.Len() != 0 {
		t.Fatalf("%d bytes left in src", src.Len())
	}
	out := make([]byte, sink.Len())
	if _, err := sink.Remove(out); err != nil {
		t.Fatal(err)
	}
	return out
}
