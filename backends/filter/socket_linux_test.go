//go:build linux

package filter_test

import (
	"bytes"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/bufev/bufev/backends/filter"
	"github.com/bufev/bufev/backends/socket"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/bevtest"
	"github.com/bufev/bufev/eventbase"
)

// socketPair builds two socket bufferevents over an AF_UNIX socketpair,
// owning their descriptors.
func socketPair(base *eventbase.Base, opts bufferevent.Options) (a, b *bufferevent.BufferEvent, err error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	if a, err = socket.New(base, fds[0], opts|bufferevent.CloseOnFree); err != nil {
		syscall.Close(fds[0])
		syscall.Close(fds[1])
		return nil, nil, err
	}
	if b, err = socket.New(base, fds[1], opts|bufferevent.CloseOnFree); err != nil {
		a.Close()
		syscall.Close(fds[1])
		return nil, nil, err
	}
	return a, b, nil
}

// TestConformanceOverSocket runs the suite on pass-through filters over
// socket bufferevents. Finished reaches the socket, which shuts its write
// side down, so the peer gets EOF; FD is the socket's. The sockets keep the default
// 16 KiB single read: the Watermarks check accepts batches cut anywhere.
func TestConformanceOverSocket(t *testing.T) {
	bevtest.Run(t, func(base *eventbase.Base, opts bufferevent.Options) (a, b *bufferevent.BufferEvent, caps bevtest.Caps, err error) {
		sa, sb, err := socketPair(base, opts)
		if err != nil {
			return nil, nil, caps, err
		}
		if a, err = filter.New(sa, nil, nil, opts|bufferevent.CloseOnFree); err != nil {
			sa.Close()
			sb.Close()
			return nil, nil, caps, err
		}
		if b, err = filter.New(sb, nil, nil, opts|bufferevent.CloseOnFree); err != nil {
			a.Close()
			sb.Close()
			return nil, nil, caps, err
		}
		return a, b, bevtest.Caps{}, nil
	})
}

// Mirrors libevent test/regress_bufferevent.c "bufferevent_filters" and
// "bufferevent_filters_disable" (filtersScenario over sockets); FD
// delegates to the socket.
func TestSocketFilters(t *testing.T) {
	for _, disable := range []bool{false, true} {
		t.Run(filtersCaseName("", disable), func(t *testing.T) {
			base := newBase(t)
			s0, s1, err := socketPair(base, 0)
			must(t, err)
			filtersScenario(t, base, s0, s1, disable, 200*time.Millisecond, func(bev1, bev2 *bufferevent.BufferEvent) {
				for _, p := range [][2]*bufferevent.BufferEvent{{bev1, s0}, {bev2, s1}} {
					fd, err := p[0].FD()
					sfd, _ := p[1].FD()
					if err != nil || fd != sfd || fd < 0 {
						t.Errorf("filter FD = %d, %v; want the socket's %d", fd, err, sfd)
					}
				}
			})
		})
	}
}

// Mirrors libevent test/regress_bufferevent.c
// "bufferevent_socket_filter_inactive": a filter over a socket bufferevent
// without a descriptor is created and freed, in both orders, without
// trouble.
func TestSocketFilterInactive(t *testing.T) {
	base := newBase(t)
	for _, filterFirst := range []bool{true, false} {
		s, err := socket.New(base, -1, 0)
		must(t, err)
		f := newFilter(t, s, nil, nil, 0)
		if fd, err := f.FD(); fd != -1 || err != nil {
			t.Errorf("FD of a filter over an fd-less socket = %d, %v; want -1, nil", fd, err)
		}
		if filterFirst {
			must(t, f.Close())
			must(t, s.Close())
		} else {
			must(t, s.Close())
			must(t, f.Close())
		}
		must(t, base.Loop(eventbase.LoopNonBlock))
	}
}

// Mirrors libevent test/regress_bufferevent.c "bufferevent_timeout_filter":
// timeoutScenario over pass-through filters over sockets.
func TestSocketFilterTimeout(t *testing.T) {
	base := newBase(t)
	s0, s1, err := socketPair(base, 0)
	must(t, err)
	timeoutScenario(t, base, newFilter(t, s0, nil, nil, bufferevent.CloseOnFree), newFilter(t, s1, nil, nil, bufferevent.CloseOnFree))
}

// Closing a filter with CloseOnFree right after writing does not discard
// what it already passed to the socket: the socket lingers until its output
// drained, then closes, and the peer reads everything passed down and then
// EOF. (libevent frees the underlying at once and loses that output.) Only
// the filter's own unfiltered output is discarded, as Close documents;
// Flush(Write, Flush) first passes it all down (it ignores watermarks).
func TestSocketFilterCloseLingers(t *testing.T) {
	for _, flush := range []bool{false, true} {
		t.Run(fmt.Sprintf("flush=%v", flush), func(t *testing.T) {
			base := newBase(t)
			s0, s1, err := socketPair(base, 0)
			must(t, err)
			defer s1.Close()
			f := newFilter(t, s0, nil, nil, bufferevent.CloseOnFree)
			data := pattern(1 << 20)
			var got bytes.Buffer
			var what bufferevent.Events
			must(t, s1.SetCallbacks(func(bev *bufferevent.BufferEvent) {
				_, _ = got.ReadFrom(bev.Input())
			}, nil, func(_ *bufferevent.BufferEvent, w bufferevent.Events, _ error) {
				what = w
				base.LoopBreak()
			}))
			must(t, s1.Enable(bufferevent.Read))
			passed := 0
			must(t, base.RunInLoop(func() {
				_, _ = f.Write(data)
				if flush {
					_, err := f.Flush(bufferevent.Write, bufferevent.Flush)
					must(t, err)
				}
				if n := s0.Output().Len(); n == 0 {
					t.Error("the socket took everything at once; the test needs output left waiting")
				}
				passed = len(data) - f.Output().Len()
				if flush && passed != len(data) {
					t.Errorf("Flush passed %d of %d bytes down", passed, len(data))
				}
				must(t, f.Close())
			}))
			runFor(t, base, 5*time.Second)
			if passed == 0 || !bytes.Equal(got.Bytes(), data[:passed]) || what&bufferevent.EOF == 0 {
				t.Errorf("peer got %d of the %d bytes passed down, then %v; want all, then EOF", got.Len(), passed, what)
			}
			if _, err := s0.Write([]byte("x")); err == nil {
				t.Error("underlying still open after lingering")
			}
		})
	}
}

// A filter closed with CloseOnFree lingers until its socket sent what was passed down,
// even when the peer half-closes meanwhile: the peer's EOF (it shut its write side
// down, it still reads) must not end the linger and cut the output, as an error does.
// Before, any event of the socket ended the linger, EOF included, and the socket kept
// reading while it lingered: the peer got what the kernel held at the EOF, then EOF.
func TestSocketFilterLingerPeerHalfCloses(t *testing.T) {
	base := newBase(t)
	s0, s1, err := socketPair(base, 0)
	must(t, err)
	defer s1.Close()
	f := newFilter(t, s0, nil, nil, bufferevent.CloseOnFree)
	must(t, f.Enable(bufferevent.ReadWrite))
	data := pattern(4 << 20)
	var got bytes.Buffer
	var what bufferevent.Events
	must(t, s1.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		_, _ = got.ReadFrom(bev.Input())
	}, nil, func(_ *bufferevent.BufferEvent, w bufferevent.Events, _ error) {
		what = w
		base.LoopBreak()
	}))
	must(t, s1.Enable(bufferevent.Read))
	passed := 0
	must(t, base.RunInLoop(func() {
		_, _ = f.Write(data)
		_, err := f.Flush(bufferevent.Write, bufferevent.Flush)
		must(t, err)
		if n := s0.Output().Len(); n == 0 {
			t.Error("the socket took everything at once; the test needs output left waiting")
		}
		passed = len(data) - f.Output().Len()
		must(t, f.Close())
		// The peer half-closes: shutdown(SHUT_WR) now (its output is empty).
		_, err = s1.Flush(bufferevent.Write, bufferevent.Finished)
		must(t, err)
	}))
	runFor(t, base, 5*time.Second)
	if passed != len(data) || !bytes.Equal(got.Bytes(), data) || what&bufferevent.EOF == 0 {
		t.Errorf("peer got %d of the %d bytes passed down, then %v; want all, then EOF", got.Len(), passed, what)
	}
}

// Closing the base while a filter's socket lingers closes the socket: the user
// closed the filter with CloseOnFree and owns the descriptor no more, so nobody else
// can. Before, the base's Close deleted the linger's events and timer and the
// descriptor stayed open for good.
func TestSocketFilterLingerBaseClose(t *testing.T) {
	base := newBase(t)
	s0, s1, err := socketPair(base, 0)
	must(t, err)
	defer s1.Close()
	fd, err := s0.FD()
	must(t, err)
	f := newFilter(t, s0, nil, nil, bufferevent.CloseOnFree)
	_, _ = f.Write(pattern(4 << 20))
	_, err = f.Flush(bufferevent.Write, bufferevent.Flush)
	must(t, err)
	if s0.Output().Len() == 0 {
		t.Fatal("the socket took everything at once; the test needs output left waiting")
	}
	must(t, f.Close()) // lingers: the peer does not read
	must(t, base.Close())
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != syscall.EBADF {
		t.Errorf("the lingering socket's descriptor is still open after the base's Close (fstat: %v)", err)
	}
}
