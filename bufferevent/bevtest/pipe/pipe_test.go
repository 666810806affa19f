package pipe_test

import (
	"errors"
	"testing"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/backend"
	"github.com/bufev/bufev/bufferevent/bevtest/pipe"
	"github.com/bufev/bufev/eventbase"
	"go.uber.org/goleak"
)

// The conformance suite itself runs over the pipe in package bevtest's
// tests (TestPipe).

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type other struct{}

func (other) Enable(bufferevent.Direction) error                               { return nil }
func (other) Disable(bufferevent.Direction) error                              { return nil }
func (other) Flush(bufferevent.Direction, bufferevent.FlushMode) (bool, error) { return false, nil }
func (other) AdjustTimeouts() error                                            { return nil }
func (other) Close() error                                                     { return nil }

// The type is registered once per test binary: Register panics on a second
// call, and a test run with -count=2 runs the test twice.
func init() {
	bufferevent.Register("pipe-test-other", func(*eventbase.Base, bufferevent.Options) (*bufferevent.BufferEvent, error) {
		return nil, errors.ErrUnsupported
	})
}

func TestPartnerAndBreakBadInput(t *testing.T) {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	o, err := bufferevent.New(base, bufferevent.Config{Type: "pipe-test-other"}, func(backend.Core) (backend.Ops, error) { return other{}, nil })
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if pipe.Partner(o) != nil || pipe.Partner(nil) != nil {
		t.Error("Partner of a non-pipe is not nil")
	}
	if err := pipe.Break(o); !errors.Is(err, pipe.ErrNotPipe) {
		t.Errorf("Break(non-pipe) = %v; want ErrNotPipe", err)
	}
	a, b, err := pipe.New(base, 0)
	if err != nil {
		t.Fatal(err)
	}
	if pipe.Partner(a) != b || pipe.Partner(b) != a {
		t.Error("Partner does not link the ends")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pipe.Break(a); !errors.Is(err, bufferevent.ErrClosed) {
		t.Errorf("Break(closed) = %v; want ErrClosed", err)
	}
	if pipe.Partner(b) != nil {
		t.Error("Partner of the survivor is not nil")
	}
	_ = b.Close()
	// Opening by name gives one end of a new pipe.
	c, err := bufferevent.Open(base, pipe.TypeName, 0)
	if err != nil {
		t.Fatal(err)
	}
	d := pipe.Partner(c)
	if d == nil {
		t.Fatal("Open(testpipe): no partner")
	}
	_ = c.Close()
	_ = d.Close()
	_ = base.Loop(eventbase.LoopNonBlock)
}
