//go:build linux

package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/bufev/bufev/backends/socket"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
	"golang.org/x/sys/unix"
)

// TestLeaveLingerBounded: a client that leaves (/quit) with output pending and never
// reads again is closed once its output makes no progress for r.linger. It stayed
// open for good, holding its descriptor and up to -max-pending bytes.
func TestLeaveLingerBounded(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	peer := fds[1]
	defer unix.Close(peer)
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	r := &room{base: base, clients: map[*bufferevent.BufferEvent]*client{}, maxPending: 8 << 20, linger: 100 * time.Millisecond, log: io.Discard}
	bev, err := socket.New(base, fds[0], bufferevent.CloseOnFree)
	if err != nil {
		unix.Close(fds[0])
		t.Fatal(err)
	}
	r.join(bev, 64)
	c := r.clients[bev]
	// More than the socket pair can hold: the rest stays in the output.
	const queued = 4 << 20
	_ = bev.Output().AddString(strings.Repeat("x", queued))
	r.leave(c, "left", true)
	tm, _ := base.NewTimer(func() { base.LoopExit(0) })
	_ = tm.AddTimeout(time.Second)
	if err := base.Dispatch(); err != nil {
		t.Fatal(err)
	}
	// The peer reads what reached it: with the connection closed, EOF comes before
	// the queued bytes are all there; open, the read runs dry (EAGAIN).
	got, buf := 0, make([]byte, 64<<10)
	for {
		n, err := unix.Read(peer, buf)
		if err == unix.EAGAIN {
			t.Fatalf("the leaving client's connection is still open after %v of linger (read %d of %d queued bytes)", r.linger, got, queued)
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		got += n
	}
	if got >= queued {
		t.Fatalf("read %d bytes, the whole output: nothing was left to give up", got)
	}
}

// TestBadFlags: flag values the server cannot work with are refused with an error, not
// taken for something else.
func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-linger", "0"},
		{"-linger", "-1s"},
		{"-max-line", "8"},
		{"-max-line", "64", "-max-pending", "32"},
	} {
		if err := run(t.Context(), append([]string{"-listen", "127.0.0.1:0"}, args...), io.Discard, io.Discard); err == nil {
			t.Errorf("run %v: no error", args)
		}
	}
}
