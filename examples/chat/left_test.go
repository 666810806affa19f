package main

import (
	"io"
	"strings"
	"testing"

	"github.com/bufev/bufev/backends/socket"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
)

// TestLinesAfterLeaving: a client dropped while its own lines are being read (its
// /nick announcement finds its output over -max-pending) has the rest of those lines
// ignored. They were still handled: "bob: hello" went to the others after "bob was
// disconnected", from a client no longer in the room.
func TestLinesAfterLeaving(t *testing.T) {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	r := &room{base: base, clients: map[*bufferevent.BufferEvent]*client{}, maxPending: 300, log: io.Discard}
	var bevs []*bufferevent.BufferEvent
	for range 2 {
		// Unconnected sockets: what is written to them stays in their output.
		bev, err := socket.New(base, -1, bufferevent.CloseOnFree)
		if err != nil {
			t.Fatal(err)
		}
		bevs = append(bevs, bev)
		r.join(bev, 64)
	}
	defer func() {
		for bev := range r.clients {
			bev.Close()
		}
	}()
	slow, other := r.clients[bevs[0]], bevs[1]
	_ = slow.bev.Output().AddString(strings.Repeat("x", 250)) // nearly over -max-pending
	in := slow.bev.Input()                                    // as if read from the socket
	in.Unfreeze(false)
	if err := in.AddString("/nick bob\nhello\n"); err != nil {
		t.Fatal(err)
	}
	in.Freeze(false)
	r.read(slow)
	got, _ := other.Output().Pullup(-1)
	if !strings.Contains(string(got), "* bob was disconnected (not reading)\n") {
		t.Fatalf("the other client got %q; want bob's disconnection", got)
	}
	if strings.Contains(string(got), "bob: hello") {
		t.Fatalf("the other client got %q: a line from bob after he left", got)
	}
}
