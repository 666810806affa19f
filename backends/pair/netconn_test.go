package pair_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/bufev/bufev/backends/pair"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
)

// bufferevent.NetConn over a pair: blocking code on two goroutines talks
// through an echo; closing the echo's conn ends the other's io.ReadAll with
// EOF (NetConn's Close flushes Finished, which gives the partner EOF).
func TestPairNetConn(t *testing.T) {
	base := newBase(t)
	a, b, err := pair.New(base, bufferevent.ThreadSafe)
	must(t, err)
	ca, err := bufferevent.NetConn(a)
	must(t, err)
	cb, err := bufferevent.NetConn(b)
	must(t, err)
	loopDone := make(chan error, 1)
	go func() { loopDone <- base.Loop(eventbase.LoopNoExitOnEmpty) }()
	defer func() {
		base.LoopBreak()
		<-loopDone
	}()
	if ca.LocalAddr().String() != "pair-a" || ca.RemoteAddr().String() != "pair-b" {
		t.Errorf("addresses %v, %v", ca.LocalAddr(), ca.RemoteAddr())
	}
	data := pattern(1 << 20)
	echoDone := make(chan error, 1)
	go func() {
		// Echo everything, then close: NetConn's Close sends what is
		// pending and then EOF (Flush Finished).
		_, err := io.CopyN(cb, cb, int64(len(data)))
		cb.Close()
		echoDone <- err
	}()
	readDone := make(chan []byte, 1)
	go func() {
		got, _ := io.ReadAll(ca)
		readDone <- got
	}()
	if _, err := ca.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := <-echoDone; err != nil {
		t.Fatalf("echo: %v", err)
	}
	if got := <-readDone; !bytes.Equal(got, data) {
		t.Fatalf("echoed %d bytes, sent %d", len(got), len(data))
	}
	ca.Close()
}
