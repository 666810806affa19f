package filter_test

import (
	"testing"

	"github.com/bufev/bufev/backends/filter"
	"github.com/bufev/bufev/backends/pair"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/bevtest"
	"github.com/bufev/bufev/bufferevent/bevtest/pipe"
	"github.com/bufev/bufev/eventbase"
)

// filteredPair builds a pair and puts a filter with the given Funcs over
// each end (CloseOnFree, so closing a filter closes its end).
func filteredPair(base *eventbase.Base, opts bufferevent.Options, in, out filter.Func) (a, b *bufferevent.BufferEvent, err error) {
	pa, pb, err := pair.New(base, opts)
	if err != nil {
		return nil, nil, err
	}
	a, err = filter.New(pa, in, out, opts|bufferevent.CloseOnFree)
	if err != nil {
		pa.Close()
		pb.Close()
		return nil, nil, err
	}
	b, err = filter.New(pb, in, out, opts|bufferevent.CloseOnFree)
	if err != nil {
		a.Close()
		pb.Close()
		return nil, nil, err
	}
	return a, b, nil
}

// TestConformanceOverPair runs the conformance suite on pass-through filters
// over a pair.
func TestConformanceOverPair(t *testing.T) {
	bevtest.Run(t, func(base *eventbase.Base, opts bufferevent.Options) (a, b *bufferevent.BufferEvent, caps bevtest.Caps, err error) {
		a, b, err = filteredPair(base, opts, nil, nil)
		return a, b, bevtest.Caps{NoFD: true}, err
	})
}

// TestConformanceStacked runs the suite on pass-through filters over
// pass-through filters over a pair.
func TestConformanceStacked(t *testing.T) {
	bevtest.Run(t, func(base *eventbase.Base, opts bufferevent.Options) (a, b *bufferevent.BufferEvent, caps bevtest.Caps, err error) {
		la, lb, err := filteredPair(base, opts, nil, nil)
		if err != nil {
			return nil, nil, bevtest.Caps{}, err
		}
		if a, err = filter.New(la, nil, nil, opts|bufferevent.CloseOnFree); err != nil {
			la.Close()
			lb.Close()
			return nil, nil, bevtest.Caps{}, err
		}
		if b, err = filter.New(lb, nil, nil, opts|bufferevent.CloseOnFree); err != nil {
			a.Close()
			lb.Close()
			return nil, nil, bevtest.Caps{}, err
		}
		return a, b, bevtest.Caps{NoFD: true}, nil
	})
}

// TestConformanceOverPipe runs the suite on pass-through filters over the
// core's test pipe (bufferevent/bevtest/pipe), whose transfers never run
// inside the call that caused them and whose Close delivers EOF, like a
// socket peer; Break on the underlying pipe end checks that the filter
// forwards its errors.
func TestConformanceOverPipe(t *testing.T) {
	bevtest.Run(t, func(base *eventbase.Base, opts bufferevent.Options) (a, b *bufferevent.BufferEvent, caps bevtest.Caps, err error) {
		pa, pb, err := pipe.New(base, opts)
		if err != nil {
			return nil, nil, caps, err
		}
		if a, err = filter.New(pa, nil, nil, opts|bufferevent.CloseOnFree); err != nil {
			pa.Close()
			pb.Close()
			return nil, nil, caps, err
		}
		if b, err = filter.New(pb, nil, nil, opts|bufferevent.CloseOnFree); err != nil {
			a.Close()
			pb.Close()
			return nil, nil, caps, err
		}
		brk := func(bev *bufferevent.BufferEvent) error { return pipe.Break(bev.Underlying()) }
		return a, b, bevtest.Caps{NoFD: true, Break: brk}, nil
	})
}
