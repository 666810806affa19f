//go:build unix

package dialertest

import (
	"errors"
	"syscall"
	"testing"

	"github.com/bufev/bufev/bufferevent"
)

// FinishedThenWrite checks, on one end of a Unix socket pair given to b.NewFD, that output
// added after the write side was shut down fails with an Error event for writing
// (EPIPE), not silently; a second Finished is harmless; Flush(Read, Finished) shuts
// nothing down. Safe for concurrent use.
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
