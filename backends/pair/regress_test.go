package pair_test

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/bufev/bufev/backends/pair"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/backend"
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

func newPair(t testing.TB, base *eventbase.Base, opts bufferevent.Options) (a, b *bufferevent.BufferEvent) {
	t.Helper()
	a, b, err := pair.New(base, opts)
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func pattern(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i)
	}
	return p
}

// runFor runs base's loop for d (or until it runs out of events).
func runFor(t testing.TB, base *eventbase.Base, d time.Duration) {
	t.Helper()
	must(t, base.LoopExit(d))
	must(t, base.Dispatch())
}

// Mirrors libevent test/regress_bufferevent.c "bufferevent_pair" and
// "bufferevent_pair_flush_normal", "_flush_flush", "_flush_finished": two
// ends with the same read, write and error callbacks; bev2 reads 8333 bytes
// (+1 when all arrived), bev1's write callback sees its output empty (+1);
// the error callback sets the counter to -2. Only the Finished flush calls
// the partner's error callback: read cb (+1 → 1), event (-2), then the
// writer's write cb (+1) → -1.
func TestPairFlushModes(t *testing.T) {
	cases := []struct {
		name  string
		flush bufferevent.FlushMode
		noop  bool // no Flush call at all ("bufferevent_pair")
		want  int
	}{
		{"bufferevent_pair", 0, true, 2},
		{"bufferevent_pair_flush_normal", bufferevent.Normal, false, 2},
		{"bufferevent_pair_flush_flush", bufferevent.Flush, false, 2},
		{"bufferevent_pair_flush_finished", bufferevent.Finished, false, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := newBase(t)
			bev1, bev2 := newPair(t, base, 0)
			testOK := 0
			var events []bufferevent.Events
			readcb := func(bev *bufferevent.BufferEvent) {
				if bev.Input().Len() == 8333 {
					buf := evbuffer.New()
					must(t, bev.ReadBuffer(buf))
					must(t, bev.Disable(bufferevent.Read))
					if buf.Len() == 8333 {
						testOK++
					}
				}
			}
			writecb := func(bev *bufferevent.BufferEvent) {
				if bev.Output().Len() == 0 {
					testOK++
				}
			}
			errorcb := func(_ *bufferevent.BufferEvent, what bufferevent.Events, _ error) {
				events = append(events, what)
				testOK = -2
			}
			must(t, bev1.SetCallbacks(readcb, writecb, errorcb))
			must(t, bev2.SetCallbacks(readcb, writecb, errorcb))
			if fd, err := bev1.FD(); fd != -1 || !errors.Is(err, errors.ErrUnsupported) {
				t.Errorf("FD() = %d, %v; want -1, errors.ErrUnsupported", fd, err)
			}
			if bev1.Underlying() != nil {
				t.Error("Underlying() of a pair end is not nil")
			}
			if pair.Partner(bev1) != bev2 || pair.Partner(bev2) != bev1 {
				t.Error("partners do not point at each other")
			}
			must(t, bev1.Disable(bufferevent.Read))
			must(t, bev2.Enable(bufferevent.Read))
			if got := bev1.Enabled(); got != bufferevent.Write {
				t.Errorf("bev1 enabled %v; want Write", got)
			}
			if got := bev2.Enabled(); got != bufferevent.ReadWrite {
				t.Errorf("bev2 enabled %v; want Read|Write", got)
			}
			_, err := bev1.Write(pattern(8333))
			must(t, err)
			if !c.noop {
				if _, err := bev1.Flush(bufferevent.Write, c.flush); err != nil {
					t.Fatalf("Flush(Write, %v) = %v", c.flush, err)
				}
			}
			must(t, base.Dispatch())
			must(t, bev2.Close())
			if p := pair.Partner(bev1); p != nil {
				t.Errorf("Partner(bev1) after closing bev2 = %v; want nil", p)
			}
			must(t, bev1.Close())
			if testOK != c.want {
				t.Errorf("counter = %d (events %v); want %d", testOK, events, c.want)
			}
			if c.flush == bufferevent.Finished && !c.noop {
				if len(events) != 1 || events[0] != bufferevent.Reading|bufferevent.EOF {
					t.Errorf("events = %v; want exactly [Reading|EOF]", events)
				}
			}
		})
	}
}

// Mirrors libevent test/regress_bufferevent.c "bufferevent_pair_flush":
// Flush(Write, Finished) with nothing buffered gives the partner exactly
// Reading|EOF after one loop turn. Flushing the reading side gives
// Writing|EOF (the opposite direction bit).
func TestPairFlushFinishedDirections(t *testing.T) {
	for _, c := range []struct {
		dir  bufferevent.Direction
		want bufferevent.Events
	}{
		{bufferevent.Write, bufferevent.Reading | bufferevent.EOF},
		{bufferevent.Read, bufferevent.Writing | bufferevent.EOF},
		{bufferevent.ReadWrite, bufferevent.Reading | bufferevent.Writing | bufferevent.EOF},
	} {
		t.Run(c.dir.String(), func(t *testing.T) {
			base := newBase(t)
			bev1, bev2 := newPair(t, base, 0)
			defer bev1.Close()
			defer bev2.Close()
			must(t, bev1.Enable(bufferevent.Write))
			must(t, bev2.Enable(bufferevent.Read))
			var got bufferevent.Events
			var gotErr error
			must(t, bev2.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
				got, gotErr = what, err
			}))
			did, err := bev1.Flush(c.dir, bufferevent.Finished)
			if err != nil || did {
				t.Fatalf("Flush = %v, %v; want false, nil (nothing buffered)", did, err)
			}
			if got != 0 {
				t.Fatal("event callback ran inside Flush; pair callbacks are always deferred")
			}
			must(t, base.Loop(eventbase.LoopOnce))
			if got != c.want || !errors.Is(gotErr, io.EOF) {
				t.Errorf("partner event = %v, %v; want %v, io.EOF", got, gotErr, c.want)
			}
		})
	}
}

// Mirrors libevent test/regress_bufferevent.c "bufferevent_pair_release_lock":
// a ThreadSafe pair shares one lock; freeing the ends in either order, with
// or without a running loop, from the loop or from other goroutines, never
// uses the lock after it is gone, never deadlocks, and passes -race.
func TestPairReleaseLock(t *testing.T) {
	for _, order := range []string{"a-then-b", "b-then-a"} {
		t.Run(order+"/no-loop", func(t *testing.T) {
			base := newBase(t)
			a, b := newPair(t, base, bufferevent.ThreadSafe)
			first, second := a, b
			if order == "b-then-a" {
				first, second = b, a
			}
			must(t, first.Close())
			if pair.Partner(second) != nil {
				t.Error("survivor still has a partner")
			}
			must(t, second.Close())
			must(t, base.Loop(eventbase.LoopNonBlock))
		})
		t.Run(order+"/concurrent", func(t *testing.T) {
			base := newBase(t)
			a, b := newPair(t, base, bufferevent.ThreadSafe)
			first, second := a, b
			if order == "b-then-a" {
				first, second = b, a
			}
			must(t, b.Enable(bufferevent.Read))
			must(t, a.Enable(bufferevent.Read))
			must(t, b.SetCallbacks(func(bev *bufferevent.BufferEvent) {
				_ = bev.ReadBuffer(evbuffer.New())
				_, _ = bev.Write([]byte("echo"))
			}, nil, nil))
			loopDone := make(chan error, 1)
			go func() { loopDone <- base.Loop(eventbase.LoopNoExitOnEmpty) }()
			var wg sync.WaitGroup
			for i := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := 0; j < 200; j++ {
						if _, err := a.Write([]byte("x")); err != nil {
							if !errors.Is(err, bufferevent.ErrClosed) {
								t.Errorf("writer %d: %v", i, err)
							}
							return
						}
						_ = pair.Partner(a)
					}
				}()
			}
			time.Sleep(5 * time.Millisecond)
			must(t, first.Close())
			must(t, second.Close())
			wg.Wait()
			// Let the loop finalise both ends, then stop it.
			done := make(chan struct{})
			must(t, base.RunInLoop(func() { close(done) }))
			<-done
			base.LoopBreak()
			must(t, <-loopDone)
			if pair.Partner(a) != nil || pair.Partner(b) != nil {
				t.Error("Partner of a closed end is not nil")
			}
		})
	}
}

// Mirrors libevent test/regress_bufferevent.c "bufferevent_pair_watermarks":
// reader read watermarks (10, 20), writer write watermarks (100, 2000),
// 65000 bytes written at once: every read callback sees 10..20 bytes, the
// write callback runs only with at most 100 bytes pending, and both counters
// are hit (test_ok == 2).
func TestPairWatermarks(t *testing.T) {
	base := newBase(t)
	bev1, bev2 := newPair(t, base, 0)
	defer bev1.Close()
	defer bev2.Close()
	testOK, nread := 0, 0
	must(t, bev1.SetCallbacks(nil, func(bev *bufferevent.BufferEvent) {
		if n := bev.Output().Len(); n > 100 {
			t.Errorf("write callback with %d bytes pending; want ≤ 100", n)
		} else if n == 0 {
			testOK++
		}
	}, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		t.Errorf("writer event %v: %v", what, err)
	}))
	must(t, bev2.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		n := bev.Input().Len()
		if n < 10 || n > 20 {
			t.Errorf("read callback with %d bytes; want 10..20", n)
		}
		must(t, bev.ReadBuffer(evbuffer.New()))
		nread += n
		if nread == 65000 {
			must(t, bev.Disable(bufferevent.Read))
			testOK++
		}
	}, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		t.Errorf("reader event %v: %v", what, err)
	}))
	must(t, bev1.Disable(bufferevent.Read))
	must(t, bev2.Enable(bufferevent.Read))
	if lo, _, _ := bev1.Watermark(bufferevent.Read); lo != 0 {
		t.Errorf("default read low watermark %d", lo)
	}
	if lo, _, _ := bev2.Watermark(bufferevent.Write); lo != 0 {
		t.Errorf("default write low watermark %d", lo)
	}
	must(t, bev2.SetWatermark(bufferevent.Read, 10, 20))
	must(t, bev1.SetWatermark(bufferevent.Write, 100, 2000))
	if lo, hi, _ := bev2.Watermark(bufferevent.Read); lo != 10 || hi != 20 {
		t.Errorf("read watermark %d, %d", lo, hi)
	}
	if lo, hi, _ := bev1.Watermark(bufferevent.Write); lo != 100 || hi != 2000 {
		t.Errorf("write watermark %d, %d", lo, hi)
	}
	if _, _, err := bev1.Watermark(bufferevent.ReadWrite); err == nil {
		t.Error("Watermark(Read|Write) succeeded")
	}
	_, err := bev1.Write(pattern(65000))
	must(t, err)
	must(t, base.Dispatch())
	if testOK != 2 {
		t.Errorf("test_ok = %d (read %d bytes); want 2", testOK, nread)
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

// Mirrors libevent test/regress_bufferevent.c "bufferevent_timeout_pair":
// bev1 has "ABCDEFG" waiting, reads and writes enabled, read timeout 150 ms
// and write timeout 100 ms; bev2 does not read, writes with nothing to say,
// read timeout 100 ms and write timeout 200 ms. After 350 ms bev1 saw one
// read and one write timeout (two event calls, or one carrying both when a
// loaded machine held the loop back past both deadlines); bev2 saw nothing, because a
// pair arms its write timer only while output is waiting; no read or write
// callback ran.
func TestPairTimeout(t *testing.T) {
	base := newBase(t)
	bev1, bev2 := newPair(t, base, 0)
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
	// A pair's callbacks are deferred, as in libevent: a loop held back past
	// both deadlines (100 and 150 ms) fires both timers in one turn, and the
	// two events reach the callback as one, Reading|Writing|Timeout.
	if want := (timeoutResult{events: 2, readTimeouts: 1, writeTimeouts: 1}); res1 != want {
		want.events = 1
		if res1 != want {
			t.Errorf("bev1: %+v; want 2 events (or both in one), 1 read and 1 write timeout", res1)
		}
	}
	if res2 != (timeoutResult{}) {
		t.Errorf("bev2: %+v; want nothing", res2)
	}
}

// The write timer starts when data starts waiting after Enable (libevent
// arms it only in enable and would miss data written later), and a transfer
// restarts the writer's timer (libevent resets the reader's).
func TestPairWriteTimeoutStartsWithData(t *testing.T) {
	base := newBase(t)
	bev1, bev2 := newPair(t, base, 0)
	defer bev1.Close()
	defer bev2.Close()
	var res timeoutResult
	must(t, bev1.SetCallbacks(res.callbacks()))
	must(t, bev1.SetTimeouts(0, 30*time.Millisecond))
	must(t, base.RunInLoop(func() { _, _ = bev1.Write([]byte("waiting")) }))
	runFor(t, base, 150*time.Millisecond)
	if res.writeTimeouts != 1 {
		t.Errorf("write timeouts = %d; want 1 (data waited with nobody reading)", res.writeTimeouts)
	}
}

// Backpressure: a reader with a read high watermark that never reads holds
// at most that many bytes; the rest waits in the writer's output, and
// everything arrives once the reader drains.
func TestPairBackpressure(t *testing.T) {
	base := newBase(t)
	a, b := newPair(t, base, 0)
	defer a.Close()
	defer b.Close()
	const high = 4096
	data := pattern(1 << 20)
	must(t, b.SetWatermark(bufferevent.Read, 0, high))
	must(t, b.Enable(bufferevent.Read))
	_, err := a.Write(data)
	must(t, err)
	runFor(t, base, 20*time.Millisecond)
	if n := b.Input().Len(); n != high {
		t.Fatalf("reader holds %d bytes; want exactly the high watermark %d", n, high)
	}
	if n := a.Output().Len(); n != len(data)-high {
		t.Fatalf("writer holds %d bytes; want %d", n, len(data)-high)
	}
	var got bytes.Buffer
	must(t, b.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		_, _ = got.ReadFrom(bev.Input())
		if got.Len() == len(data) {
			base.LoopBreak()
		}
	}, nil, nil))
	must(t, b.Trigger(bufferevent.Read, 0))
	must(t, base.Dispatch())
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("got %d bytes, differing from the %d sent", got.Len(), len(data))
	}
}

// Data moves by splicing chains: the reader's input holds the very memory
// the writer wrote into.
func TestPairZeroCopy(t *testing.T) {
	base := newBase(t)
	a, b := newPair(t, base, 0)
	defer a.Close()
	defer b.Close()
	_, err := a.Write(bytes.Repeat([]byte("z"), 1000))
	must(t, err)
	vec := make([][]byte, 1)
	a.Output().Peek(-1, nil, vec)
	before := unsafe.SliceData(vec[0])
	must(t, b.Enable(bufferevent.Read)) // moves the data
	if b.Input().Len() != 1000 {
		t.Fatalf("reader has %d bytes; want 1000", b.Input().Len())
	}
	b.Input().Peek(-1, nil, vec)
	if after := unsafe.SliceData(vec[0]); after != before {
		t.Error("data was copied, not spliced")
	}
}

// Closing one end leaves the other working: its partner is nil, its writes
// accumulate, Flush reports ErrNoPartner, and it gets Reading|EOF (unlike
// libevent, which says nothing).
func TestPairCloseOneEnd(t *testing.T) {
	base := newBase(t)
	a, b := newPair(t, base, 0)
	defer b.Close()
	var what bufferevent.Events
	var gotErr error
	must(t, b.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, w bufferevent.Events, err error) {
		what, gotErr = w, err
	}))
	must(t, a.Close())
	must(t, base.Loop(eventbase.LoopNonBlock))
	if what != bufferevent.Reading|bufferevent.EOF || !errors.Is(gotErr, io.EOF) {
		t.Errorf("survivor event = %v, %v; want Reading|EOF, io.EOF", what, gotErr)
	}
	if pair.Partner(b) != nil {
		t.Error("Partner of the survivor is not nil")
	}
	for range 3 {
		if _, err := b.Write([]byte("into the void")); err != nil {
			t.Fatalf("Write after partner closed: %v", err)
		}
	}
	if n := b.Output().Len(); n != 39 {
		t.Errorf("survivor output %d bytes; want 39 (writes accumulate)", n)
	}
	if _, err := b.Flush(bufferevent.Write, bufferevent.Flush); !errors.Is(err, pair.ErrNoPartner) {
		t.Errorf("Flush without partner = %v; want ErrNoPartner", err)
	}
	if pair.Partner(a) != nil {
		t.Error("Partner of a closed end is not nil")
	}
	if pair.Partner(nil) != nil {
		t.Error("Partner(nil) is not nil")
	}
}

// Open by registered name gives one end; Partner finds the other.
func TestPairOpen(t *testing.T) {
	base := newBase(t)
	a, err := bufferevent.Open(base, pair.TypeName, 0)
	must(t, err)
	b := pair.Partner(a)
	if b == nil {
		t.Fatal("Open(\"pair\") end has no partner")
	}
	if a.Type() != "pair" || b.Type() != "pair" {
		t.Errorf("types %q, %q", a.Type(), b.Type())
	}
	if a.Options()&bufferevent.DeferCallbacks == 0 {
		t.Error("DeferCallbacks not forced on")
	}
	a.Close()
	b.Close()
	if _, _, err := pair.New(base, 0x800); !errors.Is(err, bufferevent.ErrInvalidOptions) {
		t.Errorf("New with bad options = %v; want ErrInvalidOptions", err)
	}
	if _, _, err := pair.New(nil, 0); !errors.Is(err, bufferevent.ErrNilBase) {
		t.Errorf("New(nil base) = %v; want ErrNilBase", err)
	}
}

// Partner finds the other end through the bufferevent itself: it is nil
// for bufferevents of other types and for either end once one is closed,
// and nothing global outlives the pairs.
func TestPartnerNoGlobalState(t *testing.T) {
	base := newBase(t)
	for range 100 {
		a, b := newPair(t, base, 0)
		if pair.Partner(a) != b || pair.Partner(b) != a {
			t.Fatal("Partner does not link the ends")
		}
		_ = a.Close()
		if pair.Partner(a) != nil || pair.Partner(b) != nil {
			t.Fatal("Partner after closing one end is not nil")
		}
		_ = b.Close()
	}
	must(t, base.Loop(eventbase.LoopNonBlock))
	other, err := bufferevent.New(base, bufferevent.Config{Type: pair.TypeName}, func(backend.Core) (backend.Ops, error) { return notAPair{}, nil })
	must(t, err)
	if pair.Partner(other) != nil {
		t.Error("Partner of a bufferevent with foreign Ops is not nil")
	}
	_ = other.Close()
}

// notAPair is Ops that are not a pair end, registered under the pair's name,
// to check that Partner tests the backend, not the type name.
type notAPair struct{}

func (notAPair) Enable(bufferevent.Direction) error  { return nil }
func (notAPair) Disable(bufferevent.Direction) error { return nil }
func (notAPair) Flush(bufferevent.Direction, bufferevent.FlushMode) (bool, error) {
	return false, nil
}
func (notAPair) AdjustTimeouts() error { return nil }
func (notAPair) Close() error          { return nil }
