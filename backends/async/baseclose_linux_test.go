//go:build linux

package async

import (
	"net"
	"testing"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
)

// TestBaseCloseTearsDownRing closes a base while an async pair with receives in flight
// and a listener with accepts in flight are still open: Close tears the ring down
// (operations cancelled and drained, ring descriptor closed, registry entry gone), and
// closing the bufferevents and the listener afterwards works and leaks nothing.
func TestBaseCloseTearsDownRing(t *testing.T) {
	checkFDs(t)
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	a, b, err := asyncPair(base, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, bev := range []*bufferevent.BufferEvent{a, b} {
		if err := bev.Enable(bufferevent.Read); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := Listen(base, "tcp4", "127.0.0.1:0", func(*Listener, int, net.Addr) {}, ListenerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write([]byte(testStr)); err != nil {
		t.Fatal(err)
	}
	loopOnce(t, base)
	lr := ringOf(base)
	if lr == nil || lr.ring.InFlight() == 0 {
		t.Fatal("no operations in flight before the base closes")
	}
	if err := base.Close(); err != nil {
		t.Fatal(err)
	}
	if !lr.closed || ringOf(base) != nil {
		t.Fatalf("after the base closed: ring closed %v, still registered %v", lr.closed, ringOf(base) != nil)
	}
	if _, err := a.Write([]byte(testStr)); err != nil {
		t.Logf("write after the base closed: %v", err) // accepted or refused, never sent
	}
	if err := ln.Close(); err != nil {
		t.Errorf("listener Close after the base: %v", err)
	}
	a.Close()
	b.Close()
}
