package echoserver

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/bufev/bufev/backends/async"
	"github.com/bufev/bufev/backends/socket"
	"github.com/bufev/bufev/backends/ssl"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
)

// Limits of the per-connection buffering (constants, safe for concurrent use).
const (
	// ReadHigh is the input's high watermark: reading stops while this much is buffered.
	ReadHigh = 64 << 10
	// OutputHigh pauses reading from a client while this much echo is queued for it;
	// reading resumes once the output drained to OutputLow (libevent's le-proxy sample).
	OutputHigh = 1 << 20
	OutputLow  = 512 << 10
)

// Stats counts the server's activity. Loop-confined.
type Stats struct {
	Accepted int   // connections accepted
	Open     int   // connections open now
	Bytes    int64 // bytes echoed
	Paused   int   // times a connection was paused by backpressure
}

// Options selects how connections are served. A plain value: safe for concurrent use
// once no goroutine writes it.
type Options struct {
	// Backend is "socket" (readiness-based, the default) or "async" (io_uring
	// completions, package backends/async).
	Backend string
	// TLS, when set, makes every connection a TLS server (package backends/ssl): a TLS
	// filter over the connection's socket or async bufferevent.
	TLS *tls.Config
	// ReusePort binds with SO_REUSEPORT so that several servers, one per loop, share
	// the port and the kernel spreads connections among them.
	ReusePort bool
}

// ErrBackend reports an unknown Options.Backend. Safe for concurrent use.
var ErrBackend = errors.New("echoserver: unknown backend (want socket or async)")

// Server is a running echo listener. Loop-confined: create, use and close it on the
// loop goroutine of its base (or before the loop runs).
type Server struct {
	base  *eventbase.Base
	opts  Options
	ln    *socket.Listener
	conns map[*bufferevent.BufferEvent]struct{}
	Stats Stats
}

// Listen starts an echo server on network/address ("tcp", "127.0.0.1:0") of base.
// Loop-confined: call it on base's loop goroutine or before the loop runs.
func Listen(base *eventbase.Base, network, address string) (*Server, error) {
	return ListenOptions(base, network, address, Options{})
}

// ListenOptions starts an echo server with the given options. With Backend "async"
// it fails (matching errors.ErrUnsupported) where io_uring is unavailable. Loop-confined:
// call it on base's loop goroutine or before the loop runs.
func ListenOptions(base *eventbase.Base, network, address string, o Options) (*Server, error) {
	switch o.Backend {
	case "", "socket":
		o.Backend = "socket"
	case "async":
		if err := async.Available(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: %q", ErrBackend, o.Backend)
	}
	s := &Server{base: base, opts: o, conns: make(map[*bufferevent.BufferEvent]struct{})}
	flags := socket.ListenReuseAddr
	if o.ReusePort {
		flags |= socket.ListenReusePort
	}
	ln, err := socket.Listen(base, network, address, s.accept, socket.ListenerOptions{Flags: flags})
	if err != nil {
		return nil, err
	}
	s.ln = ln
	return s, nil
}

// Addr returns the bound address. Loop-confined.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops accepting and closes every connection. Loop-confined.
func (s *Server) Close() error {
	err := s.ln.Close()
	for bev := range s.conns {
		bev.Close()
	}
	clear(s.conns)
	s.Stats.Open = 0
	return err
}

// newConn wraps an accepted descriptor in the configured bufferevent type; when it
// fails, the descriptor is closed exactly once. TLS is layered (ssl.NewFilter) over a
// transport bufferevent that, once created, owns the descriptor, which keeps the
// ownership plain on every failure path.
func (s *Server) newConn(fd int) (*bufferevent.BufferEvent, error) {
	opts := bufferevent.CloseOnFree
	var bev *bufferevent.BufferEvent
	var err error
	if s.opts.Backend == "socket" {
		bev, err = socket.New(s.base, fd, opts)
	} else {
		bev, err = async.New(s.base, fd, opts)
	}
	if err != nil {
		os.NewFile(uintptr(fd), "socket").Close() // still ours
		return nil, err
	}
	if s.opts.TLS == nil {
		return bev, nil
	}
	// A full 16 KiB record then arrives in one read.
	_ = bev.SetMaxSingleRead(64 << 10)
	tbev, err := ssl.NewFilter(s.base, bev, s.opts.TLS, ssl.Accepting, opts)
	if err != nil {
		bev.Close() // closes the descriptor
		return nil, err
	}
	return tbev, nil
}

func (s *Server) accept(_ *socket.Listener, fd int, _ net.Addr) {
	bev, err := s.newConn(fd)
	if err != nil {
		return // newConn closed the descriptor
	}
	s.conns[bev] = struct{}{}
	s.Stats.Accepted++
	s.Stats.Open++
	_ = bev.SetWatermark(bufferevent.Read, 0, ReadHigh)
	_ = bev.SetCallbacks(s.echo, nil, s.event)
	_ = bev.Enable(bufferevent.Read | bufferevent.Write)
}

// echo moves the input to the output (chains are spliced, not copied) and pauses
// reading when the client does not read its echo fast enough.
func (s *Server) echo(bev *bufferevent.BufferEvent) {
	in, out := bev.Input(), bev.Output()
	s.Stats.Bytes += int64(in.Len())
	_ = out.AddBuffer(in)
	if out.Len() >= OutputHigh {
		s.Stats.Paused++
		_ = bev.Disable(bufferevent.Read)
		_ = bev.SetWatermark(bufferevent.Write, OutputLow, 0)
		_ = bev.SetCallbacks(s.echo, s.drained, s.event)
	}
}

// drained resumes reading once the queued echo fell to the low watermark.
func (s *Server) drained(bev *bufferevent.BufferEvent) {
	_ = bev.SetWatermark(bufferevent.Write, 0, 0)
	_ = bev.SetCallbacks(s.echo, nil, s.event)
	_ = bev.Enable(bufferevent.Read)
}

// event closes the connection on EOF or error.
func (s *Server) event(bev *bufferevent.BufferEvent, what bufferevent.Events, _ error) {
	if what&(bufferevent.EOF|bufferevent.Error|bufferevent.Timeout) == 0 {
		return
	}
	delete(s.conns, bev)
	s.Stats.Open--
	bev.Close()
}
