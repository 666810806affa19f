package filter_test

import (
	"errors"
	"testing"
	"time"

	"github.com/bufev/bufev/backends/filter"
	"github.com/bufev/bufev/bufferevent"
)

var errCleanup = errors.New("cleanup failed")

// WithCleanup's function runs exactly once, when the filter is finalised:
// inside Close, or after the callback that closed it returns; with or
// without CloseOnFree, and while a CloseOnFree underlying still lingers to
// drain. libevent's free_context argument of bufferevent_filter_new.
func TestFilterCleanupOnce(t *testing.T) {
	cases := []struct {
		name    string
		opts    bufferevent.Options
		closeIn string // "outside", "read", "write", "event"
		linger  bool   // the partner does not read: the underlying's output lingers
	}{
		{"Close outside callbacks", bufferevent.CloseOnFree, "outside", false},
		{"Close outside callbacks, keep underlying", 0, "outside", false},
		{"Close in own read callback", bufferevent.CloseOnFree, "read", false},
		{"Close in own write callback", bufferevent.CloseOnFree, "write", false},
		{"Close in own event callback", bufferevent.CloseOnFree, "event", false},
		{"Close in own read callback, keep underlying", 0, "read", false},
		{"Close while the underlying lingers", bufferevent.CloseOnFree, "outside", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := newBase(t)
			p0, p1 := newPair(t, base, 0)
			defer p1.Close()
			if c.opts&bufferevent.CloseOnFree == 0 {
				defer p0.Close()
			}
			calls := 0
			f, err := filter.New(p0, nil, nil, c.opts, filter.WithCleanup(func() error {
				calls++
				return errCleanup
			}))
			must(t, err)
			inCallback := false
			closeHere := func(bev *bufferevent.BufferEvent) {
				inCallback = true
				if err := bev.Close(); err != nil {
					t.Errorf("Close inside a callback = %v; want nil (finalised later)", err)
				}
				if calls != 0 {
					t.Errorf("cleanup ran inside the callback that closed the filter")
				}
				base.LoopBreak()
			}
			var rcb, wcb bufferevent.ReadFunc
			var ecb bufferevent.EventFunc
			switch c.closeIn {
			case "read":
				rcb = closeHere
			case "write":
				wcb = closeHere
			case "event":
				ecb = func(bev *bufferevent.BufferEvent, _ bufferevent.Events, _ error) { closeHere(bev) }
			}
			must(t, f.SetCallbacks(rcb, wcb, ecb))
			must(t, f.Enable(bufferevent.ReadWrite))
			if !c.linger {
				must(t, p1.Enable(bufferevent.Read))
			}
			switch c.closeIn {
			case "read":
				_, err = p1.Write([]byte("to the filter"))
			case "event":
				_, err = p1.Flush(bufferevent.Write, bufferevent.Finished) // EOF
			default:
				_, err = f.Write([]byte("from the filter"))
			}
			must(t, err)
			if c.closeIn == "outside" {
				runFor(t, base, 20*time.Millisecond)
				if err := f.Close(); !errors.Is(err, errCleanup) {
					t.Errorf("Close = %v; want the cleanup's error", err)
				}
				if calls != 1 {
					t.Fatalf("cleanup ran %d times inside Close; want 1", calls)
				}
			} else {
				runFor(t, base, 2*time.Second)
				if !inCallback {
					t.Fatal("the closing callback did not run")
				}
			}
			runFor(t, base, 20*time.Millisecond)
			_ = f.Close()
			if calls != 1 {
				t.Fatalf("cleanup ran %d times; want 1", calls)
			}
			if c.opts&bufferevent.CloseOnFree == 0 {
				// The underlying is the user's again and works.
				if _, err := p0.Write([]byte("x")); err != nil {
					t.Errorf("underlying after the filter closed: %v", err)
				}
			}
		})
	}
}

// A failed New takes nothing, whatever opts says: the underlying is not
// closed and keeps its callbacks and enabled directions, and the cleanup
// function is not called.
func TestFilterNewFailureLeavesUnderlying(t *testing.T) {
	errInjected := errors.New("injected")
	cases := []struct {
		name   string
		opts   bufferevent.Options
		inject bool
		want   error
	}{
		{"invalid options", bufferevent.CloseOnFree | bufferevent.UnlockCallbacks, false, bufferevent.ErrInvalidOptions},
		{"taking the callbacks", 0, true, errInjected},
		{"taking the callbacks, CloseOnFree", bufferevent.CloseOnFree, true, errInjected},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.inject {
				t.Cleanup(filter.SetTestHook(func() error { return errInjected }))
			}
			base := newBase(t)
			p0, p1 := newPair(t, base, 0)
			defer p1.Close()
			defer p0.Close()
			var got []byte
			must(t, p0.SetCallbacks(func(bev *bufferevent.BufferEvent) {
				b := make([]byte, bev.Input().Len())
				n, _ := bev.Read(b)
				got = append(got, b[:n]...)
				base.LoopBreak()
			}, nil, nil))
			before := p0.Enabled()
			calls := 0
			f, err := filter.New(p0, nil, nil, c.opts, filter.WithCleanup(func() error { calls++; return nil }))
			if err == nil || f != nil {
				t.Fatalf("New = %v, %v; want an error", f, err)
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("New: %v; want %v", err, c.want)
			}
			if calls != 0 {
				t.Errorf("cleanup called %d times by a failed New", calls)
			}
			if e := p0.Enabled(); e != before {
				t.Errorf("underlying enabled %v; was %v", e, before)
			}
			must(t, p0.Enable(bufferevent.Read))
			must(t, p1.Enable(bufferevent.Write))
			_, err = p1.Write([]byte("still mine"))
			must(t, err)
			runFor(t, base, 2*time.Second)
			if string(got) != "still mine" {
				t.Errorf("underlying's own read callback got %q", got)
			}
		})
	}
}
