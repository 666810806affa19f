package async

import (
	"errors"
	"fmt"
	"net"
)

// Sentinel errors. Each is prefixed with the package name and matches with errors.Is
// through every wrapping layer. They are never modified: safe for concurrent use.
var (
	// ErrUnsupported is wrapped by every error that says completion-based I/O is not
	// available here: no io_uring in this kernel (too old, disabled by the
	// kernel.io_uring_disabled sysctl, blocked by seccomp), or a platform other than
	// Linux. It wraps errors.ErrUnsupported, so errors.Is(err, errors.ErrUnsupported)
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
// ConnectHostname cannot resolve the host. It wraps the resolver's error. It is not
// modified after it is delivered: safe for concurrent use.
type DNSError struct {
	Host string // the host name as given to ConnectHostname
	Err  error  // the resolver's error
}

// Error describes the failed lookup. Safe for concurrent use.
func (e *DNSError) Error() string { return "async: resolving " + e.Host + ": " + e.Err.Error() }

// Unwrap returns the resolver's error. Safe for concurrent use.
func (e *DNSError) Unwrap() error { return e.Err }
