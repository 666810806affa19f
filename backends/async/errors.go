package async

import (
	"errors"
	"fmt"
	"net"

	"github.com/bufev/bufev/bufferevent/backend/dialer"
)

// Sentinel errors. Each is prefixed with the package name and matches with errors.Is
// through every wrapping layer. They are never modified: safe for concurrent use.
var (
	// ErrUnsupported is wrapped by every error that says completion-based I/O is not
	// available here: no io_uring in this kernel (too old, disabled by the
	// kernel.io_uring_disabled sysctl, blocked by seccomp), or a platform other than
	// Linux and Windows. It wraps errors.ErrUnsupported, so errors.Is(err, errors.ErrUnsupported)
	// holds.
	ErrUnsupported = fmt.Errorf("async: completion-based I/O unavailable: %w", errors.ErrUnsupported)

	// ErrNotAsync is returned when a function of this package receives a bufferevent of
	// another type (or nil).
	ErrNotAsync = errors.New("async: not an async bufferevent")

	// ErrNoAddress is returned by Connect when the bufferevent has no socket and no
	// address was given.
	ErrNoAddress = errors.New("async: no address to connect to")

	// ErrAddress is returned for an address this package cannot turn into a socket
	// address (an unknown network, a malformed host:port, a port outside 1..65535).
	ErrAddress = errors.New("async: unusable address")

	// ErrClosed is returned by methods of a closed Listener; it wraps net.ErrClosed.
	ErrClosed = fmt.Errorf("async: listener closed: %w", net.ErrClosed)
)

// DNSError is the error delivered to the event callback (with the Error event) when
// ConnectHostname cannot resolve the host. It wraps the resolver's error, usually a
// *net.DNSError, and context errors when the lookup was cancelled or timed out; its
// Timeout method reports a timed-out lookup. It is the type of package
// bufferevent/backend/dialer, shared by every backend that connects by host name. It is
// not modified after it is delivered: safe for concurrent use.
type DNSError = dialer.DNSError
