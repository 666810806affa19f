package filter_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/bufev/bufev/backends/filter"
	"github.com/bufev/bufev/backends/pair"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
)

func newBase(t testing.TB) *eventbase.Base {
	t.Helper()
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { base.Close() })
	return base
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newPair(t testing.TB, base *eventbase.Base, opts bufferevent.Options) (a, b *bufferevent.BufferEvent) {
	t.Helper()
	a, b, err := pair.New(base, opts)
	must(t, err)
	return a, b
}

func newFilter(t testing.TB, u *bufferevent.BufferEvent, in, out filter.Func, opts bufferevent.Options) *bufferevent.BufferEvent {
	t.Helper()
	f, err := filter.New(u, in, out, opts)
	must(t, err)
	return f
}

func pattern(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i)
	}
	return p
}

func runFor(t testing.TB, base *eventbase.Base, d time.Duration) {
	t.Helper()
	must(t, base.LoopExit(d))
	must(t, base.Dispatch())
}

// filtersScenario is the scenario of libevent test/regress_bufferevent.c
// "bufferevent_filters", "bufferevent_filters_disable",
// "bufferevent_pair_filters" and "bufferevent_pair_filters_disable" over
// the connected bufferevents u0 and u1 (which the filters close): bev1 is a
// filter over u0 whose output filter prefixes every byte with 'x' on its
// first call and fails on every later call; bev2 is a filter over u1 whose
// input filter strips the 'x' (skipping '-'). In the disable variant the
// output filter writes "-" to its own filter bufferevent, which must not
// re-enter it; the leftover "-" makes it run (and fail) again. Expected
// counter: filter calls + read cb (all 8333 bytes arrived intact) + write cb
// (output empty): 3, or 4 with disable. libevent ignores BEV_ERROR; bufev
// reports each failure as an Error|Writing event with a *FuncError, which
// this port counts instead of failing (0, or 2 with disable). check, if not
// nil, inspects the filters before data flows; the loop runs for d.
func filtersScenario(t *testing.T, base *eventbase.Base, u0, u1 *bufferevent.BufferEvent, disable bool, d time.Duration, check func(bev1, bev2 *bufferevent.BufferEvent)) {
	t.Helper()
	testOK := 0
	var bev1 *bufferevent.BufferEvent
	outputFilter := func(src, dst *evbuffer.Buffer, _ int, _ bufferevent.FlushMode) filter.Result {
		testOK++
		if testOK != 1 {
			return filter.Error
		}
		buf, _ := src.Pullup(-1)
		for _, c := range buf {
			_ = dst.Add([]byte{'x', c})
		}
		_ = src.Drain(src.Len())
		if disable {
			prev := testOK + 1
			testOK = prev
			_, _ = bev1.Write([]byte("-"))
			if testOK != prev {
				t.Error("Write from inside the output filter re-entered it")
			}
			testOK--
		}
		return filter.OK
	}
	inputFilter := func(src, dst *evbuffer.Buffer, _ int, _ bufferevent.FlushMode) filter.Result {
		buf, _ := src.Pullup(-1)
		i := 0
		for ; i+1 < len(buf); i += 2 {
			if buf[i] == '-' {
				i--
				continue
			}
			if buf[i] != 'x' {
				t.Errorf("input filter: byte %q where 'x' expected", buf[i])
				return filter.Error
			}
			_ = dst.Add(buf[i+1 : i+2])
		}
		_ = src.Drain(i)
		return filter.OK
	}
	bev1 = newFilter(t, u0, nil, outputFilter, bufferevent.CloseOnFree)
	bev2 := newFilter(t, u1, inputFilter, nil, bufferevent.CloseOnFree)
	defer bev1.Close()
	defer bev2.Close()
	var got []byte
	var errs []error
	must(t, bev1.SetCallbacks(nil, func(bev *bufferevent.BufferEvent) {
		if bev.Output().Len() == 0 {
			testOK++
		}
	}, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		if what != bufferevent.Error|bufferevent.Writing {
			t.Errorf("bev1 event %v", what)
		}
		errs = append(errs, err)
	}))
	must(t, bev2.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		if bev.Input().Len() == 8333 {
			buf := evbuffer.New()
			must(t, bev.ReadBuffer(buf))
			must(t, bev.Disable(bufferevent.Read))
			got, _ = buf.Pullup(-1)
			testOK++
		}
	}, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		t.Errorf("bev2 event %v: %v", what, err)
	}))
	if bev1.Underlying() != u0 || bev2.Underlying() != u1 {
		t.Error("Underlying does not return the filtered bufferevent")
	}
	if check != nil {
		check(bev1, bev2)
	}
	must(t, bev1.Disable(bufferevent.Read))
	must(t, bev2.Enable(bufferevent.Read))
	_, err := bev1.Write(pattern(8333))
	must(t, err)
	runFor(t, base, d)
	want, wantErrs := 3, 0
	if disable {
		want, wantErrs = 4, 2 // the second and the third call failed
	}
	if testOK != want {
		t.Errorf("counter = %d; want %d", testOK, want)
	}
	if !bytes.Equal(got, pattern(8333)) {
		t.Errorf("received %d bytes, not the 8333 sent", len(got))
	}
	if len(errs) != wantErrs {
		t.Errorf("%d Error events; want %d", len(errs), wantErrs)
	}
	for _, err := range errs {
		var fe *filter.FuncError
		if !errors.Is(err, filter.ErrFailed) || !errors.As(err, &fe) || fe.Dir != bufferevent.Write {
			t.Errorf("error %v; want a *FuncError for the output filter", err)
		}
	}
}

// filtersCaseName is the libevent case name of filtersScenario over kind
// ("pair_" or "").
func filtersCaseName(kind string, disable bool) string {
	name := "bufferevent_" + kind + "filters"
	if disable {
		name += "_disable"
	}
	return name
}

// Mirrors libevent test/regress_bufferevent.c "bufferevent_pair_filters" and
// "bufferevent_pair_filters_disable" (filtersScenario over a pair); FD
// reports ErrUnsupported, as the pair.
func TestPairFilters(t *testing.T) {
	for _, disable := range []bool{false, true} {
		t.Run(filtersCaseName("pair_", disable), func(t *testing.T) {
			base := newBase(t)
			p0, p1 := newPair(t, base, 0)
			filtersScenario(t, base, p0, p1, disable, 100*time.Millisecond, func(bev1, _ *bufferevent.BufferEvent) {
				if fd, err := bev1.FD(); fd != -1 || !errors.Is(err, errors.ErrUnsupported) {
					t.Errorf("FD of a filter over a pair = %d, %v; want -1 and ErrUnsupported, as the pair", fd, err)
				}
			})
		})
	}
}

// Mirrors libevent test/regress_bufferevent.c "bufferevent_filter_data_stuck":
// a pair (DeferCallbacks|CloseOnFree) with read high watermark 4096 on both
// ends and on a filter over pair[1] whose input filter prepends a 20-byte
// header once and respects limit; 4096 bytes written; the read callback
// drains everything: 4116 bytes in total, nothing stuck below the watermark.
func TestFilterDataStuck(t *testing.T) {
	const high = 4096
	base := newBase(t)
	opts := bufferevent.CloseOnFree | bufferevent.DeferCallbacks
	p0, p1 := newPair(t, base, opts)
	must(t, p0.SetWatermark(bufferevent.Read, 0, high))
	must(t, p1.SetWatermark(bufferevent.Read, 0, high))
	headerDone := false
	in := func(src, dst *evbuffer.Buffer, limit int, _ bufferevent.FlushMode) filter.Result {
		header := 0
		if !headerDone {
			_ = dst.Add(make([]byte, 20))
			header, headerDone = 20, true
		}
		n := min(src.Len(), limit-header)
		if moved, err := src.RemoveBuffer(dst, n); err != nil || moved != n {
			t.Errorf("RemoveBuffer = %d, %v; want %d", moved, err, n)
		}
		return filter.OK
	}
	f := newFilter(t, p1, in, nil, opts)
	defer f.Close()
	defer p0.Close()
	total := 0
	must(t, f.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		n := bev.Input().Len()
		must(t, bev.Input().Drain(n))
		total += n
	}, nil, nil))
	must(t, f.Enable(bufferevent.ReadWrite))
	must(t, f.SetWatermark(bufferevent.Read, 0, high))
	_, err := p0.Write(make([]byte, high))
	must(t, err)
	runFor(t, base, 100*time.Millisecond)
	if total != high+20 {
		t.Errorf("read %d bytes; want %d", total, high+20)
	}
}

type timeoutResult struct {
	reads, writes, events, readTimeouts, writeTimeouts int
}

func (r *timeoutResult) callbacks() (bufferevent.ReadFunc, bufferevent.ReadFunc, bufferevent.EventFunc) {
	return func(*bufferevent.BufferEvent) { r.reads++ },
		func(*bufferevent.BufferEvent) { r.writes++ },
		func(_ *bufferevent.BufferEvent, what bufferevent.Events, _ error) {
			r.events++
			if what&(bufferevent.Reading|bufferevent.Timeout) == bufferevent.Reading|bufferevent.Timeout {
				r.readTimeouts++
			}
			if what&(bufferevent.Writing|bufferevent.Timeout) == bufferevent.Writing|bufferevent.Timeout {
				r.writeTimeouts++
			}
		}
}

// timeoutScenario is the scenario of libevent test/regress_bufferevent.c
// "bufferevent_timeout_filter" and "bufferevent_timeout_filter_pair" over
// the connected bufferevents bev1 and bev2 (pass-through filters over
// sockets or a pair; closed here): bev1 has "ABCDEFG" to send, reads and
// writes enabled, read timeout 150 ms, write 100 ms; bev2 does not read,
// write enabled with nothing to say, read timeout 100 ms, write 200 ms.
// After 350 ms: bev1 one read and one write timeout (two events), bev2 one
// write timeout — a filter arms its write timer on enable whatever its
// output — and no read timeout; no read or write callbacks at all (bev1's
// write callback would need an empty output after a productive round,
// which happens before the callbacks are set).
func timeoutScenario(t *testing.T, base *eventbase.Base, bev1, bev2 *bufferevent.BufferEvent) {
	t.Helper()
	defer bev1.Close()
	defer bev2.Close()
	var res1, res2 timeoutResult
	must(t, bev2.Disable(bufferevent.Read))
	must(t, bev1.SetCallbacks(res1.callbacks()))
	must(t, bev1.SetTimeouts(150*time.Millisecond, 100*time.Millisecond))
	_, err := bev1.Write([]byte("ABCDEFG"))
	must(t, err)
	must(t, bev1.Enable(bufferevent.ReadWrite))
	must(t, bev2.SetCallbacks(res2.callbacks()))
	must(t, bev2.SetTimeouts(100*time.Millisecond, 200*time.Millisecond))
	must(t, bev2.Enable(bufferevent.Write))
	runFor(t, base, 350*time.Millisecond)
	if res1.events != 2 || res1.readTimeouts != 1 || res1.writeTimeouts != 1 || res1.reads != 0 {
		t.Errorf("bev1: %+v; want 2 events, 1 read and 1 write timeout, no reads", res1)
	}
	if res2 != (timeoutResult{events: 1, writeTimeouts: 1}) {
		t.Errorf("bev2: %+v; want exactly one write timeout", res2)
	}
}

// Mirrors libevent test/regress_bufferevent.c "bufferevent_timeout_filter_pair"
// (timeoutScenario over pass-through filters over a pair) and, over a
// filter over a filter, the stacking case.
func TestFilterTimeoutPair(t *testing.T) {
	for _, layers := range []int{1, 2} {
		t.Run([]string{"", "bufferevent_timeout_filter_pair", "stacked"}[layers], func(t *testing.T) {
			base := newBase(t)
			bev1, bev2 := newPair(t, base, 0)
			for range layers {
				bev1 = newFilter(t, bev1, nil, nil, bufferevent.CloseOnFree)
				bev2 = newFilter(t, bev2, nil, nil, bufferevent.CloseOnFree)
			}
			timeoutScenario(t, base, bev1, bev2)
		})
	}
}

// The fix of libevent's never-set got_eof: EOF from the underlying runs the
// input Func once in Finished mode, so a stream filter emits its trailer,
// which the read callback sees before the EOF event.
func TestFilterEOFRunsFinished(t *testing.T) {
	for _, how := range []string{"flush-finished", "close"} {
		t.Run(how, func(t *testing.T) {
			base := newBase(t)
			p0, p1 := newPair(t, base, 0)
			var modes []bufferevent.FlushMode
			// Buffers everything and emits it upper-cased, plus a trailer,
			// only at the end of the stream.
			in := func(src, dst *evbuffer.Buffer, _ int, mode bufferevent.FlushMode) filter.Result {
				modes = append(modes, mode)
				if mode != bufferevent.Finished {
					return filter.NeedMore
				}
				b, _ := src.Pullup(-1)
				_ = dst.Add([]byte(strings.ToUpper(string(b)) + "<END>"))
				_ = src.Drain(src.Len())
				return filter.OK
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
				if !errors.Is(err, io.EOF) {
					t.Errorf("EOF event error %v", err)
				}
				base.LoopBreak()
			}))
			must(t, f.Enable(bufferevent.Read))
			_, err := p0.Write([]byte("hello"))
			must(t, err)
			must(t, base.RunInLoop(func() {
				if how == "close" {
					_ = p0.Close()
				} else {
					_, _ = p0.Flush(bufferevent.Write, bufferevent.Finished)
				}
			}))
			runFor(t, base, 2*time.Second)
			if how != "close" {
				p0.Close()
			}
			want := []string{"read HELLO<END>", "event Reading|EOF"}
			if strings.Join(log, ";") != strings.Join(want, ";") {
				t.Errorf("log %q; want %q", log, want)
			}
			if n := len(modes); n == 0 || modes[n-1] != bufferevent.Finished {
				t.Errorf("input Func modes %v; want a final Finished call", modes)
			}
			finished := 0
			for _, m := range modes {
				if m == bufferevent.Finished {
					finished++
				}
			}
			if finished != 1 {
				t.Errorf("%d Finished calls; want exactly 1", finished)
			}
		})
	}
}

// Flush modes reach the Funcs and then the underlying: Flush(Write,
// Finished) on a filter lets the output Func write a trailer, then flushes
// the pair, whose partner sees the trailer and then EOF.
func TestFilterFlushReachesFuncsAndUnderlying(t *testing.T) {
	base := newBase(t)
	p0, p1 := newPair(t, base, 0)
	defer p1.Close()
	var modes []bufferevent.FlushMode
	out := func(src, dst *evbuffer.Buffer, limit int, mode bufferevent.FlushMode) filter.Result {
		modes = append(modes, mode)
		if mode != bufferevent.Normal && limit != filter.NoLimit {
			t.Errorf("limit %d in mode %v; want NoLimit", limit, mode)
		}
		_, _ = src.RemoveBuffer(dst, limit)
		if mode == bufferevent.Finished {
			_ = dst.AddString("<TRAILER>")
		}
		return filter.OK
	}
	f := newFilter(t, p0, nil, out, bufferevent.CloseOnFree)
	defer f.Close()
	var got bytes.Buffer
	var what bufferevent.Events
	must(t, p1.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		_, _ = got.ReadFrom(bev.Input())
	}, nil, func(_ *bufferevent.BufferEvent, w bufferevent.Events, _ error) {
		what = w
		base.LoopBreak()
	}))
	must(t, p1.Enable(bufferevent.Read))
	must(t, base.RunInLoop(func() {
		_, _ = f.Write([]byte("body"))
		did, err := f.Flush(bufferevent.Write, bufferevent.Finished)
		if !did || err != nil {
			t.Errorf("Flush = %v, %v; want true, nil", did, err)
		}
	}))
	runFor(t, base, 2*time.Second)
	if got.String() != "body<TRAILER>" || what != bufferevent.Reading|bufferevent.EOF {
		t.Errorf("partner got %q then %v; want body<TRAILER> then Reading|EOF", got.String(), what)
	}
	if len(modes) == 0 || modes[len(modes)-1] != bufferevent.Finished {
		t.Errorf("output Func modes %v", modes)
	}
}

// A Flush(Write, Finished) made from the write callback while the filter is
// filtering is carried out right after the callback, trailer included, and
// the underlying is flushed after the trailer.
func TestFilterFlushFromWriteCallback(t *testing.T) {
	base := newBase(t)
	p0, p1 := newPair(t, base, 0)
	defer p1.Close()
	out := func(src, dst *evbuffer.Buffer, limit int, mode bufferevent.FlushMode) filter.Result {
		_, _ = src.RemoveBuffer(dst, limit)
		if mode == bufferevent.Finished {
			_ = dst.AddString("<T>")
		}
		return filter.OK
	}
	f := newFilter(t, p0, nil, out, bufferevent.CloseOnFree)
	defer f.Close()
	flushed := false
	must(t, f.SetCallbacks(nil, func(bev *bufferevent.BufferEvent) {
		if !flushed {
			flushed = true
			_, _ = bev.Write([]byte("-last"))
			_, _ = bev.Flush(bufferevent.Write, bufferevent.Finished)
		}
	}, nil))
	var got bytes.Buffer
	var what bufferevent.Events
	must(t, p1.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		_, _ = got.ReadFrom(bev.Input())
	}, nil, func(_ *bufferevent.BufferEvent, w bufferevent.Events, _ error) {
		what = w
		base.LoopBreak()
	}))
	must(t, p1.Enable(bufferevent.Read))
	_, err := f.Write([]byte("first"))
	must(t, err)
	runFor(t, base, 2*time.Second)
	if got.String() != "first-last<T>" || what != bufferevent.Reading|bufferevent.EOF {
		t.Errorf("partner got %q then %v; want first-last<T> then Reading|EOF", got.String(), what)
	}
}

// A Func returning Error (or an invalid Result) gives an Error event with a
// *FuncError naming the direction; with WithCause the event's error wraps
// the Func's own error, which errors.Is and errors.As find.
func TestFilterFuncErrorEvent(t *testing.T) {
	cases := []struct {
		name  string
		res   filter.Result
		dir   bufferevent.Direction
		cause bool
	}{
		{"input-error", filter.Error, bufferevent.Read, false},
		{"output-error", filter.Error, bufferevent.Write, false},
		{"input-invalid", filter.Result(42), bufferevent.Read, false},
		{"input-error-with-cause", filter.Error, bufferevent.Read, true},
		{"output-error-with-cause", filter.Error, bufferevent.Write, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := newBase(t)
			p0, p1 := newPair(t, base, 0)
			bad := func(_, _ *evbuffer.Buffer, _ int, _ bufferevent.FlushMode) filter.Result { return c.res }
			var extra []filter.Option
			var asked []bufferevent.Direction
			if c.cause {
				extra = append(extra, filter.WithCause(func(dir bufferevent.Direction) error {
					asked = append(asked, dir)
					return &causeError{dir: dir}
				}))
			}
			mk := func(u *bufferevent.BufferEvent, in, out filter.Func) *bufferevent.BufferEvent {
				f, err := filter.New(u, in, out, bufferevent.CloseOnFree, extra...)
				must(t, err)
				return f
			}
			var fa, fb *bufferevent.BufferEvent
			if c.dir == bufferevent.Read {
				fa = mk(p0, nil, nil)
				fb = mk(p1, bad, nil)
			} else {
				fa = mk(p0, nil, bad)
				fb = mk(p1, nil, nil)
			}
			defer fa.Close()
			defer fb.Close()
			var gotWhat bufferevent.Events
			var gotErr error
			cb := func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
				gotWhat, gotErr = what, err
				_ = bev.Close() // the usual reaction
				base.LoopBreak()
			}
			must(t, fa.SetCallbacks(nil, nil, cb))
			must(t, fb.SetCallbacks(nil, nil, cb))
			must(t, fb.Enable(bufferevent.Read))
			_, err := fa.Write([]byte("corrupt"))
			must(t, err)
			runFor(t, base, 2*time.Second)
			wantWhat := bufferevent.Error | bufferevent.Reading
			if c.dir == bufferevent.Write {
				wantWhat = bufferevent.Error | bufferevent.Writing
			}
			var fe *filter.FuncError
			if gotWhat != wantWhat || !errors.Is(gotErr, filter.ErrFailed) || !errors.As(gotErr, &fe) || fe.Dir != c.dir || fe.Result != c.res {
				t.Fatalf("event %v, %v; want %v with a FuncError{%v, %v}", gotWhat, gotErr, wantWhat, c.dir, c.res)
			}
			if gotErr != nil && !strings.HasPrefix(gotErr.Error(), "filter: ") {
				t.Errorf("error text %q lacks the package prefix", gotErr)
			}
			var ce *causeError
			switch {
			case !c.cause:
				if fe.Err != nil || errors.As(gotErr, &ce) {
					t.Errorf("FuncError.Err = %v without WithCause", fe.Err)
				}
			case !errors.As(gotErr, &ce) || ce.dir != c.dir || !errors.Is(gotErr, errCause):
				t.Errorf("event error %v does not wrap the Func's error for %v", gotErr, c.dir)
			case len(asked) != 1 || asked[0] != c.dir:
				t.Errorf("WithCause asked for %v; want once for %v", asked, c.dir)
			case !strings.Contains(gotErr.Error(), errCause.Error()):
				t.Errorf("error text %q does not include the cause", gotErr)
			}
		})
	}
}

var errCause = errors.New("codec: broken stream")

// causeError is a Func's own error type, for errors.As through FuncError.
type causeError struct{ dir bufferevent.Direction }

func (e *causeError) Error() string        { return errCause.Error() + " (" + e.dir.String() + ")" }
func (e *causeError) Is(target error) bool { return target == errCause }

// A peer that never reads keeps memory bounded by the watermarks: the
// reader's input stops at its read high watermark, the underlying's output
// at its write high watermark (plus one Func call), and the filter's write
// callback — which only runs when the filter's output drained — stops, so
// a writer that writes from it stops too.
func TestFilterPeerNeverReads(t *testing.T) {
	base := newBase(t)
	p0, p1 := newPair(t, base, 0)
	defer p1.Close()
	const readHigh, writeHigh, chunk = 16 << 10, 32 << 10, 4 << 10
	must(t, p1.SetWatermark(bufferevent.Read, 0, readHigh))
	must(t, p1.Enable(bufferevent.Read)) // enabled, but nobody drains
	must(t, p0.SetWatermark(bufferevent.Write, 0, writeHigh))
	f := newFilter(t, p0, nil, nil, bufferevent.CloseOnFree)
	defer f.Close()
	written := 0
	msg := make([]byte, chunk)
	must(t, f.SetCallbacks(nil, func(bev *bufferevent.BufferEvent) {
		_, _ = bev.Write(msg)
		written += chunk
	}, nil))
	_, err := f.Write(msg)
	must(t, err)
	written += chunk
	runFor(t, base, 100*time.Millisecond)
	if n := p1.Input().Len(); n > readHigh {
		t.Errorf("reader input %d > read high watermark %d", n, readHigh)
	}
	if n := p0.Output().Len(); n > writeHigh+chunk {
		t.Errorf("underlying output %d > write high watermark %d + one chunk", n, writeHigh)
	}
	if written > readHigh+writeHigh+3*chunk {
		t.Errorf("writer kept writing: %d bytes with nothing read", written)
	}
	if got := p1.Input().Len() + p0.Output().Len() + f.Output().Len(); got != written {
		t.Errorf("%d bytes buffered; %d written", got, written)
	}
}

// Closing without CloseOnFree hands the underlying back: callbacks cleared,
// reading resumed, usable directly. Closing the underlying first detaches
// it; closing the filter then finalises both. With CloseOnFree the filter
// closes the underlying.
func TestFilterCloseOrders(t *testing.T) {
	t.Run("filter-then-underlying", func(t *testing.T) {
		base := newBase(t)
		p0, p1 := newPair(t, base, 0)
		defer p1.Close()
		f := newFilter(t, p0, nil, nil, 0)
		must(t, f.Close())
		// The pair end works on its own again: reading was unsuspended.
		var got []byte
		must(t, p0.SetCallbacks(func(bev *bufferevent.BufferEvent) {
			got, _ = bev.Input().Pullup(-1)
			base.LoopBreak()
		}, nil, nil))
		must(t, p0.Enable(bufferevent.Read))
		_, err := p1.Write([]byte("direct"))
		must(t, err)
		runFor(t, base, 2*time.Second)
		if string(got) != "direct" {
			t.Errorf("underlying read %q after the filter closed; want \"direct\"", got)
		}
		if pair.Partner(p1) != p0 {
			t.Error("underlying was closed without CloseOnFree")
		}
		must(t, p0.Close())
	})
	t.Run("underlying-then-filter", func(t *testing.T) {
		base := newBase(t)
		p0, p1 := newPair(t, base, 0)
		defer p1.Close()
		f := newFilter(t, p0, nil, nil, bufferevent.CloseOnFree)
		var what bufferevent.Events
		must(t, p1.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, w bufferevent.Events, _ error) { what = w }))
		must(t, p0.Close())
		if pair.Partner(p1) != nil {
			t.Error("Partner still reports the closed underlying")
		}
		// The filter keeps the underlying alive (as libevent's reference
		// does) until it is closed itself.
		_, err := f.Write([]byte("still accepted"))
		must(t, err)
		must(t, base.Loop(eventbase.LoopNonBlock))
		if what != 0 {
			t.Errorf("partner event %v while the filter still holds the underlying", what)
		}
		must(t, f.Close())
		must(t, base.Loop(eventbase.LoopNonBlock))
		if _, err := p1.Flush(bufferevent.Write, bufferevent.Flush); !errors.Is(err, pair.ErrNoPartner) {
			t.Errorf("survivor Flush = %v; want ErrNoPartner (underlying finalised)", err)
		}
		if what != bufferevent.Reading|bufferevent.EOF {
			t.Errorf("partner event %v after the filter closed; want Reading|EOF", what)
		}
	})
	t.Run("close-on-free", func(t *testing.T) {
		base := newBase(t)
		p0, p1 := newPair(t, base, 0)
		defer p1.Close()
		f := newFilter(t, p0, nil, nil, bufferevent.CloseOnFree)
		var what bufferevent.Events
		must(t, p1.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, w bufferevent.Events, _ error) { what = w }))
		must(t, f.Close())
		if _, err := p0.Write([]byte("x")); !errors.Is(err, bufferevent.ErrClosed) {
			t.Errorf("underlying Write after the filter closed with CloseOnFree = %v; want ErrClosed", err)
		}
		must(t, base.Loop(eventbase.LoopNonBlock))
		if what != bufferevent.Reading|bufferevent.EOF {
			t.Errorf("partner event %v; want Reading|EOF", what)
		}
	})
	t.Run("thread-safe-both-orders", func(t *testing.T) {
		for _, filterFirst := range []bool{true, false} {
			base := newBase(t)
			p0, p1 := newPair(t, base, bufferevent.ThreadSafe)
			f := newFilter(t, p0, nil, nil, bufferevent.ThreadSafe)
			loopDone := make(chan error, 1)
			go func() { loopDone <- base.Loop(eventbase.LoopNoExitOnEmpty) }()
			_, _ = f.Write([]byte("data"))
			if filterFirst {
				must(t, f.Close())
				must(t, p0.Close())
			} else {
				must(t, p0.Close())
				must(t, f.Close())
			}
			must(t, p1.Close())
			done := make(chan struct{})
			must(t, base.RunInLoop(func() { close(done) }))
			<-done
			base.LoopBreak()
			must(t, <-loopDone)
		}
	})
}

// Mirrors libevent's "bufferevent_socket_filter_inactive" in spirit: create
// and free a filter over an idle underlying without any I/O; and checks
// New's argument errors and Open by name.
func TestFilterNewAndOpen(t *testing.T) {
	base := newBase(t)
	p0, p1 := newPair(t, base, 0)
	f := newFilter(t, p0, nil, nil, 0)
	must(t, f.Close())
	must(t, p0.Close())
	must(t, p1.Close())
	if _, err := filter.New(nil, nil, nil, 0); !errors.Is(err, filter.ErrNilUnderlying) {
		t.Errorf("New(nil) = %v; want ErrNilUnderlying", err)
	}
	if _, err := filter.New(p0, nil, nil, 0); !errors.Is(err, bufferevent.ErrClosed) {
		t.Errorf("New over a closed bufferevent = %v; want ErrClosed", err)
	}
	q0, q1 := newPair(t, base, 0)
	defer q1.Close()
	defer q0.Close()
	if _, err := filter.New(q0, nil, nil, 0x800); !errors.Is(err, bufferevent.ErrInvalidOptions) {
		t.Errorf("New with bad options = %v; want ErrInvalidOptions", err)
	}
	_, err := bufferevent.Open(base, filter.TypeName, 0)
	if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "filter.New") {
		t.Errorf("Open(\"filter\") = %v; want errors.ErrUnsupported naming filter.New", err)
	}
	if filter.OK.String() != "OK" || filter.NeedMore.String() != "NeedMore" || filter.Error.String() != "Error" || filter.Result(9).String() != "Result(9)" {
		t.Error("Result.String")
	}
}

// Reading from the underlying is suspended while the filter's Read is
// disabled, and data already waiting below is filtered as soon as it is
// enabled.
func TestFilterReadSuspension(t *testing.T) {
	base := newBase(t)
	p0, p1 := newPair(t, base, 0)
	defer p0.Close()
	const high = 1000
	must(t, p1.SetWatermark(bufferevent.Read, 0, high))
	f := newFilter(t, p1, nil, nil, bufferevent.CloseOnFree)
	defer f.Close()
	_, err := p0.Write(pattern(10 * high))
	must(t, err)
	runFor(t, base, 20*time.Millisecond)
	if n := p1.Input().Len(); n != 0 {
		t.Errorf("underlying read %d bytes while the filter's Read was disabled", n)
	}
	var got bytes.Buffer
	must(t, f.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		_, _ = got.ReadFrom(bev.Input())
		if got.Len() == 10*high {
			base.LoopBreak()
		}
	}, nil, nil))
	must(t, f.Enable(bufferevent.Read))
	runFor(t, base, 2*time.Second)
	if !bytes.Equal(got.Bytes(), pattern(10*high)) {
		t.Errorf("got %d bytes", got.Len())
	}
}

// An input Func may answer by adding to its filter's output (here: every
// "ping" it sees is answered with "pong" on the spot), also on a ThreadSafe
// filter, where it must not call Write: the lock is held.
func TestInputFuncReplies(t *testing.T) {
	for _, opts := range []bufferevent.Options{0, bufferevent.ThreadSafe} {
		base := newBase(t)
		p0, p1 := newPair(t, base, opts)
		var f *bufferevent.BufferEvent
		in := func(src, dst *evbuffer.Buffer, _ int, _ bufferevent.FlushMode) filter.Result {
			for src.Len() >= 4 {
				b, _ := src.Pullup(4)
				if string(b) == "ping" {
					_ = f.Output().AddString("pong")
					_ = src.Drain(4)
					continue
				}
				_, _ = src.RemoveBuffer(dst, 4)
			}
			return filter.OK
		}
		f = newFilter(t, p1, in, nil, opts|bufferevent.CloseOnFree)
		must(t, f.Enable(bufferevent.Read))
		var got bytes.Buffer
		must(t, p0.SetCallbacks(func(bev *bufferevent.BufferEvent) {
			_ = bev.WithLock(func(in, _ *evbuffer.Buffer) { _, _ = got.ReadFrom(in) })
			if got.Len() == 8 {
				base.LoopBreak()
			}
		}, nil, nil))
		must(t, p0.Enable(bufferevent.Read))
		_, err := p0.Write([]byte("pingdatapingdata"))
		must(t, err)
		runFor(t, base, 2*time.Second)
		if got.String() != "pongpong" {
			t.Errorf("opts %#x: peer got %q; want pongpong", uint16(opts), got.String())
		}
		var in2 []byte
		_ = f.WithLock(func(in, _ *evbuffer.Buffer) { in2, _ = in.Pullup(-1) })
		if string(in2) != "datadata" {
			t.Errorf("opts %#x: filter input %q; want datadata", uint16(opts), in2)
		}
		f.Close()
		p0.Close()
	}
}

// Closing a filter (without CloseOnFree) inside its own read callback and
// taking the underlying back at once: the filter is finalised only after the
// callback returns, and must then leave the callbacks the user just set on
// the underlying alone (libevent's be_filter_unlink clears them only "if
// still ours"). Closing it with the filter's callbacks still in place clears
// them.
func TestFilterCloseKeepsNewUnderlyingCallbacks(t *testing.T) {
	base := newBase(t)
	p0, p1 := newPair(t, base, 0)
	defer p1.Close()
	defer p0.Close()
	f := newFilter(t, p0, nil, nil, 0)
	var direct []byte
	must(t, f.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		_ = bev.ReadBuffer(evbuffer.New())
		must(t, bev.Close())
		must(t, p0.SetCallbacks(func(u *bufferevent.BufferEvent) {
			buf := make([]byte, 64)
			n, _ := u.Read(buf)
			direct = append(direct, buf[:n]...)
			base.LoopBreak()
		}, nil, nil))
		_, _ = p1.Write([]byte("after"))
	}, nil, nil))
	must(t, f.Enable(bufferevent.Read))
	_, err := p1.Write([]byte("before"))
	must(t, err)
	runFor(t, base, 2*time.Second)
	if string(direct) != "after" {
		t.Errorf("underlying's own read callback got %q; want \"after\" (the filter's Close cleared it?)", direct)
	}
	if r, _, _ := p0.Callbacks(); r == nil {
		t.Error("the user's read callback on the underlying was cleared by the filter's finalisation")
	}

	// Plain close: the filter's callbacks are removed.
	f2 := newFilter(t, p0, nil, nil, 0)
	must(t, f2.Close())
	must(t, base.Loop(eventbase.LoopNonBlock))
	if r, w, e := p0.Callbacks(); r != nil || w != nil || e != nil {
		t.Error("closing the filter left its callbacks on the underlying")
	}
}

// A writer that writes from its write callback while its output is short
// keeps a bounded amount in flight through pass-through filters over a
// pair: the filter moves at most one window (DefaultOutputLimit, no write
// high watermark on the underlying) into the underlying per call and then
// yields to the loop, so the reader's deferred callbacks run in between.
// Before, one call pumped everything the reader's underlying would take
// (up to DefaultLimit, 16 MiB), which the CPU caches could not hold.
func TestFilterOutputYieldsPerWindow(t *testing.T) {
	base := newBase(t)
	p0, p1 := newPair(t, base, 0)
	w := newFilter(t, p0, nil, nil, bufferevent.CloseOnFree)
	r := newFilter(t, p1, nil, nil, bufferevent.CloseOnFree)
	defer w.Close()
	defer r.Close()
	const total = 8 << 20
	chunk := pattern(4 << 10)
	sent, recvd, maxFlight := 0, 0, 0
	must(t, r.SetWatermark(bufferevent.Read, 0, 64<<10))
	must(t, r.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		flight := w.Output().Len() + p0.Output().Len() + p1.Input().Len() + bev.Input().Len()
		maxFlight = max(maxFlight, flight)
		n := bev.Input().Len()
		must(t, bev.Input().Drain(n))
		recvd += n
		if recvd >= total {
			base.LoopBreak()
		}
	}, nil, nil))
	must(t, w.SetCallbacks(nil, func(bev *bufferevent.BufferEvent) {
		for sent < total && bev.Output().Len() < 64<<10 {
			_, err := bev.Write(chunk)
			must(t, err)
			sent += len(chunk)
		}
	}, nil))
	must(t, r.Enable(bufferevent.Read))
	must(t, w.Trigger(bufferevent.Write, 0))
	runFor(t, base, 10*time.Second)
	if recvd != total {
		t.Fatalf("received %d of %d bytes", recvd, total)
	}
	if maxFlight > 512<<10 {
		t.Errorf("up to %d bytes in flight between writer and reader; want a few 64 KiB windows", maxFlight)
	}
	t.Logf("at most %d bytes in flight", maxFlight)
}

// The filter bounds how much an underlying without a read high watermark
// reads ahead of the input Func (its maximum input), but a Func that needs
// more than that before it can produce anything (NeedMore: a frame larger
// than the bound) still gets it, over a pair and in a stack; closing the
// filter without CloseOnFree gives the underlying its own maximum back.
func TestFilterInputFuncNeedingLargeFrames(t *testing.T) {
	for _, frame := range []int{100 << 10, 1 << 20} {
		t.Run(fmt.Sprintf("frame=%d", frame), func(t *testing.T) {
			base := newBase(t)
			p0, p1 := newPair(t, base, 0)
			defer p0.Close()
			defer p1.Close()
			must(t, p1.SetMaxInput(0)) // no limit of its own
			// whole passes on only complete frames of size frame.
			whole := func(src, dst *evbuffer.Buffer, _ int, mode bufferevent.FlushMode) filter.Result {
				if src.Len() < frame && mode == bufferevent.Normal {
					return filter.NeedMore
				}
				_, _ = src.RemoveBuffer(dst, frame)
				return filter.OK
			}
			mid := newFilter(t, p1, nil, nil, 0)
			r := newFilter(t, mid, whole, nil, 0)
			if m := p1.MaxInput(); m == 0 || m > 1<<20 {
				t.Errorf("underlying's maximum input %d while filtered; want a bound", m)
			}
			data := pattern(3 * frame)
			var got bytes.Buffer
			must(t, r.SetCallbacks(func(bev *bufferevent.BufferEvent) {
				_, _ = got.ReadFrom(bev.Input())
				if got.Len() == len(data) {
					base.LoopBreak()
				}
			}, nil, nil))
			must(t, r.Enable(bufferevent.Read))
			must(t, p0.Enable(bufferevent.Write))
			_, err := p0.Write(data)
			must(t, err)
			runFor(t, base, 5*time.Second)
			if !bytes.Equal(got.Bytes(), data) {
				t.Fatalf("reader got %d of %d bytes", got.Len(), len(data))
			}
			must(t, r.Close())
			must(t, mid.Close())
			if m := p1.MaxInput(); m != 0 {
				t.Errorf("underlying's maximum input %d after the filter closed; want its own 0 back", m)
			}
		})
	}
}
