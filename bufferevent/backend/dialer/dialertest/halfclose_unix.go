//go:build unix

package dialertest

import (
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
)

// FinishedThenWrite checks, on one end of a Unix socket pair given to b.NewFD, that output
// added after the write side was shut down fails with an Error event for writing
// (EPIPE), not silently; a second Finished is harmless; Flush(Read, Finished) shuts
// nothing down. Safe for concurrent use (each call has its own base and socket pair).
func FinishedThenWrite(t *testing.T, b Backend) {
	if b.NewFD == nil {
		t.Fatal("dialertest.FinishedThenWrite: Backend.NewFD is nil")
	}
	if b.Setup != nil {
		b.Setup(t)
	}
	base := NewBase(t)
	fds := socketPair(t)
	bev, err := b.NewFD(base, fds[0], 0)
	if err != nil {
		t.Fatal(err)
	}
	defer bev.Close()
	if _, err := bev.Flush(bufferevent.Read, bufferevent.Finished); err != nil {
		t.Fatal(err)
	}
	var buf [8]byte
	syscall.SetNonblock(fds[1], true)
	if _, err := syscall.Read(fds[1], buf[:]); !errors.Is(err, syscall.EAGAIN) {
		t.Fatalf("after Flush(Read, Finished) the peer's read = %v, want EAGAIN (no EOF)", err)
	}
	for range 2 {
		if _, err := bev.Flush(bufferevent.Write, bufferevent.Finished); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := syscall.Read(fds[1], buf[:]); n != 0 || err != nil {
		t.Fatalf("after Flush(Write, Finished) the peer's read = %d, %v, want EOF", n, err)
	}
	var what bufferevent.Events
	var werr error
	bev.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, w bufferevent.Events, err error) {
		what, werr = w, err
	})
	bev.Enable(bufferevent.Write)
	bev.WriteString("late")
	base.Loop(0)
	if what != bufferevent.Writing|bufferevent.Error || !errors.Is(werr, syscall.EPIPE) {
		t.Fatalf("writing after the shutdown: event %v, %v; want Writing|Error with EPIPE", what, werr)
	}
}

// socketPair returns a connected pair of Unix stream sockets, both closed when the test
// ends (FinishedThenWrite's bufferevent does not own its end).
func socketPair(t *testing.T) [2]int {
	t.Helper()
	syscall.ForkLock.RLock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fds[0]); syscall.Close(fds[1]) })
	return fds
}

// FinishedOffLoop checks, on ThreadSafe bufferevents over one end of a Unix socket pair
// given to b.NewFD, that a half-close that becomes due off the loop is carried out on
// the loop: with Flush(Write, Finished) pending behind output, another goroutine
// empties the output inside WithLock; the peer must see no EOF until the loop runs
// (shutdown(SHUT_WR) on that goroutine would touch the descriptor the loop owns,
// against backend.ShutdownConn's contract), and EOF once it has. Then the same twenty
// times with the loop running on its own goroutine, for -race. Safe for concurrent use
// (each call has its own bases and socket pairs).
func FinishedOffLoop(t *testing.T, b Backend) {
	if b.NewFD == nil {
		t.Fatal("dialertest.FinishedOffLoop: Backend.NewFD is nil")
	}
	if b.Setup != nil {
		b.Setup(t)
	}
	// start returns a ThreadSafe bufferevent with a half-close pending behind output
	// that writing, disabled, keeps.
	start := func() (*eventbase.Base, *bufferevent.BufferEvent, int) {
		base := NewBase(t)
		fds := socketPair(t)
		if err := syscall.SetNonblock(fds[1], true); err != nil {
			t.Fatal(err)
		}
		bev, err := b.NewFD(base, fds[0], bufferevent.ThreadSafe)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { bev.Close() })
		bev.Disable(bufferevent.Write)
		bev.WriteString("never sent")
		bev.Flush(bufferevent.Write, bufferevent.Finished) // handed to the loop
		return base, bev, fds[1]
	}
	drain := func(bev *bufferevent.BufferEvent) {
		bev.WithLock(func(_, out *evbuffer.Buffer) {
			out.Unfreeze(true)
			out.Drain(out.Len())
			out.Freeze(true)
		})
	}
	var buf [16]byte

	base, bev, peer := start()
	if err := base.Loop(eventbase.LoopNonBlock); err != nil {
		t.Fatal(err)
	}
	drain(bev)
	if n, err := syscall.Read(peer, buf[:]); !errors.Is(err, syscall.EAGAIN) {
		t.Fatalf("before the loop ran, the peer read %d, %v; want EAGAIN (the shutdown belongs to the loop)", n, err)
	}
	if err := base.Loop(eventbase.LoopNonBlock); err != nil {
		t.Fatal(err)
	}
	if n, err := readWithin(peer, buf[:], 5*time.Second); n != 0 || err != nil {
		t.Fatalf("after the loop ran, the peer read %d, %v; want 0, nil (EOF)", n, err)
	}

	for range 20 {
		base, bev, peer := start()
		done := make(chan error, 1)
		go func() { done <- base.Loop(eventbase.LoopNoExitOnEmpty) }()
		drain(bev)
		n, err := readWithin(peer, buf[:], 5*time.Second)
		bev.Close()
		base.LoopBreak()
		if lerr := <-done; lerr != nil {
			t.Fatal(lerr)
		}
		if n != 0 || err != nil {
			t.Fatalf("with the loop running: the peer read %d, %v; want 0, nil (EOF)", n, err)
		}
	}
}

// readWithin reads the non-blocking descriptor fd, retrying for at most d while it has
// nothing to read (then it returns EAGAIN).
func readWithin(fd int, p []byte, d time.Duration) (int, error) {
	deadline := time.Now().Add(d)
	for {
		n, err := syscall.Read(fd, p)
		if !errors.Is(err, syscall.EAGAIN) || time.Now().After(deadline) {
			return n, err
		}
		time.Sleep(time.Millisecond)
	}
}
