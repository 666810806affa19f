package filter_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/bufev/bufev/backends/filter"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// chained returns a buffer holding pieces, each in its own chain, so that
// the boundaries between pieces are chain boundaries.
func chained(t *testing.T, pieces ...string) *evbuffer.Buffer {
	t.Helper()
	b := evbuffer.New()
	for _, p := range pieces {
		tmp := evbuffer.New()
		must(t, tmp.AddString(p))
		must(t, b.AddBuffer(tmp))
	}
	return b
}

func str(t *testing.T, b *evbuffer.Buffer) string {
	t.Helper()
	p, err := b.Pullup(-1)
	must(t, err)
	return string(p)
}

// expander writes 4000 bytes for every input byte: more than any first
// reservation, so it exercises the ErrShortDst growth.
type expander struct{ transform.NopResetter }

func (expander) Transform(dst, src []byte, _ bool) (nDst, nSrc int, err error) {
	for _, c := range src {
		if len(dst)-nDst < 4000 {
			return nDst, nSrc, transform.ErrShortDst
		}
		for i := range 4000 {
			dst[nDst+i] = c
		}
		nDst += 4000
		nSrc++
	}
	return nDst, nSrc, nil
}

// trailer emits "<eof>" when it sees atEOF, and copies otherwise; it counts
// Resets.
type trailer struct{ resets int }

func (t *trailer) Reset() { t.resets++ }
func (t *trailer) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	n := copy(dst, src)
	if n < len(src) {
		return n, n, transform.ErrShortDst
	}
	if atEOF {
		if len(dst)-n < 5 {
			return n, n, transform.ErrShortDst
		}
		n += copy(dst[n:], "<eof>")
	}
	return n, len(src), nil
}

func TestFromTransformer(t *testing.T) {
	latin1 := string([]byte{'c', 'a', 'f', 0xe9, ' ', 0xfc, 'b', 'e', 'r'}) // "café über" in ISO-8859-1
	cases := []struct {
		name   string
		t      transform.Transformer
		pieces []string
		mode   bufferevent.FlushMode
		want   string
		rest   string // left in src
		res    filter.Result
	}{
		{"charmap-decode", charmap.ISO8859_1.NewDecoder(), []string{latin1[:4], latin1[4:]}, bufferevent.Normal, "café über", "", filter.OK},
		// "é" is cut between two chains: the encoder must see it whole.
		{"charmap-encode-split-rune", charmap.ISO8859_1.NewEncoder(), []string{"caf\xc3", "\xa9 \xc3", "\xbcber"}, bufferevent.Normal, latin1, "", filter.OK},
		// NFC: a combining accent may follow, so "e" is held back...
		{"nfc-holds-back", norm.NFC, []string{"cafe"}, bufferevent.Normal, "caf", "e", filter.OK},
		// ...and composed with the accent that arrives in the next chain
		// (the final "!" is held back in turn).
		{"nfc-compose-across-chains", norm.NFC, []string{"cafe", "\u0301!"}, bufferevent.Normal, "café", "!", filter.OK},
		// At the end of the stream the held-back tail is flushed.
		{"nfc-finished", norm.NFC, []string{"cafe"}, bufferevent.Finished, "cafe", "", filter.OK},
		{"nothing-yet", norm.NFC, []string{"e"}, bufferevent.Normal, "", "e", filter.NeedMore},
		{"short-dst-growth", expander{}, []string{"ab"}, bufferevent.Flush, strings.Repeat("a", 4000) + strings.Repeat("b", 4000), "", filter.OK},
		{"invalid-utf8-encode", charmap.ISO8859_1.NewEncoder(), []string{"\u4e16"}, bufferevent.Normal, "", "\u4e16", filter.Error},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := chained(t, c.pieces...)
			dst := evbuffer.New()
			fn := filter.FromTransformer(c.t)
			limit := filter.NoLimit
			if c.mode == bufferevent.Normal {
				limit = 1 << 20
			}
			res := fn(src, dst, limit, c.mode)
			if res != c.res {
				t.Errorf("result %v; want %v", res, c.res)
			}
			if res == filter.Error {
				return
			}
			if got := str(t, dst); got != c.want {
				t.Errorf("dst %q; want %q", got, c.want)
			}
			if got := str(t, src); got != c.rest {
				t.Errorf("src left %q; want %q", got, c.rest)
			}
		})
	}
}

// Finished calls the transformer with atEOF even with nothing buffered, and
// resets it for the next stream.
func TestFromTransformerFinishedEmpty(t *testing.T) {
	tr := &trailer{}
	fn := filter.FromTransformer(tr)
	src, dst := evbuffer.New(), evbuffer.New()
	if res := fn(src, dst, filter.NoLimit, bufferevent.Finished); res != filter.OK {
		t.Fatalf("result %v", res)
	}
	if got := str(t, dst); got != "<eof>" || tr.resets != 1 {
		t.Errorf("dst %q, resets %d; want <eof>, 1", got, tr.resets)
	}
}

// In Normal mode the Func stops near limit and leaves the rest for later.
func TestFromTransformerLimit(t *testing.T) {
	src := chained(t, strings.Repeat("x", 3000), strings.Repeat("y", 3000))
	dst := evbuffer.New()
	fn := filter.FromTransformer(transform.Nop)
	if res := fn(src, dst, 100, bufferevent.Normal); res != filter.OK {
		t.Fatalf("result %v", res)
	}
	if dst.Len() == 0 || dst.Len() > 3000 || src.Len()+dst.Len() != 6000 {
		t.Errorf("dst %d, src %d: want a partial move within one chain", dst.Len(), src.Len())
	}
}

// In Finished mode with a limit (the filter's own Finished pass at the
// underlying's EOF) the Func also stops near limit while src holds more, and
// calls the transformer with atEOF only on the last of it: it converted all
// of src at once, past the read watermark.
func TestFromTransformerFinishedLimit(t *testing.T) {
	src := chained(t, strings.Repeat("x", 3000), strings.Repeat("y", 3000))
	dst := evbuffer.New()
	tr := &trailer{}
	fn := filter.FromTransformer(tr)
	if res := fn(src, dst, 100, bufferevent.Finished); res != filter.OK {
		t.Fatalf("result %v", res)
	}
	if dst.Len() == 0 || dst.Len() > 3000 || src.Len()+dst.Len() != 6000 || tr.resets != 0 {
		t.Fatalf("dst %d, src %d, resets %d: want a partial move within one chain, no end yet", dst.Len(), src.Len(), tr.resets)
	}
	for i := 0; src.Len() > 0 && i < 10; i++ {
		if res := fn(src, dst, 100, bufferevent.Finished); res != filter.OK {
			t.Fatalf("result %v", res)
		}
	}
	if got := str(t, dst); got != strings.Repeat("x", 3000)+strings.Repeat("y", 3000)+"<eof>" || tr.resets != 1 {
		t.Errorf("dst %d bytes ending %q, resets %d; want all of it, then <eof>, once", len(got), got[max(0, len(got)-8):], tr.resets)
	}
}

// stuck neither consumes nor produces, and reports no error: it breaks
// transform's contract.
type stuck struct{ transform.NopResetter }

func (stuck) Transform(dst, src []byte, atEOF bool) (int, int, error) { return 0, 0, nil }

// A transformer that makes no progress without an error gives Error: the
// Func called it again with the same input for ever.
func TestFromTransformerNoProgress(t *testing.T) {
	fn := filter.FromTransformer(stuck{})
	for _, mode := range []bufferevent.FlushMode{bufferevent.Normal, bufferevent.Finished} {
		src, dst := chained(t, "abc", "def"), evbuffer.New()
		done := make(chan filter.Result, 1)
		go func() { done <- fn(src, dst, 100, mode) }()
		select {
		case res := <-done:
			if res != filter.Error {
				t.Errorf("%v: result %v; want Error", mode, res)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%v: the Func loops", mode)
		}
	}
}

// A charset round trip over a pair: the writer encodes UTF-8 to
// Windows-1252 on output, the reader decodes it on input; bytes written in
// small pieces that cut runes arrive intact.
func TestTransformerFilterRoundTrip(t *testing.T) {
	base := newBase(t)
	p0, p1 := newPair(t, base, 0)
	enc := newFilter(t, p0, nil, filter.FromTransformer(charmap.Windows1252.NewEncoder()), bufferevent.CloseOnFree)
	dec := newFilter(t, p1, filter.FromTransformer(charmap.Windows1252.NewDecoder()), nil, bufferevent.CloseOnFree)
	defer enc.Close()
	defer dec.Close()
	text := strings.Repeat("Grüße, café — “quotes” €5 ", 200)
	var wire bytes.Buffer
	var got bytes.Buffer
	must(t, dec.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		_, _ = got.ReadFrom(bev.Input())
		if got.Len() == len(text) {
			base.LoopBreak()
		}
	}, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		t.Errorf("decoder event %v: %v", what, err)
	}))
	must(t, enc.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		t.Errorf("encoder event %v: %v", what, err)
	}))
	must(t, dec.Enable(bufferevent.Read))
	// Write in 7-byte pieces, cutting multi-byte runes.
	must(t, base.RunInLoop(func() {
		for i := 0; i < len(text); i += 7 {
			_, _ = enc.Write([]byte(text[i:min(i+7, len(text))]))
		}
	}))
	runFor(t, base, 5*time.Second)
	if got.String() != text {
		t.Fatalf("round trip differs: got %d bytes, want %d", got.Len(), len(text))
	}
	encoded, _ := charmap.Windows1252.NewEncoder().String(text)
	wire.WriteString(encoded)
	if wire.Len() >= len(text) {
		t.Errorf("encoded size %d not smaller than UTF-8 %d: did the encoder run?", wire.Len(), len(text))
	}
}

// Unicode normalisation as an input filter: decomposed text arrives
// composed (NFC), including a combining mark that arrives in a later write,
// and the last character is flushed at EOF.
func TestTransformerFilterNFC(t *testing.T) {
	base := newBase(t)
	p0, p1 := newPair(t, base, 0)
	f := newFilter(t, p1, filter.FromTransformer(norm.NFC), nil, bufferevent.CloseOnFree)
	defer f.Close()
	var got bytes.Buffer
	must(t, f.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		_, _ = got.ReadFrom(bev.Input())
	}, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, _ error) {
		if what&bufferevent.EOF != 0 {
			base.LoopBreak()
		}
	}))
	must(t, f.Enable(bufferevent.Read))
	must(t, base.RunInLoop(func() {
		_, _ = p0.Write([]byte("Cafe"))
		must(t, base.RunInLoop(func() {
			_, _ = p0.Write([]byte("\u0301 and re"))
			must(t, base.RunInLoop(func() {
				_, _ = p0.Write([]byte("\u0301"))
				_ = p0.Close()
			}))
		}))
	}))
	runFor(t, base, 5*time.Second)
	if want := "Café and ré"; got.String() != want || !norm.NFC.IsNormalString(got.String()) {
		t.Errorf("got %q; want %q (NFC)", got.String(), want)
	}
}
