//go:build unix

package dialertest

import (
	"net"
	"syscall"
	"testing"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
)

// SetFDClosesOwnSocket checks BufferEvent.SetFD's descriptor ownership: the socket a
// Connect created for a bufferevent that had none belongs to the bufferevent, so SetFD
// closes it (nobody else could: it leaked before); a descriptor the caller handed over
// (b.NewFD, without CloseOnFree) is left open, as libevent leaves it. Needs b.NewFD. Safe
// for concurrent use (each call has its own base, listener and socket pair).
func SetFDClosesOwnSocket(t *testing.T, b Backend) {
	if b.NewFD == nil {
		t.Fatal("dialertest.SetFDClosesOwnSocket: Backend.NewFD is nil")
	}
	if b.Setup != nil {
		b.Setup(t)
	}
	base := NewBase(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	bev, err := b.New(base, bufferevent.Options(0))
	if err != nil {
		t.Fatal(err)
	}
	defer bev.Close()
	if err := b.Connect(bev, ln.Addr()); err != nil {
		t.Fatal(err)
	}
	_ = base.Loop(eventbase.LoopNonBlock)
	fd, err := bev.FD()
	if err != nil || fd < 0 {
		t.Fatalf("FD after Connect = %d, %v; want the socket the connect created", fd, err)
	}
	var before, after syscall.Stat_t
	if err := syscall.Fstat(fd, &before); err != nil {
		t.Fatal(err)
	}
	if err := bev.SetFD(-1); err != nil {
		t.Fatal(err)
	}
	_ = base.Loop(eventbase.LoopNonBlock)
	if err := syscall.Fstat(fd, &after); err == nil && after.Ino == before.Ino && after.Dev == before.Dev {
		t.Fatalf("SetFD(-1) left open the socket the connect created (fd %d): nothing else can close it", fd)
	}

	fds := socketPair(t)
	mine, err := b.NewFD(base, fds[0], 0)
	if err != nil {
		t.Fatal(err)
	}
	defer mine.Close()
	if err := syscall.Fstat(fds[0], &before); err != nil {
		t.Fatal(err)
	}
	if err := mine.SetFD(-1); err != nil {
		t.Fatal(err)
	}
	_ = base.Loop(eventbase.LoopNonBlock)
	if err := syscall.Fstat(fds[0], &after); err != nil || after.Ino != before.Ino {
		t.Fatalf("SetFD(-1) closed the caller's descriptor (fstat: %v); it stays the caller's", err)
	}
}
