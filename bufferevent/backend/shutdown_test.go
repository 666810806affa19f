package backend_test

import (
	"errors"
	"testing"

	"github.com/bufev/bufev/bufferevent/backend"
	"github.com/bufev/bufev/evbuffer"
)

// shutCore is the part of backend.Core a WriteShutdown uses, with the loop simulated:
// onLoop says whether the caller is loop code, and RunInLoop queues functions that
// runQueued later runs as the loop would.
type shutCore struct {
	backend.Core // unused methods panic (nil)
	out          *evbuffer.Buffer
	onLoop       bool
	queued       []func()
	disabled     backend.Direction
	events       []backend.Events
}

func (c *shutCore) Output() *evbuffer.Buffer          { return c.out }
func (c *shutCore) OnLoop() bool                      { return c.onLoop }
func (c *shutCore) RunInLoop(fn func())               { c.queued = append(c.queued, fn) }
func (c *shutCore) DisableUser(dir backend.Direction) { c.disabled |= dir }
func (c *shutCore) TriggerEvent(what backend.Events, _ error, _ backend.TriggerOptions) {
	c.events = append(c.events, what)
}

// runQueued runs the queued functions on the simulated loop.
func (c *shutCore) runQueued() {
	was := c.onLoop
	c.onLoop = true
	fns := c.queued
	c.queued = nil
	for _, fn := range fns {
		fn()
	}
	c.onLoop = was
}

// shutConn counts the shutdowns and records whether each ran as loop code.
type shutConn struct {
	core    *shutCore
	ready   bool
	err     error
	calls   int
	offLoop int
}

func (s *shutConn) ShutdownReady() bool { return s.ready }
func (s *shutConn) ShutdownWrite() error {
	s.calls++
	if !s.core.onLoop {
		s.offLoop++
	}
	return s.err
}

// A pending shutdown whose output is emptied off the loop (a ThreadSafe bufferevent's
// output changed on another goroutine runs the output callback there) is handed to the
// loop: ShutdownWrite never runs off the loop, as ShutdownConn's contract says. Before,
// the output callback called it on the goroutine that emptied the output.
func TestWriteShutdownOffLoopDrain(t *testing.T) {
	tests := []struct {
		name      string
		between   func(c *shutCore, s *shutConn, w *backend.WriteShutdown) // after the drain, before the loop runs
		wantCalls int
		wantEvent bool
	}{
		{name: "shut down on the loop", wantCalls: 1},
		{name: "failure reported on the loop", between: func(_ *shutCore, s *shutConn, _ *backend.WriteShutdown) {
			s.err = errors.New("shutdown failed")
		}, wantCalls: 1, wantEvent: true},
		{name: "reset before the loop runs", between: func(_ *shutCore, _ *shutConn, w *backend.WriteShutdown) {
			w.Reset()
		}},
		{name: "output refilled before the loop runs", between: func(c *shutCore, _ *shutConn, _ *backend.WriteShutdown) {
			_ = c.out.AddString("more")
		}},
		{name: "connection failed before the loop runs", between: func(_ *shutCore, s *shutConn, _ *backend.WriteShutdown) {
			s.ready = false
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &shutCore{out: evbuffer.New(), onLoop: true}
			s := &shutConn{core: c, ready: true}
			w := backend.NewWriteShutdown(c, s)
			if err := c.out.AddString("pending"); err != nil {
				t.Fatal(err)
			}
			if err := w.Finish(); err != nil {
				t.Fatalf("Finish with output pending = %v, want nil", err)
			}
			if s.calls != 0 {
				t.Fatalf("Finish with output pending shut down at once (%d calls)", s.calls)
			}
			c.onLoop = false // another goroutine empties the output
			if err := c.out.Drain(c.out.Len()); err != nil {
				t.Fatal(err)
			}
			// A second change off the loop queues nothing more.
			_ = c.out.AddString("x")
			_ = c.out.Drain(1)
			if s.calls != 0 {
				t.Fatalf("ShutdownWrite ran off the loop (%d calls); want it handed to the loop", s.calls)
			}
			if len(c.queued) != 1 {
				t.Fatalf("%d functions queued for the loop, want 1", len(c.queued))
			}
			if tt.between != nil {
				tt.between(c, s, w)
			}
			c.runQueued()
			if s.calls != tt.wantCalls || s.offLoop != 0 {
				t.Fatalf("after the loop ran: %d shutdowns (%d off the loop), want %d (0)", s.calls, s.offLoop, tt.wantCalls)
			}
			if w.Done() != (tt.wantCalls == 1) {
				t.Fatalf("Done() = %v, want %v", w.Done(), tt.wantCalls == 1)
			}
			if tt.wantEvent != (len(c.events) == 1 && c.events[0] == backend.Writing|backend.Error && c.disabled == backend.Write) {
				t.Fatalf("events %v, disabled %v; want a Writing|Error event and Write disabled: %v", c.events, c.disabled, tt.wantEvent)
			}
			if tt.name == "output refilled before the loop runs" {
				// The output callback still watches: once the loop sends the rest, the
				// shutdown happens there.
				c.onLoop = true
				_ = c.out.Drain(c.out.Len())
				if s.calls != 1 || !w.Done() {
					t.Fatalf("after the refilled output was sent on the loop: %d shutdowns, Done %v; want 1, true", s.calls, w.Done())
				}
			}
		})
	}
}

// AfterConnect off the loop (a connect completion is loop code, but a user-defined
// backend might call it from its own callback) is handed over the same way.
func TestWriteShutdownAfterConnectOffLoop(t *testing.T) {
	c := &shutCore{out: evbuffer.New(), onLoop: true}
	s := &shutConn{core: c}
	w := backend.NewWriteShutdown(c, s)
	if err := w.Finish(); err != nil { // connecting: not ready
		t.Fatal(err)
	}
	s.ready = true
	c.onLoop = false
	w.AfterConnect()
	if s.calls != 0 || len(c.queued) != 1 {
		t.Fatalf("AfterConnect off the loop: %d shutdowns, %d queued; want 0, 1", s.calls, len(c.queued))
	}
	c.runQueued()
	if s.calls != 1 || s.offLoop != 0 || !w.Done() {
		t.Fatalf("after the loop ran: %d shutdowns (%d off the loop), Done %v; want 1 (0), true", s.calls, s.offLoop, w.Done())
	}
}
