package filter_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/bufev/bufev/backends/filter"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
	"golang.org/x/text/encoding/charmap"
)

// bufferevent.NetConn over ThreadSafe charset filters over a pair: blocking
// code on two goroutines talks through an echo, the text crossing the wire
// as Windows-1252; closing the echo's conn (which flushes Finished through
// the filters) ends the reader's io.ReadAll with EOF.
func TestFilterNetConn(t *testing.T) {
	base := newBase(t)
	enc := func() filter.Func { return filter.FromTransformer(charmap.Windows1252.NewEncoder()) }
	dec := func() filter.Func { return filter.FromTransformer(charmap.Windows1252.NewDecoder()) }
	p0, p1 := newPair(t, base, bufferevent.ThreadSafe)
	a := newFilter(t, p0, dec(), enc(), bufferevent.ThreadSafe|bufferevent.CloseOnFree)
	b := newFilter(t, p1, dec(), enc(), bufferevent.ThreadSafe|bufferevent.CloseOnFree)
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
	data := bytes.Repeat([]byte("naïve café “quoted” — 5€\n"), 20000)
	echoDone := make(chan error, 1)
	go func() {
		// Echo everything, then close: NetConn's Close sends what is
		// pending and then EOF (Flush Finished through the filters).
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
