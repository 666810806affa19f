package pair_test

import (
	"testing"

	"github.com/bufev/bufev/backends/pair"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/bevtest"
	"github.com/bufev/bufev/eventbase"
)

// TestConformance runs the bufferevent conformance suite on pairs.
func TestConformance(t *testing.T) {
	bevtest.Run(t, func(base *eventbase.Base, opts bufferevent.Options) (a, b *bufferevent.BufferEvent, caps bevtest.Caps, err error) {
		a, b, err = pair.New(base, opts)
		return a, b, bevtest.Caps{NoFD: true}, err
	})
}
