package filter_test

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/bufev/bufev/backends/filter"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
)

// amplifier returns an input Func that turns every input byte into amp
// bytes (a decompressor on hostile input), keeping to limit while src
// holds more, as a filter.Func must.
func amplifier(amp int) filter.Func {
	out := make([]byte, amp)
	return func(src, dst *evbuffer.Buffer, limit int, mode bufferevent.FlushMode) filter.Result {
		n := 0
		for src.Len() > 0 && (n == 0 || limit < 0 || n+amp <= limit) {
			_ = src.Drain(1)
			_ = dst.Add(out)
			n += amp
		}
		if n == 0 && mode == bufferevent.Normal {
			return filter.NeedMore
		}
		return filter.OK
	}
}

// TestFilterEOFKeepsReadWatermark: the input that waits in the underlying
// when the peer's EOF arrives is filtered in Finished mode within the read
// high watermark, as the bytes before it were, and the EOF event comes once
// all of it was delivered. The Finished pass at EOF ran the input Func with
// no limit until the underlying's input was used up, so an amplifying
// filter (a decompressor fed a bomb: up to 64 KiB waiting × the ratio
// limit) put all of its output in the input at once, past any watermark:
// here 64 KiB × 256 = 16 MiB against a 16 KiB watermark.
func TestFilterEOFKeepsReadWatermark(t *testing.T) {
	const amp, sent, high = 256, 64 << 10, 16 << 10
	for _, how := range []string{"close", "flush-finished"} {
		t.Run(how, func(t *testing.T) {
			base := newBase(t)
			p0, p1 := newPair(t, base, 0)
			f := newFilter(t, p1, amplifier(amp), nil, bufferevent.CloseOnFree)
			defer f.Close()
			must(t, f.SetWatermark(bufferevent.Read, 0, high))
			peak, got, eofAt := 0, 0, -1
			must(t, f.SetCallbacks(func(bev *bufferevent.BufferEvent) {
				in := bev.Input()
				peak = max(peak, in.Len())
				// Take a little at a time, as a slow consumer does.
				k := min(in.Len(), 4096)
				got += k
				_ = in.Drain(k)
			}, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
				if what&bufferevent.EOF == 0 || !errors.Is(err, io.EOF) {
					t.Errorf("event %v, %v", what, err)
				}
				// Delivered: read, or still in the input (as a socket's
				// EOF may come with data unread).
				eofAt = got + bev.Input().Len()
				base.LoopBreak()
			}))
			must(t, f.Enable(bufferevent.Read))
			_, err := p0.Write(make([]byte, sent))
			must(t, err)
			must(t, base.RunInLoop(func() {
				if how == "close" {
					_ = p0.Close()
				} else {
					_, _ = p0.Flush(bufferevent.Write, bufferevent.Finished)
				}
			}))
			runFor(t, base, 10*time.Second)
			if how != "close" {
				p0.Close()
			}
			// One call may pass the room left by one output unit.
			if peak > high+amp {
				t.Errorf("input peaked at %d bytes, read high watermark %d", peak, high)
			}
			if eofAt != sent*amp {
				t.Errorf("EOF after %d bytes delivered; want all %d first", eofAt, sent*amp)
			}
		})
	}
}

// TestFilterEOFWhileReadingDisabled: an EOF that arrives while the user has
// reading off (backpressure, as le-proxy does) waits with the bytes before
// it: enabling reading delivers the data, then the EOF, and the Func's
// Finished call comes then.
func TestFilterEOFWhileReadingDisabled(t *testing.T) {
	base := newBase(t)
	p0, p1 := newPair(t, base, 0)
	var modes []bufferevent.FlushMode
	in := func(src, dst *evbuffer.Buffer, limit int, mode bufferevent.FlushMode) filter.Result {
		modes = append(modes, mode)
		return filter.PassThrough(src, dst, limit, mode)
	}
	f := newFilter(t, p1, in, nil, bufferevent.CloseOnFree)
	defer f.Close()
	var log []string
	must(t, f.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		b, _ := bev.Input().Pullup(-1)
		log = append(log, "read "+string(b))
		_ = bev.Input().Drain(len(b))
	}, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		log = append(log, "event "+what.String())
		base.LoopBreak()
	}))
	must(t, f.Enable(bufferevent.Read))
	_, err := p0.Write([]byte("one "))
	must(t, err)
	runFor(t, base, 50*time.Millisecond)
	must(t, f.Disable(bufferevent.Read))
	_, err = p0.Write([]byte("two"))
	must(t, err)
	must(t, base.RunInLoop(func() { _, _ = p0.Flush(bufferevent.Write, bufferevent.Finished) }))
	defer p0.Close()
	runFor(t, base, 100*time.Millisecond)
	if want := "read one "; len(log) != 1 || log[0] != want {
		t.Fatalf("with reading off: log %q; want only %q", log, want)
	}
	must(t, f.Enable(bufferevent.Read))
	runFor(t, base, 2*time.Second)
	want := []string{"read one ", "read two", "event Reading|EOF"}
	if len(log) != len(want) || log[1] != want[1] || log[2] != want[2] {
		t.Fatalf("log %q; want %q", log, want)
	}
	if n := len(modes); n == 0 || modes[n-1] != bufferevent.Finished {
		t.Errorf("input Func modes %v; want a final Finished call", modes)
	}
}
