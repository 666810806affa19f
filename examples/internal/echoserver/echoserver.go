// Package echoserver is the echo service shared by the echo example and the demo: a
// listener whose connections send back what they receive, with watermark backpressure
// so that a client that sends faster than it reads cannot make the server buffer
// without bound.
package echoserver

import (
	"net"
	"os"

	"github.com/bufev/bufev/backends/socket"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
)

// Limits of the per-connection buffering.
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

// Server is a running echo listener. Loop-confined: create, use and close it on the
// loop goroutine of its base (or before the loop runs).
type Server struct {
	base  *eventbase.Base
	ln    *socket.Listener
	conns map[*bufferevent.BufferEvent]struct{}
	Stats Stats
}

// Listen starts an echo server on network/address ("tcp", "127.0.0.1:0") of base.
func Listen(base *eventbase.Base, network, address string) (*Server, error) {
	s := &Server{base: base, conns: make(map[*bufferevent.BufferEvent]struct{})}
	ln, err := socket.Listen(base, network, address, s.accept, socket.ListenerOptions{Flags: socket.ListenReuseAddr})
	if err != nil {
		return nil, err
	}
	s.ln = ln
	return s, nil
}

// Addr returns the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops accepting and closes every connection.
func (s *Server) Close() error {
	err := s.ln.Close()
	for bev := range s.conns {
		bev.Close()
	}
	clear(s.conns)
	s.Stats.Open = 0
	return err
}

func (s *Server) accept(_ *socket.Listener, fd int, _ net.Addr) {
	bev, err := socket.New(s.base, fd, bufferevent.CloseOnFree)
	if err != nil {
		os.NewFile(uintptr(fd), "socket").Close() // the descriptor is ours to close
		return
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
