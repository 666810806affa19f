package bufferevent

import (
	"errors"
	"net"
)

// Errors returned by this package. They are sentinels: compare with
// errors.Is.
// Sentinel values, never modified: safe for concurrent use.
var (
	// ErrClosed is returned by methods called after Close. It matches
	// net.ErrClosed.
	ErrClosed error = closedError{}
	// ErrNilBase is returned by New and Open without a base.
	ErrNilBase = errors.New("bufferevent: nil base")
	// ErrNilBuild is returned by New without a build function, or when the
	// build function returns nil Ops and no error.
	ErrNilBuild = errors.New("bufferevent: nil backend")
	// ErrUnknownType is returned (wrapped, with the name and a
	// "forgotten import?" hint) for a type name nobody registered.
	ErrUnknownType = errors.New("bufferevent: unknown type")
	// ErrNotZero is returned by Init for a nil BufferEvent or one that was
	// already built.
	ErrNotZero = errors.New("bufferevent: Init needs a new zero BufferEvent")
	// ErrInvalidOptions is returned for unknown option bits and for
	// UnlockCallbacks without DeferCallbacks (as libevent).
	ErrInvalidOptions = errors.New("bufferevent: invalid options")
	// ErrInvalidDirection is returned when a Direction argument holds bits
	// other than Read and Write, or (for Watermark) is not exactly one of
	// them.
	ErrInvalidDirection = errors.New("bufferevent: invalid direction")
	// ErrNilBuffer is returned by WriteBuffer and ReadBuffer given a nil
	// buffer.
	ErrNilBuffer = errors.New("bufferevent: nil buffer")
	// ErrNegative is returned for negative watermarks, timeouts and sizes.
	ErrNegative = errors.New("bufferevent: negative value")
	// ErrWatermark is returned when a low watermark exceeds a non-zero high
	// watermark.
	ErrWatermark = errors.New("bufferevent: low watermark above high watermark")
	// ErrInvalidFlushMode is returned for a FlushMode other than Normal,
	// Flush and Finished.
	ErrInvalidFlushMode = errors.New("bufferevent: invalid flush mode")
	// ErrUnsupported is returned (wrapped, naming the type and the
	// operation) when the backend lacks an optional capability (FD,
	// SetFD, SetPriority). It matches errors.ErrUnsupported.
	ErrUnsupported = errors.ErrUnsupported
)

// closedError is ErrClosed: its message names the package, and it matches
// net.ErrClosed so that code written for net.Conn recognises it.
type closedError struct{}

func (closedError) Error() string        { return "bufferevent: closed" }
func (closedError) Is(target error) bool { return target == net.ErrClosed }
func (closedError) Unwrap() error        { return net.ErrClosed }
