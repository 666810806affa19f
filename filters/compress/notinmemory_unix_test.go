//go:build unix

package compress

import (
	"errors"
	"os"
	"testing"

	"github.com/bufev/bufev/backends/filter"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
)

// TestEncoderFileSegment: bytes the encoder cannot read (a sendfile segment in
// a buffer that drains to a descriptor) are an Error that says so. The encoder
// answered NeedMore (Normal) or OK (Finished) without consuming anything, so a
// filter's output stalled for good without an error.
func TestEncoderFileSegment(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "seg")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []bufferevent.FlushMode{bufferevent.Normal, bufferevent.Finished} {
		seg, err := evbuffer.NewFileSegment(int(f.Fd()), 0, 4096, 0)
		if err != nil {
			t.Fatal(err)
		}
		var src, dst evbuffer.Buffer
		src.SetFlags(evbuffer.FlagDrainsToFD)
		if err := src.AddFileSegment(seg, 0, 4096); err != nil {
			t.Fatal(err)
		}
		seg.Release()
		e, err := NewEncoder(Zstd, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := e.Filter(&src, &dst, 1<<20, mode)
		if r != filter.Error || !errors.Is(e.Err(), evbuffer.ErrNotInMemory) {
			t.Errorf("%v: %v, %v; want Error with evbuffer.ErrNotInMemory", mode, r, e.Err())
		}
		src.Reset()
		_ = e.Close()
	}
}
