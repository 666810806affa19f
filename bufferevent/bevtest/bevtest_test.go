package bevtest_test

import (
	"testing"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/bevtest"
	"github.com/bufev/bufev/bufferevent/bevtest/pipe"
	"github.com/bufev/bufev/eventbase"
	"go.uber.org/goleak"
)

// TestPipe runs the suite on the in-memory test pipe, a type written only
// against the public backend API.
func TestPipe(t *testing.T) {
	bevtest.Run(t, func(base *eventbase.Base, opts bufferevent.Options) (a, b *bufferevent.BufferEvent, caps bevtest.Caps, err error) {
		a, b, err = pipe.New(base, opts)
		return a, b, bevtest.Caps{NoFD: true, Break: pipe.Break}, err
	})
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
