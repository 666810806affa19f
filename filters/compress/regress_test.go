package compress

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bufev/bufev/backends/filter"
	"github.com/bufev/bufev/backends/pair"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
	"github.com/bufev/bufev/filters/framing"
)

// counted wraps a filter.Func and counts its calls.
func counted(f filter.Func, n *int) filter.Func {
	return func(src, dst *evbuffer.Buffer, limit int, mode bufferevent.FlushMode) filter.Result {
		*n++
		return f(src, dst, limit, mode)
	}
}

// TestBufferEventZlib compresses over a pair with the filter backend: the
// writer's output filter deflates (zlib format), the reader's input filter
// inflates; 8333 bytes go out in two writes (1800 and the rest), then
// Flush(Write, Finished) writes the zlib trailer.
//
// Mirrors libevent test/regress_zlib.c "bufferevent_zlib": both filters run
// at least once, the reader gets exactly the 8333 bytes, the writer's write
// callback sees an empty output, and no error event happens. libevent runs
// it over a socketpair, where a Finished flush stops at the socket; over a
// pair the Finished flush also gives the reader EOF, which the test expects
// (after the data, with the stream complete) and is not counted as an
// error.
func TestBufferEventZlib(t *testing.T) {
	for _, f := range formats {
		t.Run(f.String(), func(t *testing.T) {
			base, err := eventbase.New(eventbase.Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer base.Close()
			p0, p1, err := pair.New(base, bufferevent.CloseOnFree)
			if err != nil {
				t.Fatal(err)
			}
			wc, err := New(f, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer wc.Close()
			rc, err := New(f, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			var outCalls, inCalls int
			bev1, err := filter.New(p0, nil, counted(wc.Out, &outCalls), bufferevent.CloseOnFree)
			if err != nil {
				t.Fatal(err)
			}
			defer bev1.Close()
			bev2, err := filter.New(p1, counted(rc.In, &inCalls), nil, bufferevent.CloseOnFree)
			if err != nil {
				t.Fatal(err)
			}
			defer bev2.Close()

			buffer := make([]byte, 8333)
			for i := range buffer {
				buffer[i] = byte(i)
			}
			var got bytes.Buffer
			var errs []error
			sawEOF, writeEmpty := false, false
			onEvent := func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
				if what&bufferevent.EOF != 0 && what&bufferevent.Error == 0 {
					sawEOF = true
					_ = base.LoopExit(0)
					return
				}
				errs = append(errs, err)
				_ = base.LoopExit(0)
			}
			_ = bev1.SetCallbacks(nil, func(bev *bufferevent.BufferEvent) {
				if bev.Output().Len() == 0 {
					writeEmpty = true
				}
			}, onEvent)
			_ = bev2.SetCallbacks(func(bev *bufferevent.BufferEvent) {
				_, _ = io.Copy(&got, bev.Input())
			}, nil, onEvent)
			_ = bev1.Disable(bufferevent.Read)
			_ = bev1.Enable(bufferevent.Write)
			_ = bev2.Enable(bufferevent.Read)

			if _, err := bev1.Write(buffer[:1800]); err != nil {
				t.Fatal(err)
			}
			if _, err := bev1.Write(buffer[1800:]); err != nil {
				t.Fatal(err)
			}
			if _, err := bev1.Flush(bufferevent.Write, bufferevent.Finished); err != nil {
				t.Fatal(err)
			}
			_ = base.LoopExit(5 * time.Second)
			if err := base.Dispatch(); err != nil {
				t.Fatal(err)
			}

			if outCalls == 0 || inCalls == 0 {
				t.Errorf("filter calls: out %d, in %d; want both > 0", outCalls, inCalls)
			}
			if !bytes.Equal(got.Bytes(), buffer) {
				t.Errorf("reader got %d bytes, want the %d written", got.Len(), len(buffer))
			}
			if !writeEmpty {
				t.Error("the write callback never saw an empty output")
			}
			if len(errs) != 0 {
				t.Errorf("error events: %v (codec: %v)", errors.Join(errs...), errors.Join(wc.Err(), rc.Err()))
			}
			if !sawEOF {
				t.Error("no EOF after the Finished flush")
			}
			if !rc.Decoder.Ended() {
				t.Error("the reader's decoder did not see the end of the stream")
			}
		})
	}
}

// TestFilterStackWatermarks streams 1 MiB through compressing and
// decompressing filters over a pair whose reader has a 4 KiB read high
// watermark (and the writer's underlying a 4 KiB write high watermark):
// everything arrives and nothing stays stuck below a watermark. In the
// spirit of libevent test/regress_bufferevent.c "bufferevent_filter_data_stuck".
func TestFilterStackWatermarks(t *testing.T) {
	data := testData(rand.New(rand.NewPCG(12, 12)), 1<<20)
	for _, f := range formats {
		t.Run(f.String(), func(t *testing.T) {
			base, err := eventbase.New(eventbase.Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer base.Close()
			p0, p1, err := pair.New(base, bufferevent.CloseOnFree)
			if err != nil {
				t.Fatal(err)
			}
			wc, _ := New(f, &Options{Level: BestSpeed})
			defer wc.Close()
			rc, _ := New(f, nil)
			defer rc.Close()
			_ = p0.SetWatermark(bufferevent.Write, 0, 4096)
			bev1, err := filter.New(p0, nil, wc.Out, bufferevent.CloseOnFree)
			if err != nil {
				t.Fatal(err)
			}
			defer bev1.Close()
			bev2, err := filter.New(p1, rc.In, nil, bufferevent.CloseOnFree)
			if err != nil {
				t.Fatal(err)
			}
			defer bev2.Close()
			_ = bev2.SetWatermark(bufferevent.Read, 0, 4096)
			var got bytes.Buffer
			var errs []error
			onEvent := func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
				if what&bufferevent.Error != 0 {
					errs = append(errs, err)
				}
				_ = base.LoopExit(0)
			}
			_ = bev1.SetCallbacks(nil, nil, onEvent)
			_ = bev2.SetCallbacks(func(bev *bufferevent.BufferEvent) {
				if bev.Input().Len() > 4096+MaxCallOutput {
					t.Errorf("input holds %d bytes, watermark 4096", bev.Input().Len())
				}
				_, _ = io.Copy(&got, bev.Input())
			}, nil, onEvent)
			_ = bev1.Enable(bufferevent.Write)
			_ = bev2.Enable(bufferevent.Read)
			for off := 0; off < len(data); off += 100 << 10 {
				if _, err := bev1.Write(data[off:min(off+100<<10, len(data))]); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := bev1.Flush(bufferevent.Write, bufferevent.Finished); err != nil {
				t.Fatal(err)
			}
			_ = base.LoopExit(10 * time.Second)
			if err := base.Dispatch(); err != nil {
				t.Fatal(err)
			}
			if len(errs) > 0 {
				t.Fatalf("errors: %v (codec %v)", errors.Join(errs...), errors.Join(wc.Err(), rc.Err()))
			}
			if !bytes.Equal(got.Bytes(), data) {
				t.Fatalf("got %d bytes, want %d", got.Len(), len(data))
			}
		})
	}
}

// TestStackFramingOverCompression stacks a length-prefix filter on a zstd
// filter on a pair, as the filters package documentation shows: frames are
// built, then compressed, and come out whole on the other side.
func TestStackFramingOverCompression(t *testing.T) {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	p0, p1, err := pair.New(base, bufferevent.CloseOnFree)
	if err != nil {
		t.Fatal(err)
	}
	stack := func(u *bufferevent.BufferEvent) (*bufferevent.BufferEvent, *Codec, *framing.LengthPrefix) {
		z, err := NewZstd(DefaultLevel)
		if err != nil {
			t.Fatal(err)
		}
		zb, err := filter.New(u, z.In, z.Out, bufferevent.CloseOnFree)
		if err != nil {
			t.Fatal(err)
		}
		lp, _ := framing.NewLengthPrefix(framing.Uint32, 1<<20)
		bev, err := filter.New(zb, lp.In, lp.Out, bufferevent.CloseOnFree)
		if err != nil {
			t.Fatal(err)
		}
		return bev, z, lp
	}
	a, za, _ := stack(p0)
	defer a.Close()
	defer za.Close()
	b, zb, lpb := stack(p1)
	defer b.Close()
	defer zb.Close()

	msgs := [][]byte{[]byte("hello"), bytes.Repeat([]byte("compressible "), 5000), []byte("bye")}
	var got [][]byte
	_ = b.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		for {
			m, err := lpb.ReadFrame(bev.Input(), nil)
			if err != nil {
				return
			}
			got = append(got, m)
			if len(got) == len(msgs) {
				_ = base.LoopExit(0)
			}
		}
	}, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		t.Errorf("event %v: %v", what, err)
		_ = base.LoopExit(0)
	})
	_ = b.Enable(bufferevent.Read)
	_ = a.Enable(bufferevent.Write)
	for _, m := range msgs {
		_, _ = a.Write(m)
		// One frame per message; the Flush goes down the stack, so the
		// zstd filter makes it decodable at once.
		if _, err := a.Flush(bufferevent.Write, bufferevent.Flush); err != nil {
			t.Fatal(err)
		}
	}
	_ = base.LoopExit(5 * time.Second)
	if err := base.Dispatch(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(msgs) {
		t.Fatalf("got %d frames, want %d", len(got), len(msgs))
	}
	for i := range msgs {
		if !bytes.Equal(got[i], msgs[i]) {
			t.Fatalf("frame %d differs", i)
		}
	}
	in, out := za.Encoder.Stats()
	if out >= in {
		t.Fatalf("zstd did not compress: %d -> %d", in, out)
	}
}

// Codec.NewFilter hands the Codec to the filter: a corrupt stream gives an
// Error event whose error wraps the codec's (ErrCorrupt), and the filter
// closes the Codec once, when it is finalised after the event callback
// that closed it returns. A failed NewFilter takes nothing: the Codec and
// the underlying stay open.
func TestCodecNewFilterOwnsCodec(t *testing.T) {
	for _, f := range formats {
		t.Run(f.String(), func(t *testing.T) {
			base, err := eventbase.New(eventbase.Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer base.Close()
			p0, p1, err := pair.New(base, bufferevent.CloseOnFree)
			if err != nil {
				t.Fatal(err)
			}
			defer p0.Close()
			c, err := New(f, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.NewFilter(p1, bufferevent.UnlockCallbacks); !errors.Is(err, bufferevent.ErrInvalidOptions) {
				t.Fatalf("NewFilter(bad options) = %v", err)
			}
			if c.Decoder.closed || c.Encoder.closed {
				t.Fatal("a failed NewFilter closed the Codec")
			}
			bev, err := c.NewFilter(p1, bufferevent.CloseOnFree)
			if err != nil {
				t.Fatal(err)
			}
			var gotErr error
			closedInCb := true
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(bev.SetCallbacks(nil, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
				if what != bufferevent.Error|bufferevent.Reading {
					t.Errorf("event %v, %v; want Error|Reading", what, err)
				}
				gotErr = err
				_ = bev.Close()
				closedInCb = c.Decoder.closed
				base.LoopBreak()
			}))
			must(bev.Enable(bufferevent.Read))
			must(p0.Enable(bufferevent.Write))
			_, err = p0.Write(bytes.Repeat([]byte("this is not a compressed stream "), 64))
			must(err)
			must(base.LoopExit(2 * time.Second))
			must(base.Dispatch())
			if !errors.Is(gotErr, ErrCorrupt) || !errors.Is(gotErr, filter.ErrFailed) {
				t.Fatalf("event error %v; want one matching ErrCorrupt and filter.ErrFailed", gotErr)
			}
			if closedInCb {
				t.Error("the Codec was closed inside the callback that closed the filter")
			}
			if !c.Decoder.closed || !c.Encoder.closed {
				t.Error("the Codec is still open after the filter was finalised")
			}
		})
	}
}

// TestBombAtEOFKeepsWatermark: a peer sends a compressed stream that stays
// under the ratio limit (about 1000:1, so 16 MiB from some 16 KiB) and
// closes at once. The receiver's input never holds much more than its read
// high watermark, however much of the stream still waits below when the
// EOF arrives, and the whole stream, then EOF, is delivered. The filter
// backend's Finished pass at EOF used to decode everything left with no
// limit, so the input took all 16 MiB in one go.
func TestBombAtEOFKeepsWatermark(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	plain := make([]byte, 16<<20)
	for i := 0; i < len(plain); i += 1000 {
		plain[i] = byte(rng.Uint32())
	}
	for _, f := range []Format{Zstd, Deflate} {
		t.Run(f.String(), func(t *testing.T) {
			wire := compressAll(t, f, nil, plain)
			base, err := eventbase.New(eventbase.Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer base.Close()
			p0, p1, err := pair.New(base, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer p0.Close()
			c, _ := New(f, nil)
			bev, err := c.NewFilter(p1, bufferevent.CloseOnFree)
			if err != nil {
				t.Fatal(err)
			}
			defer bev.Close()
			const high = 64 << 10
			_ = bev.SetWatermark(bufferevent.Read, 0, high)
			peak, got := 0, 0
			var evErr error
			eof := false
			_ = bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
				peak = max(peak, bev.Input().Len())
				got += bev.Input().Len()
				_ = bev.Input().Drain(bev.Input().Len())
			}, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
				got += bev.Input().Len()
				eof = what&bufferevent.EOF != 0
				if !eof {
					evErr = err
				}
				_ = base.LoopExit(0)
			})
			_ = bev.Enable(bufferevent.Read)
			if _, err := p0.Write(wire); err != nil {
				t.Fatal(err)
			}
			// Finished: EOF once the pair has passed all of it on (a
			// Close would drop what the full partner has not taken).
			_ = base.RunInLoop(func() { _, _ = p0.Flush(bufferevent.Write, bufferevent.Finished) })
			_ = base.LoopExit(20 * time.Second)
			if err := base.Dispatch(); err != nil {
				t.Fatal(err)
			}
			t.Logf("%d bytes compressed to %d; input peaked at %d", len(plain), len(wire), peak)
			if !eof || evErr != nil {
				t.Fatalf("eof %v, error %v", eof, evErr)
			}
			if got != len(plain) {
				t.Fatalf("got %d bytes, want %d", got, len(plain))
			}
			// One call may add one codec block beyond the limit.
			if peak > high+maxOvershoot {
				t.Fatalf("input peaked at %d bytes, read high watermark %d", peak, high)
			}
		})
	}
}
