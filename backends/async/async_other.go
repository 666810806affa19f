//go:build !linux && !windows

package async

import (
	"context"
	"net"
	"runtime"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
)

// errPlatform says why: this platform has no completion backend (Linux has io_uring and
// Windows IOCP, in their own files).
var errPlatform = &platformError{}

type platformError struct{}

func (*platformError) Error() string {
	return "async: no completion-based I/O on " + runtime.GOOS + " yet: " + ErrUnsupported.Error()
}

func (*platformError) Unwrap() error { return ErrUnsupported }

// Available reports whether async bufferevents can be created here; on this platform
// never: the error matches errors.ErrUnsupported. Safe for concurrent use.
func Available() error { return errPlatform }

// New returns an error matching errors.ErrUnsupported on this platform. Safe for
// concurrent use.
func New(base *eventbase.Base, fd int, opts bufferevent.Options) (*bufferevent.BufferEvent, error) {
	return nil, errPlatform
}

// Connect returns an error matching errors.ErrUnsupported on this platform. Safe for
// concurrent use.
func Connect(bev *bufferevent.BufferEvent, addr net.Addr) error { return errPlatform }

// ConnectHostname returns an error matching errors.ErrUnsupported on this platform. Safe
// for concurrent use.
func ConnectHostname(ctx context.Context, bev *bufferevent.BufferEvent, network, host string, port int) error {
	return errPlatform
}

// DNSErr returns nil on this platform. Safe for concurrent use.
func DNSErr(bev *bufferevent.BufferEvent) error { return nil }

// Listener is the completion-based listener; it cannot be created on this platform.
// Its methods, which all fail or do nothing here, are safe for concurrent use.
type Listener struct{ _ [0]func() }

// Listen returns an error matching errors.ErrUnsupported on this platform. Safe for
// concurrent use.
func Listen(base *eventbase.Base, network, address string, cb AcceptFunc, opts ListenerOptions) (*Listener, error) {
	return nil, errPlatform
}

// NewListener returns an error matching errors.ErrUnsupported on this platform. Safe
// for concurrent use.
func NewListener(base *eventbase.Base, fd int, cb AcceptFunc, opts ListenerOptions) (*Listener, error) {
	return nil, errPlatform
}

// Enable returns an error matching errors.ErrUnsupported. Loop-confined.
func (l *Listener) Enable() error { return errPlatform }

// Disable returns an error matching errors.ErrUnsupported. Loop-confined.
func (l *Listener) Disable() error { return errPlatform }

// Enabled reports false. Loop-confined.
func (l *Listener) Enabled() bool { return false }

// SetCallback does nothing on this platform. Loop-confined.
func (l *Listener) SetCallback(cb AcceptFunc) {}

// SetErrorCallback does nothing on this platform. Loop-confined.
func (l *Listener) SetErrorCallback(cb ErrorFunc) {}

// FD returns -1. Safe for concurrent use.
func (l *Listener) FD() int { return -1 }

// Addr returns nil. Safe for concurrent use.
func (l *Listener) Addr() net.Addr { return nil }

// Base returns nil. Safe for concurrent use.
func (l *Listener) Base() *eventbase.Base { return nil }

// Close returns an error matching errors.ErrUnsupported. Loop-confined.
func (l *Listener) Close() error { return errPlatform }
