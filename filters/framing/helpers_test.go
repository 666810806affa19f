package framing

import (
	"math/rand/v2"
	"testing"

	"github.com/bufev/bufev/backends/filter"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
)

// pump plays the filter backend for an input filter: data arrives in
// random chunks; after each, f runs while it returns OK and src holds
// bytes, with a random limit; dst is drained into sink between calls. It
// returns the last result (Error stops it).
func pump(t testing.TB, rng *rand.Rand, f filter.Func, data []byte, sink *evbuffer.Buffer, finish bool) filter.Result {
	t.Helper()
	var src, dst evbuffer.Buffer
	last := filter.OK
	call := func(mode bufferevent.FlushMode) filter.Result {
		limit := 1 + rng.IntN(300)
		if rng.IntN(8) == 0 {
			limit = -1
		}
		r := f(&src, &dst, limit, mode)
		if err := sink.AddBuffer(&dst); err != nil {
			t.Fatal(err)
		}
		return r
	}
	for len(data) > 0 {
		n := min(len(data), 1+rng.IntN(200))
		_ = src.Add(data[:n])
		data = data[n:]
		for i := 0; src.Len() > 0; i++ {
			if last = call(bufferevent.Normal); last != filter.OK {
				break
			}
			if i > 1<<16 {
				t.Fatal("filter loops")
			}
		}
		if last == filter.Error {
			return last
		}
	}
	if finish {
		last = call(bufferevent.Finished)
	}
	return last
}
