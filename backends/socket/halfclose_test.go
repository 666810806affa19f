//go:build linux

package socket

import (
	"errors"
	"syscall"
	"testing"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/backend/dialer/dialertest"
	"github.com/bufev/bufev/eventbase"
)

// dialBackend describes socket bufferevents to dialertest's connect and half-close
// scenarios.
var dialBackend = dialertest.Backend{
	New: func(base *eventbase.Base, opts bufferevent.Options) (*bufferevent.BufferEvent, error) {
		return New(base, -1, opts)
	},
	Connect: Connect,
	NewFD:   New,
}

// Flush(Write, Finished) on a socket bufferevent sends what the output holds, then shuts
// the write side down (shutdown(SHUT_WR)), whether the output is large, empty or written
// before the connect completed (dialertest.FinishedHalfClose).
func TestSocketFinishedHalfClose(t *testing.T) { dialertest.FinishedHalfClose(t, dialBackend) }

// Output added after the shutdown fails with Writing|Error (EPIPE); a second Finished is
// harmless; Flush(Read, Finished) shuts nothing down (dialertest.FinishedThenWrite).
func TestSocketFinishedThenWrite(t *testing.T) { dialertest.FinishedThenWrite(t, dialBackend) }

// On a descriptor that is not a socket (a pipe) the shutdown fails: Flush reports it when
// the output is empty, and once the output drained the event callback gets Writing|Error
// with ENOTSOCK; nothing panics and the bufferevent still closes cleanly.
func TestSocketFinishedNotASocket(t *testing.T) {
	for _, pending := range []bool{false, true} {
		base := newBase(t)
		var p [2]int
		if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { syscall.Close(p[0]); syscall.Close(p[1]) })
		bev, err := New(base, p[1], 0)
		if err != nil {
			t.Fatal(err)
		}
		var what bufferevent.Events
		var gotErr error
		bev.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, w bufferevent.Events, err error) {
			what, gotErr = w, err
		})
		bev.Enable(bufferevent.Write)
		if pending {
			bev.Disable(bufferevent.Write) // keep the output until the loop runs
			bev.WriteString("data")
		}
		_, err = bev.Flush(bufferevent.Write, bufferevent.Finished)
		if !pending {
			if !errors.Is(err, syscall.ENOTSOCK) {
				t.Fatalf("Flush(Write, Finished) on a pipe = %v, want ENOTSOCK", err)
			}
			bev.Close()
			continue
		}
		if err != nil {
			t.Fatalf("Flush(Write, Finished) with output pending = %v, want nil (the shutdown comes later)", err)
		}
		bev.Enable(bufferevent.Write)
		base.Loop(0)
		if what != bufferevent.Writing|bufferevent.Error || !errors.Is(gotErr, syscall.ENOTSOCK) {
			t.Fatalf("after the output drained: event %v, %v; want Writing|Error with ENOTSOCK", what, gotErr)
		}
		var buf [8]byte
		if n, _ := syscall.Read(p[0], buf[:]); string(buf[:n]) != "data" {
			t.Fatalf("the pipe got %q, want the output sent before the shutdown", buf[:n])
		}
		bev.Close()
	}
}

// A half-close of a ThreadSafe bufferevent that becomes due on another goroutine (its
// output emptied inside WithLock) is carried out on the loop (dialertest.FinishedOffLoop).
func TestSocketFinishedOffLoop(t *testing.T) { dialertest.FinishedOffLoop(t, dialBackend) }

// SetFD closes the socket a connect created (it belongs to the bufferevent) and leaves a
// descriptor the caller handed over open (dialertest.SetFDClosesOwnSocket).
func TestSocketSetFDClosesOwnSocket(t *testing.T) { dialertest.SetFDClosesOwnSocket(t, dialBackend) }
