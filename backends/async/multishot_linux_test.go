//go:build linux

package async

import (
	"bytes"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
	"github.com/bufev/bufev/ratelimit"
	"golang.org/x/sys/unix"
)

// setMultishot turns multishot receives on or off for the rings created during the test.
func setMultishot(t *testing.T, on bool) {
	old := multishot
	multishot = on
	t.Cleanup(func() { multishot = old })
}

// setPool sets the provided-buffer pool of the rings created during the test.
func setPool(t *testing.T, count, size int) {
	oc, os, oi := msBufCount, msBufSize, msBufInitial
	msBufCount, msBufSize, msBufInitial = count, size, count
	t.Cleanup(func() { msBufCount, msBufSize, msBufInitial = oc, os, oi })
}

// TestMultishotStream sends 1 MiB through a pair whose receiver has a small pool (so
// the pool runs dry, ENOBUFS, and receives fall back to pinned input space) and a read
// high watermark (so received buffers wait while reading is suspended): every byte
// arrives, in order, and the input never exceeds the watermark.
func TestMultishotStream(t *testing.T) {
	setReady(t, false) // ring receives: this tests them
	for _, tc := range []struct {
		name        string
		count, size int
		high        int
	}{
		{"pool2x64/high100", 2, 64, 100},
		{"pool4x4096/high0", 4, 4096, 0},
		{"pool64x512/high3000", 64, 512, 3000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkFDs(t)
			setMultishot(t, true)
			setPool(t, tc.count, tc.size)
			base := newBase(t)
			a, b := newPair(t, base, true)
			want := make([]byte, 1<<20)
			for i := range want {
				want[i] = byte(i * 7 / 5)
			}
			var got bytes.Buffer
			maxIn := 0
			b.SetWatermark(bufferevent.Read, 0, tc.high)
			b.SetCallbacks(func(bev *bufferevent.BufferEvent) {
				maxIn = max(maxIn, bev.Input().Len())
				// At the watermark, drain a little so that it keeps binding.
				n := bev.Input().Len()
				if tc.high > 0 && n >= tc.high {
					n = min(n, 700)
				}
				p := make([]byte, n)
				bev.Input().Remove(p)
				got.Write(p)
				if got.Len() == len(want) {
					base.LoopBreak()
				}
			}, nil, nil)
			if err := b.Enable(bufferevent.Read); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Write(want); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(20 * time.Second)
			for got.Len() < len(want) && time.Now().Before(deadline) {
				_ = base.Loop(eventbase.LoopNonBlock)
				time.Sleep(100 * time.Microsecond)
			}
			if c, _ := lookupConn(b); got.Len() < len(want) && c != nil {
				t.Logf("stalled: reading %v ms %v bulk %v msOff %v pending %d input %d enabled %v suspended %v",
					c.reading, c.ms, c.bulk, c.msOff, len(c.pend), b.Input().Len(), c.c.Enabled(), c.c.ReadSuspended())
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Fatalf("received %d bytes, want %d (equal prefix: %v)", got.Len(), len(want), bytes.HasPrefix(want, got.Bytes()))
			}
			if tc.high > 0 && maxIn > tc.high {
				t.Fatalf("input reached %d bytes over a high watermark of %d", maxIn, tc.high)
			}
			if lr := ringOf(base); lr == nil || lr.msState != 1 {
				t.Fatalf("multishot receives not in use")
			}
		})
	}
}

// TestMultishotRateLimit checks that multishot receives charge the read bucket with what
// they copy into the input, never more than the allowance.
func TestMultishotRateLimit(t *testing.T) {
	setReady(t, false) // ring receives: this tests them
	checkFDs(t)
	setMultishot(t, true)
	base := newBase(t)
	a, b := newPair(t, base, false)
	cfg, err := ratelimit.NewConfig(1000, 1000, 1000, 1000, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SetRateLimit(cfg); err != nil {
		t.Fatal(err)
	}
	got := 0
	b.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		got += bev.Input().Len()
		bev.Input().Drain(bev.Input().Len())
		if got == 1000 {
			base.LoopBreak()
		}
	}, nil, nil)
	if err := b.Enable(bufferevent.Read); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write(make([]byte, 3000)); err != nil {
		t.Fatal(err)
	}
	dispatch(t, base, 5*time.Second)
	// Let the rest of the data arrive; the bucket is empty, so it must wait.
	for range 5 {
		_ = base.Loop(eventbase.LoopNonBlock)
		time.Sleep(5 * time.Millisecond)
	}
	if got != 1000 {
		t.Fatalf("received %d bytes with a bucket of 1000 per hour", got)
	}
	if lim := b.ReadLimit(); lim != 0 {
		t.Fatalf("read level %d after 1000 bytes; want 0", lim)
	}
}

// TestMultishotCloseInFlight closes bufferevents with armed multishot receives and
// received buffers still pending (reading disabled after data arrived), then tears the
// ring down: nothing leaks, every buffer comes back, no use after free (-race).
func TestMultishotCloseInFlight(t *testing.T) {
	setReady(t, false) // ring receives: this tests them
	checkFDs(t)
	setMultishot(t, true)
	setPool(t, 8, 128)
	base := newBase(t)
	var pairs [][2]*bufferevent.BufferEvent
	for range 4 {
		a, b, err := asyncPair(base, 0, true)
		if err != nil {
			t.Fatal(err)
		}
		pairs = append(pairs, [2]*bufferevent.BufferEvent{a, b})
		if err := b.Enable(bufferevent.Read); err != nil {
			t.Fatal(err)
		}
	}
	loopOnce(t, base) // arm the receives
	for _, p := range pairs {
		// Fill b's pending buffers: reading is disabled, so nothing reaches the input.
		_ = p[1].Disable(bufferevent.Read)
		if _, err := p[0].Write(make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		loopOnce(t, base)
		time.Sleep(2 * time.Millisecond)
	}
	for _, p := range pairs {
		if p[1].Input().Len() != 0 {
			t.Fatalf("%d bytes reached a disabled bufferevent's input", p[1].Input().Len())
		}
		p[1].Close()
	}
	for _, p := range pairs {
		p[0].Close()
	}
}

// TestMultishotPoolDry arms four multishot receives on a pool of two buffers and lets
// data reach all four sockets before the loop reaps: two receives find no buffer
// (ENOBUFS ends them), fall back to PinRead receives, and every byte still arrives.
func TestMultishotPoolDry(t *testing.T) {
	setReady(t, false) // ring receives: this tests them
	checkFDs(t)
	setMultishot(t, true)
	setPool(t, 2, 4096)
	base := newBase(t)
	const n = 4
	var as, bs [n]*bufferevent.BufferEvent
	got := 0
	for i := range n {
		a, b := newPair(t, base, true)
		as[i], bs[i] = a, b
		b.SetCallbacks(func(bev *bufferevent.BufferEvent) {
			got += bev.Input().Len()
			bev.Input().Drain(bev.Input().Len())
			if got == 3*n*100 {
				base.LoopBreak()
			}
		}, nil, nil)
		if err := b.Enable(bufferevent.Read); err != nil {
			t.Fatal(err)
		}
	}
	loopOnce(t, base) // arm the receives
	for round := range 3 {
		for _, a := range as {
			fd, err := a.FD()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := unix.Write(fd, make([]byte, 100)); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(10 * time.Millisecond) // every socket has its data before the next reap
		if round < 2 {
			loopOnce(t, base)
		}
	}
	dispatch(t, base, 5*time.Second)
	if got != 3*n*100 {
		t.Fatalf("received %d bytes, want %d", got, 3*n*100)
	}
	if lr := ringOf(base); lr.noBufs == 0 {
		t.Fatalf("no receive found the pool empty")
	}
}

// TestMultishotEOFAfterPending checks that an end of stream arriving behind bytes that
// wait for room (read high watermark) is reported only after they were delivered.
func TestMultishotEOFAfterPending(t *testing.T) {
	setReady(t, false) // ring receives: this tests them
	checkFDs(t)
	setMultishot(t, true)
	setPool(t, 8, 32768) // one buffer takes the whole message: no bulk switch
	base := newBase(t)
	a, b := newPair(t, base, true)
	want := make([]byte, 20000)
	for i := range want {
		want[i] = byte(i % 251)
	}
	var got bytes.Buffer
	eof := false
	b.SetWatermark(bufferevent.Read, 0, 1000)
	// The read callback takes nothing; a timer drains 300 bytes per millisecond, so
	// the received bytes wait for room over many loop turns.
	var tick *eventbase.Event
	tick, err := base.NewTimer(func() {
		// Count before draining: the drain may resume reading and deliver the end
		// of stream at once.
		p := make([]byte, min(b.Input().Len(), 300))
		_, _ = b.Input().CopyOut(p)
		got.Write(p)
		_ = b.Input().Drain(len(p))
		_ = tick.AddTimeout(time.Millisecond)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tick.Free()
	_ = tick.AddTimeout(time.Millisecond)
	b.SetCallbacks(func(*bufferevent.BufferEvent) {
		if eof {
			t.Errorf("read callback after the end of stream")
		}
	}, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		if what&bufferevent.EOF != 0 {
			eof = true
			if got.Len()+bev.Input().Len() != len(want) {
				t.Errorf("end of stream after %d of %d bytes", got.Len()+bev.Input().Len(), len(want))
			}
			base.LoopBreak()
		}
	})
	if err := b.Enable(bufferevent.Read); err != nil {
		t.Fatal(err)
	}
	loopOnce(t, base) // arm the receive
	// The data and the end of stream both reach the socket before the next reap.
	fd, err := a.FD()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Write(fd, want); err != nil {
		t.Fatal(err)
	}
	if err := unix.Shutdown(fd, unix.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	dispatch(t, base, 10*time.Second)
	if !eof {
		t.Fatal("no end of stream")
	}
	rest := make([]byte, b.Input().Len())
	b.Input().Remove(rest)
	got.Write(rest)
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("received %d bytes, want %d", got.Len(), len(want))
	}
}

// TestMultishotPoolGrows starts the pool with 4 of its 64 buffers provided. One
// connection exchanging 50 messages one at a time never needs more, so the pool stays
// at 4 (its other buffers' memory is never touched). Fifteen more connections arming
// their receives make it provide one buffer per armed receive, so that data arriving on
// all 16 before one reap finds a buffer each (no ENOBUFS); that reap, which found half
// of the pool out, makes it provide more again. Every byte arrives.
func TestMultishotPoolGrows(t *testing.T) {
	setReady(t, false) // ring receives: this tests them
	checkFDs(t)
	setMultishot(t, true)
	setPool(t, 64, 4096)
	msBufInitial = 4
	base := newBase(t)
	const n = 16
	var as [n]*bufferevent.BufferEvent
	got, want := 0, 0
	pair := func(i int) {
		a, b, err := asyncPair(base, 0, true)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close(); b.Close() })
		as[i] = a
		b.SetCallbacks(func(bev *bufferevent.BufferEvent) {
			got += bev.Input().Len()
			bev.Input().Drain(bev.Input().Len())
			if got == want {
				base.LoopBreak()
			}
		}, nil, nil)
		if err := b.Enable(bufferevent.Read); err != nil {
			t.Fatal(err)
		}
	}
	write := func(a *bufferevent.BufferEvent, k int) {
		fd, err := a.FD()
		if err != nil {
			t.Fatal(err)
		}
		want += k
		if _, err := unix.Write(fd, make([]byte, k)); err != nil {
			t.Fatal(err)
		}
	}
	pair(0)
	loopOnce(t, base) // arm the receive
	for range 50 {
		write(as[0], 10)
		dispatch(t, base, 5*time.Second)
	}
	lr := ringOf(base)
	if lr.bufs == nil {
		t.Skip("no provided-buffer pool on this kernel")
	}
	if p := lr.bufs.Provided(); p != 4 || lr.bufGrows != 0 {
		t.Fatalf("one connection, one message at a time: %d buffers provided, %d grows; want 4, 0", p, lr.bufGrows)
	}
	for i := 1; i < n; i++ {
		pair(i)
	}
	loopOnce(t, base) // arm the receives
	if p := lr.bufs.Provided(); p < n {
		t.Fatalf("%d receives armed, %d buffers provided", n, p)
	}
	provided := lr.bufs.Provided()
	for _, a := range as {
		write(a, 100)
	}
	time.Sleep(10 * time.Millisecond) // every socket has its data before the next reap
	dispatch(t, base, 5*time.Second)
	if got != want {
		t.Fatalf("received %d bytes, want %d", got, want)
	}
	if lr.noBufs != 0 {
		t.Errorf("%d receives found the pool empty", lr.noBufs)
	}
	if p := lr.bufs.Provided(); p <= provided {
		t.Errorf("a reap that found %d of %d buffers out: still %d provided", n, provided, p)
	}
	if lr.bufHeld != 0 {
		t.Errorf("%d buffers still held after every byte was delivered", lr.bufHeld)
	}
}
