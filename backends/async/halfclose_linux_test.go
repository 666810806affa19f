//go:build linux

package async

import (
	"testing"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/backend/dialer/dialertest"
	"github.com/bufev/bufev/eventbase"
)

// dialBackend describes async bufferevents to dialertest's connect and half-close
// scenarios, the ones the socket backend runs too.
var dialBackend = dialertest.Backend{
	New: func(base *eventbase.Base, opts bufferevent.Options) (*bufferevent.BufferEvent, error) {
		return New(base, -1, opts)
	},
	Connect: Connect,
	NewFD:   New,
}

// Flush(Write, Finished) on an async bufferevent sends what the output holds (the
// shutdown waits for the direct send and the send operations that drain it), then shuts
// the write side down, whether the output is large, empty or written before the connect
// completed (dialertest.FinishedHalfClose).
func TestFinishedHalfClose(t *testing.T) { dialertest.FinishedHalfClose(t, dialBackend) }

// Output added after the shutdown fails with Writing|Error (EPIPE); a second Finished is
// harmless; Flush(Read, Finished) shuts nothing down (dialertest.FinishedThenWrite).
func TestFinishedThenWrite(t *testing.T) { dialertest.FinishedThenWrite(t, dialBackend) }

// A half-close of a ThreadSafe bufferevent that becomes due on another goroutine (its
// output emptied inside WithLock) is carried out on the loop (dialertest.FinishedOffLoop).
func TestFinishedOffLoop(t *testing.T) { dialertest.FinishedOffLoop(t, dialBackend) }

// SetFD closes the socket a connect created (it belongs to the bufferevent) and leaves a
// descriptor the caller handed over open (dialertest.SetFDClosesOwnSocket).
func TestSetFDClosesOwnSocket(t *testing.T) { dialertest.SetFDClosesOwnSocket(t, dialBackend) }
