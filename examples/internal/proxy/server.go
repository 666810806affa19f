package proxy

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/bufev/bufev/backends/socket"
	"github.com/bufev/bufev/backends/ssl"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
	"github.com/bufev/bufev/filters/compress"
)

// Config describes a listening proxy: le-proxy, and each end of compress-tunnel. A plain
// value: safe for concurrent use once no goroutine writes it.
type Config struct {
	Listen, Connect string

	// TLS, when set, makes the outbound side a TLS client: a TLS filter over a socket
	// bufferevent, or a TLS socket bufferevent with TLSSocket (le-proxy's -W).
	TLS       *tls.Config
	TLSSocket bool

	// Codec ("zstd", "deflate" or "" for none) compresses one side: the outbound side
	// with CompressInbound false (the tunnel's client end), the inbound side with it
	// true (the tunnel's server end). Level is the encoder's level.
	Codec           string
	Level           int
	CompressInbound bool

	// Group, when set, is a rate-limit group (created on the same base) that every
	// inbound connection joins: the proxy reads from all its clients together at most at
	// the group's rate.
	Group *bufferevent.RateLimitGroup

	// Idle is Proxy.Idle: close a pair idle for that long (zero: never).
	Idle time.Duration

	// Log receives error lines; nil discards them.
	Log io.Writer
}

// CodecStats counts a compressing proxy's bytes on the compressed side. A plain value,
// copied out by Server.CodecStats: safe for concurrent use.
type CodecStats struct {
	Plain      int64 // bytes before compression and after decompression
	Compressed int64 // bytes on the wire
}

// Server is a running proxy. Loop-confined.
type Server struct {
	ln    *socket.Listener
	proxy Proxy
	open  map[*Side]struct{}
	codec CodecStats
}

// ErrCodec reports an unknown Config.Codec. Safe for concurrent use.
var ErrCodec = errors.New("proxy: unknown codec (want zstd or deflate)")

// Addr is the listening address. Loop-confined.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Stats returns the relay counters. Loop-confined.
func (s *Server) Stats() Stats { return s.proxy.Stats }

// CodecStats returns the compression counters of the connections closed so far.
// Loop-confined.
func (s *Server) CodecStats() CodecStats { return s.codec }

// Close stops listening and closes every connection. Loop-confined.
func (s *Server) Close() error {
	err := s.ln.Close()
	for side := range s.open {
		side.close()
	}
	clear(s.open)
	return err
}

// Start listens on cfg.Listen and proxies every connection to cfg.Connect on base.
// Loop-confined.
func Start(base *eventbase.Base, cfg Config) (*Server, error) {
	upstream, err := net.ResolveTCPAddr("tcp", cfg.Connect)
	if err != nil {
		return nil, fmt.Errorf("connect address: %w", err)
	}
	if cfg.Codec != "" {
		// Check the codec and level now rather than at the first connection.
		c, err := newCodec(cfg)
		if err != nil {
			return nil, err
		}
		c.Close()
	}
	s := &Server{open: make(map[*Side]struct{}), proxy: Proxy{Log: cfg.Log, Idle: cfg.Idle}}
	s.ln, err = socket.Listen(base, "tcp", cfg.Listen, func(_ *socket.Listener, fd int, _ net.Addr) {
		if err := s.accept(base, fd, upstream, cfg); err != nil && cfg.Log != nil {
			fmt.Fprintf(cfg.Log, "connection: %v\n", err)
		}
	}, socket.ListenerOptions{Flags: socket.ListenReuseAddr})
	if err != nil {
		return nil, err
	}
	return s, nil
}

const opts = bufferevent.CloseOnFree | bufferevent.DeferCallbacks

func (s *Server) accept(base *eventbase.Base, fd int, upstream *net.TCPAddr, cfg Config) error {
	in, err := socket.New(base, fd, opts)
	if err != nil {
		os.NewFile(uintptr(fd), "socket").Close()
		return err
	}
	out, err := dial(base, upstream, cfg)
	if err != nil {
		in.Close()
		return fmt.Errorf("outbound: %w", err)
	}
	if cfg.Group != nil {
		if err := in.JoinGroup(cfg.Group); err != nil {
			in.Close()
			out.Close()
			return err
		}
	}
	si, so := &Side{Bev: in}, &Side{Bev: out}
	if cfg.Codec != "" {
		target := so
		if cfg.CompressInbound {
			target = si
		}
		if err := s.compress(target, cfg); err != nil {
			in.Close()
			out.Close()
			return err
		}
	}
	for _, side := range []*Side{si, so} {
		next := side.OnClose
		side.OnClose = func() {
			delete(s.open, side)
			if next != nil {
				next()
			}
		}
		s.open[side] = struct{}{}
	}
	s.proxy.Link(si, so)
	return nil
}

// compress stacks a compression filter on side.
func (s *Server) compress(side *Side, cfg Config) error {
	codec, err := newCodec(cfg)
	if err != nil {
		return err
	}
	under := side.Bev
	// The filter hands compressed output down while the socket holds less than
	// MaxOutput, so the le-proxy backpressure sees the rest in the filter's output.
	_ = under.SetWatermark(bufferevent.Write, 0, MaxOutput)
	// The filter owns the codec: it closes it when it is finalised, and its
	// Error events wrap the codec's own error.
	fbev, err := codec.NewFilter(under, opts)
	if err != nil {
		codec.Close()
		return err
	}
	// What the peer sends is decompressed at most this far ahead of the relay: the
	// filter stops at its read high watermark, so a few KiB of a decompression bomb
	// cannot fill the input (it took up to the default maximum input, 16 MiB, in one
	// go, all of it then queued for the partner).
	_ = fbev.SetWatermark(bufferevent.Read, 0, decompressAhead)
	side.Bev = fbev
	side.Compressing = true
	side.OnClose = func() {
		ein, eout := codec.Encoder.Stats()
		din, dout := codec.Decoder.Stats()
		s.codec.Plain += ein + dout
		s.codec.Compressed += eout + din
	}
	return nil
}

// dial creates the outbound bufferevent and starts connecting it.
func dial(base *eventbase.Base, addr *net.TCPAddr, cfg Config) (*bufferevent.BufferEvent, error) {
	if cfg.TLS != nil && cfg.TLSSocket {
		bev, err := ssl.NewSocket(base, -1, cfg.TLS, ssl.Connecting, opts)
		if err != nil {
			return nil, err
		}
		if err := ssl.Connect(bev, addr); err != nil {
			bev.Close()
			return nil, err
		}
		return bev, nil
	}
	bev, err := socket.New(base, -1, opts)
	if err != nil {
		return nil, err
	}
	if err := socket.Connect(bev, addr); err != nil {
		bev.Close()
		return nil, err
	}
	if cfg.TLS == nil {
		return bev, nil
	}
	tbev, err := ssl.NewFilter(base, bev, cfg.TLS, ssl.Connecting, opts)
	if err != nil {
		bev.Close()
		return nil, err
	}
	return tbev, nil
}

// decompressAhead is the read high watermark of a compressing side: how much
// decompressed input it holds before the relay takes it.
const decompressAhead = 64 << 10

func newCodec(cfg Config) (*compress.Codec, error) {
	switch cfg.Codec {
	case "zstd":
		return compress.NewZstd(cfg.Level)
	case "deflate":
		return compress.NewDeflate(cfg.Level)
	}
	return nil, fmt.Errorf("%w: %q", ErrCodec, cfg.Codec)
}
