package socket

import (
	"errors"
	"fmt"
	"net"

	"github.com/bufev/bufev/bufferevent/backend/dialer"
)

// Sentinel errors. Each is prefixed with the package name and matches with [errors.Is]
// through every wrapping layer. They are never modified: safe for concurrent use.
var (
	// ErrClosed is returned by methods of a closed [Listener]; it wraps net.ErrClosed, so
	// errors.Is(err, net.ErrClosed) also holds.
	ErrClosed = fmt.Errorf("socket: listener closed: %w", net.ErrClosed)

	// ErrNilBase is returned by Listen and NewListener without a base.
	ErrNilBase = errors.New("socket: nil base")

	// ErrNoAddress is returned by Connect when the bufferevent has no socket and no address
	// was given.
	ErrNoAddress = errors.New("socket: no address to connect to")

	// ErrAddress is returned for an address this package cannot turn into a socket address
	// (an unknown network, a malformed host:port, a port outside 1..65535).
	ErrAddress = errors.New("socket: unusable address")

	// ErrOption is returned by Listen for a combination of options the address family
	// cannot honour (SO_REUSEADDR or SO_REUSEPORT on a Unix socket, IPv6-only on an IPv4
	// socket, IPv6-only together with dual stack).
	ErrOption = errors.New("socket: option not valid for this socket")

	// ErrUnsupported is returned on platforms where this package has no socket
	// implementation (Windows and non-BSD, non-Linux Unix systems); it wraps
	// errors.ErrUnsupported.
	ErrUnsupported = fmt.Errorf("socket: not supported on this platform: %w", errors.ErrUnsupported)

	// ErrNotStream is returned when an adopted descriptor is not a stream socket.
	ErrNotStream = errors.New("socket: descriptor is not a stream socket")

	// ErrNoSocket is returned by SetNoDelay for a bufferevent that has no socket yet.
	ErrNoSocket = errors.New("socket: bufferevent has no socket")

	// ErrNotSocket is returned when an operation that needs a socket bufferevent of this
	// package receives another kind.
	ErrNotSocket = errors.New("socket: not a socket bufferevent")
)

// DNSError is the error delivered to the event callback (with the Error event) when
// [ConnectHostname] cannot resolve the host. It wraps the resolver's error, usually a
// *net.DNSError, and context errors when the lookup was cancelled or timed out; its
// Timeout method reports a timed-out lookup. It is the type of package
// bufferevent/backend/dialer, shared by every backend that connects by host name. It is
// not modified after delivery: its methods are safe for concurrent use.
type DNSError = dialer.DNSError
