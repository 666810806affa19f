package filter_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/bufev/bufev/backends/filter"
	"github.com/bufev/bufev/backends/pair"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
)

// chaosFunc is a pass-through Func that, while wild is set, moves a random
// prefix (possibly nothing, possibly more than limit) and returns a random
// Result; it never reorders or alters bytes. Once calm, it is PassThrough.
func chaosFunc(rng *rand.Rand, wild *bool) filter.Func {
	return func(src, dst *evbuffer.Buffer, limit int, mode bufferevent.FlushMode) filter.Result {
		if !*wild {
			return filter.PassThrough(src, dst, limit, mode)
		}
		n := 0
		if src.Len() > 0 {
			n = rng.IntN(src.Len() + 1)
		}
		if _, err := src.RemoveBuffer(dst, n); err != nil {
			return filter.Error
		}
		switch r := rng.IntN(10); {
		case r < 6:
			return filter.OK
		case r < 9:
			return filter.NeedMore
		default:
			return filter.Error
		}
	}
}

// FuzzFilterPlumbing drives a filter over a pair and a filter over the
// partner with chaotic Funcs, random write chunking and random watermarks:
// nothing may panic, and once the Funcs calm down and both sides flush,
// every byte arrives once and in order.
func FuzzFilterPlumbing(f *testing.F) {
	f.Add([]byte("hello, filter"), uint64(1), uint8(0), uint8(0))
	f.Add(bytes.Repeat([]byte("0123456789"), 500), uint64(7), uint8(16), uint8(3))
	f.Add(make([]byte, 70000), uint64(42), uint8(255), uint8(200))
	f.Add([]byte{}, uint64(3), uint8(1), uint8(1))
	f.Fuzz(runPlumbing)
}

// runPlumbing is one FuzzFilterPlumbing case. Run the fuzzer with
// -fuzzminimizetime 1x or similar: minimising a large input takes long.
func runPlumbing(t *testing.T, data []byte, seed uint64, readHigh, writeHigh uint8) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	p0, p1, err := pair.New(base, 0)
	if err != nil {
		t.Fatal(err)
	}
	wild := true
	fa, err := filter.New(p0, chaosFunc(rng, &wild), chaosFunc(rng, &wild), bufferevent.CloseOnFree)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := filter.New(p1, chaosFunc(rng, &wild), chaosFunc(rng, &wild), bufferevent.CloseOnFree)
	if err != nil {
		t.Fatal(err)
	}
	defer fa.Close()
	defer fb.Close()
	_ = fb.SetWatermark(bufferevent.Read, 0, int(readHigh))
	_ = p1.SetWatermark(bufferevent.Read, 0, int(readHigh)*3)
	_ = p0.SetWatermark(bufferevent.Write, 0, int(writeHigh)*5)
	var got bytes.Buffer
	_ = fb.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		// Drain a random part, to exercise the watermark paths.
		in := bev.Input()
		k := in.Len()
		if wild && k > 0 {
			k = rng.IntN(k + 1)
		}
		p := make([]byte, k)
		n, _ := in.Remove(p)
		got.Write(p[:n])
	}, nil, nil)
	_ = fb.Enable(bufferevent.Read)
	for rest := data; len(rest) > 0; {
		k := min(len(rest), 1+rng.IntN(4096))
		_, _ = fa.Write(rest[:k])
		rest = rest[k:]
		if rng.IntN(3) == 0 {
			_ = base.Loop(eventbase.LoopNonBlock)
		}
	}
	for range 20 {
		_ = base.Loop(eventbase.LoopNonBlock)
	}
	// Calm down and push everything through.
	wild = false
	_ = fb.SetWatermark(bufferevent.Read, 0, 0)
	for i := 0; i < 200 && got.Len() < len(data); i++ {
		_, _ = fa.Flush(bufferevent.Write, bufferevent.Flush)
		_, _ = fb.Flush(bufferevent.Read, bufferevent.Flush)
		_ = fb.Trigger(bufferevent.Read, bufferevent.IgnoreWatermarks)
		_ = base.Loop(eventbase.LoopNonBlock)
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("received %d bytes, sent %d (or reordered)", got.Len(), len(data))
	}
}
