//go:build linux

package async

import (
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
	"github.com/bufev/bufev/ratelimit"
)

// TestRateLimitReservesUpFront checks libevent's IOCP accounting: a receive charges its
// whole size to the read bucket when it is submitted, and the completion refunds what did
// not arrive; a send is charged likewise. It runs with PinRead receives (multishot
// receives charge what they copy into the input: TestMultishotRateLimit).
func TestRateLimitReservesUpFront(t *testing.T) {
	setReady(t, false) // ring receives: this tests them
	checkFDs(t)
	setMultishot(t, false)
	base := newBase(t)
	a, b := newPair(t, base, false)
	cfg, err := ratelimit.NewConfig(100000, 100000, 100000, 100000, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SetRateLimit(cfg); err != nil {
		t.Fatal(err)
	}
	if err := a.SetRateLimit(cfg); err != nil {
		t.Fatal(err)
	}
	got := 0
	b.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		got += bev.Input().Len()
		bev.Input().Drain(bev.Input().Len())
		if got == 100 {
			base.LoopBreak()
		}
	}, nil, nil)
	if err := b.Enable(bufferevent.Read); err != nil {
		t.Fatal(err)
	}
	_ = base.Loop(eventbase.LoopNonBlock) // submit the receive
	c, _ := lookupConn(b)
	if !c.reading || c.rres <= 0 {
		t.Fatalf("no receive in flight (reading %v, reserved %d)", c.reading, c.rres)
	}
	if lim := b.ReadLimit(); lim != 100000-int64(c.rres) {
		t.Fatalf("read level %d with a receive of %d in flight; want %d", lim, c.rres, 100000-c.rres)
	}
	if _, err := a.Write(make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	dispatch(t, base, 5*time.Second)
	if got != 100 {
		t.Fatalf("received %d bytes", got)
	}
	// The next receive is in flight again: the level is the 100 bytes read plus its
	// reservation below the rate.
	if lim := b.ReadLimit(); lim != 100000-100-int64(c.rres) {
		t.Fatalf("read level %d after 100 bytes with %d reserved; want %d", lim, c.rres, 100000-100-c.rres)
	}
	if lim := a.WriteLimit(); lim != 100000-100 {
		t.Fatalf("write level %d after a 100-byte send; want %d", lim, 100000-100)
	}
}
