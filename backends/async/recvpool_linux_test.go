//go:build linux

package async

import (
	"bytes"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
)

// setBulkPool turns the bulk receive pool on or off for the test, whatever ASYNC_NOPOOL
// says.
func setBulkPool(t *testing.T, on bool) {
	old := poolOn
	poolOn = on
	t.Cleanup(func() { poolOn = old })
}

// TestBulkReceivePoolClose checks that a pool block comes back when the bufferevent
// whose receive landed in it closes: with the receive still in flight (its completion,
// a cancellation, unpins it and the block goes back then), and after an end of stream
// completed it (Close gives it back). The receive is a bulk one from the start (the
// receive size set to the maximum).
func TestBulkReceivePoolClose(t *testing.T) {
	setReady(t, false) // ring receives: this tests them
	for _, tc := range []struct {
		name string
		eof  bool // the peer closes first: the receive completes with an end of stream
	}{
		{"in-flight", false},
		{"after-eof", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkFDs(t)
			setMultishot(t, false)
			setBulkPool(t, true)
			gets0, puts0 := poolCounts()
			base := newBase(t)
			a, b, err := asyncPair(base, 0, true)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			b.SetMaxSingleRead(256 << 10)
			c, err := lookupConn(b)
			if err != nil {
				t.Fatal(err)
			}
			c.rsize = maxReadSize
			eof := false
			b.SetCallbacks(nil, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, _ error) {
				if what&bufferevent.EOF != 0 {
					eof = true
				}
			})
			if err := b.Enable(bufferevent.Read); err != nil {
				t.Fatal(err)
			}
			loopOnce(t, base) // the receive goes to the kernel
			if gets, _ := poolCounts(); gets != gets0+1 {
				t.Fatalf("%d blocks handed out, want 1", gets-gets0)
			}
			if tc.eof {
				a.Close()
				deadline := time.Now().Add(10 * time.Second)
				for !eof && time.Now().Before(deadline) {
					_ = base.Loop(eventbase.LoopNonBlock)
					time.Sleep(50 * time.Microsecond)
				}
				if !eof {
					t.Fatal("no end of stream")
				}
			}
			if _, puts := poolCounts(); puts != puts0 {
				t.Fatalf("a block came back before the bufferevent closed")
			}
			b.Close()
			if err := base.Close(); err != nil { // drains the ring
				t.Fatal(err)
			}
			if gets, puts := poolCounts(); gets-gets0 != puts-puts0 {
				t.Fatalf("%d blocks handed out, %d back", gets-gets0, puts-puts0)
			}
		})
	}
}

// TestBulkReceivePool runs 4 MiB through an echo with PinRead receives of 256 KiB: the
// bulk receives land in blocks of the bulk receive pool, the bytes come back intact,
// and once both ends are closed (at the end of the transfer, or in the middle of it with
// a receive in flight and bytes unsent) and the ring has drained, every block handed
// out has come back to the pool, none while the kernel could still write into it (a
// block returned early would be handed to the next receive while the echo still holds
// its bytes: the -race run and the comparison of the echoed bytes catch that).
func TestBulkReceivePool(t *testing.T) {
	setReady(t, false) // ring receives: this tests them
	for _, tc := range []struct {
		name    string
		stopAt  int  // close both ends once the client got this much (0: everything)
		disable bool // ASYNC_NOPOOL: no block is used
	}{
		{"complete", 0, false},
		{"closed-mid-transfer", 1 << 20, false},
		{"pool-off", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkFDs(t)
			setMultishot(t, false)
			old := poolOn
			poolOn = !tc.disable
			t.Cleanup(func() { poolOn = old })
			gets0, puts0 := poolCounts()
			base := newBase(t)
			a, b, err := asyncPair(base, 0, true)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]byte, 4<<20)
			for i := range want {
				want[i] = byte(i * 7 / 5)
			}
			b.SetMaxSingleRead(256 << 10)
			b.SetMaxSingleWrite(256 << 10)
			b.SetCallbacks(func(bev *bufferevent.BufferEvent) {
				bev.Output().AddBuffer(bev.Input())
			}, nil, nil)
			var got bytes.Buffer
			a.SetCallbacks(func(bev *bufferevent.BufferEvent) {
				p := make([]byte, bev.Input().Len())
				bev.Input().Remove(p)
				got.Write(p)
			}, nil, nil)
			for _, bev := range []*bufferevent.BufferEvent{a, b} {
				if err := bev.Enable(bufferevent.Read | bufferevent.Write); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := a.Write(want); err != nil {
				t.Fatal(err)
			}
			stop := len(want)
			if tc.stopAt > 0 {
				stop = tc.stopAt
			}
			deadline := time.Now().Add(20 * time.Second)
			for got.Len() < stop && time.Now().Before(deadline) {
				_ = base.Loop(eventbase.LoopNonBlock)
				time.Sleep(50 * time.Microsecond)
			}
			if !bytes.HasPrefix(want, got.Bytes()) || got.Len() < stop {
				t.Fatalf("echoed %d bytes (want %d), equal prefix: %v", got.Len(), stop, bytes.HasPrefix(want, got.Bytes()))
			}
			gets, _ := poolCounts()
			switch {
			case tc.disable && gets != gets0:
				t.Fatalf("pool off: %d blocks handed out", gets-gets0)
			case !tc.disable && gets == gets0:
				t.Fatalf("no bulk receive used the pool")
			}
			if tc.stopAt > 0 {
				// Unsent bytes in the echo's output are dropped with it: drain them
				// the way a closing program that cares would, so that their blocks
				// come back too.
				b.Output().Drain(b.Output().Len())
			}
			a.Close()
			b.Close()
			if err := base.Close(); err != nil { // drains the ring
				t.Fatal(err)
			}
			gets, puts := poolCounts()
			if gets-gets0 != puts-puts0 {
				t.Fatalf("%d blocks handed out, %d back", gets-gets0, puts-puts0)
			}
		})
	}
}

// TestBulkReceivePoolOtherGoroutine moves every bulk receive's bytes out of the loop
// (the input's chains handed to another goroutine in a Buffer, as a program passing
// received data to a worker would) and drains them there: the pool takes the blocks
// back on that goroutine (run with -race), and every block comes back.
func TestBulkReceivePoolOtherGoroutine(t *testing.T) {
	setReady(t, false) // ring receives: this tests them
	checkFDs(t)
	setMultishot(t, false)
	setBulkPool(t, true)
	gets0, puts0 := poolCounts()
	base := newBase(t)
	a, b, err := asyncPair(base, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	b.SetMaxSingleRead(256 << 10)
	c, err := lookupConn(b)
	if err != nil {
		t.Fatal(err)
	}
	c.rsize = maxReadSize
	work := make(chan *evbuffer.Buffer, 64)
	var got bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		for buf := range work {
			p := make([]byte, buf.Len())
			buf.Remove(p) // frees the chains: the release runs here
			got.Write(p)
		}
	}()
	received := 0
	b.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		received += bev.Input().Len()
		buf := evbuffer.New()
		buf.AddBuffer(bev.Input())
		work <- buf
	}, nil, nil)
	if err := b.Enable(bufferevent.Read); err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 2<<20)
	for i := range want {
		want[i] = byte(i * 3 / 7)
	}
	if err := a.Enable(bufferevent.Write); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write(want); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for received < len(want) && time.Now().Before(deadline) {
		_ = base.Loop(eventbase.LoopNonBlock)
		time.Sleep(50 * time.Microsecond)
	}
	if gets, _ := poolCounts(); gets == gets0 {
		t.Fatal("no bulk receive used the pool")
	}
	a.Close()
	b.Close()
	if err := base.Close(); err != nil {
		t.Fatal(err)
	}
	close(work)
	<-done
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("got %d bytes, want %d (equal prefix: %v)", got.Len(), len(want), bytes.HasPrefix(want, got.Bytes()))
	}
	if gets, puts := poolCounts(); gets-gets0 != puts-puts0 {
		t.Fatalf("%d blocks handed out, %d back", gets-gets0, puts-puts0)
	}
}
