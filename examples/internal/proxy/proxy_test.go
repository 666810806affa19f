package proxy

import (
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/bevtest/pipe"
	"github.com/bufev/bufev/eventbase"
)

// A read and a write timeout of the same side can reach the event callback
// together (deferred callbacks coalesce the events of one turn: both
// timeouts are Proxy.Idle, so a loop held back fires both in one turn). The
// write timeout must still close the side whose peer takes nothing. It used
// to be taken for a read timeout on a busy pair: reading was re-enabled and
// the write timeout dropped, with writing left disabled by the timeout, so
// the pair stayed open for good (TestProxyIdle's "client that stops reading
// is closed" failed under load).
func TestWriteTimeoutWithReadTimeoutCloses(t *testing.T) {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	const opts = bufferevent.CloseOnFree | bufferevent.DeferCallbacks
	client, clientPeer, err := pipe.New(base, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer clientPeer.Close()
	upstream, upstreamPeer, err := pipe.New(base, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer upstreamPeer.Close()
	p := &Proxy{Idle: time.Second}
	in, out := &Side{Bev: client}, &Side{Bev: upstream}
	p.Link(in, out)
	// Output waits for the client's peer, which does not read.
	if err := client.Output().Add(make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	if client.Output().Len() == 0 {
		t.Fatal("the pipe moved the output to a peer that does not read")
	}
	in.event(client, bufferevent.Timeout|bufferevent.Reading|bufferevent.Writing, nil)
	if !in.closed {
		t.Fatal("a write timeout that came with a read timeout left the side open")
	}
	if !out.finished && !out.closed {
		t.Fatal("the partner of the timed-out side was neither finished nor closed")
	}
	// A read timeout alone on a pair with output waiting keeps it open.
	c2, c2Peer, err := pipe.New(base, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c2Peer.Close()
	u2, u2Peer, err := pipe.New(base, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer u2Peer.Close()
	in2, out2 := &Side{Bev: c2}, &Side{Bev: u2}
	p.Link(in2, out2)
	if err := c2.Output().Add(make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	in2.event(c2, bufferevent.Timeout|bufferevent.Reading, nil)
	if in2.closed || out2.closed {
		t.Fatal("a read timeout closed a pair with output waiting")
	}
	// The input's end coalesced with a read timeout on that busy pair is
	// still an EOF: it is passed on (the partner finished).
	in2.event(c2, bufferevent.Timeout|bufferevent.Reading|bufferevent.EOF, nil)
	if !in2.eof || !out2.finished {
		t.Fatal("an EOF that came with a read timeout was dropped")
	}
	in2.abort(c2)
}
