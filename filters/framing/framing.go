package framing

import (
	"errors"

	"github.com/bufev/bufev/backends/filter"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
)

// Errors reported by the framers' Err methods and helpers. Errors with
// detail wrap one of them; test with errors.Is.
// Sentinel values, never modified: safe for concurrent use.
var (
	// ErrFrameTooLarge means a frame's declared length, or a message to be
	// framed, exceeds the framer's maximum.
	ErrFrameTooLarge = errors.New("framing: frame too large")
	// ErrBadHeader means a length header that cannot be decoded (a uvarint
	// longer than 10 bytes or above 2^64-1).
	ErrBadHeader = errors.New("framing: bad length header")
	// ErrIncomplete means the buffer does not hold a whole frame (or
	// line) yet; nothing was removed. It is not a stream error.
	ErrIncomplete = errors.New("framing: incomplete frame")
	// ErrTruncated means the input ended (Finished) in the middle of a
	// frame or line.
	ErrTruncated = errors.New("framing: stream ended inside a message")
	// ErrLineTooLong means a line (without its end-of-line marker) is
	// longer than the maximum, or that many bytes arrived without one.
	ErrLineTooLong = errors.New("framing: line too long")
	// ErrInvalid means a bad constructor argument.
	ErrInvalid = errors.New("framing: invalid argument")
)

// DefaultMaxFrame is the maximum frame payload (and line length) used when
// a constructor gets max <= 0.
// A constant, safe for concurrent use.
const DefaultMaxFrame = 1 << 20

// DefaultBudget is how many bytes an input filter delivers per call when
// the backend passes a negative limit.
// A constant, safe for concurrent use.
const DefaultBudget = 256 << 10

// Compile-time checks that the filter methods are filter.Funcs.
var (
	_ filter.Func = (*LengthPrefix)(nil).In
	_ filter.Func = (*LengthPrefix)(nil).Out
	_ filter.Func = (*Lines)(nil).In
	_ filter.Func = (*Lines)(nil).Out
)

func budgetOf(limit int) int {
	if limit < 0 {
		return DefaultBudget
	}
	return limit
}

func isFlush(mode bufferevent.FlushMode) bool { return mode != bufferevent.Normal }

// result turns "did anything happen" into a filter result.
func result(progress bool, mode bufferevent.FlushMode) filter.Result {
	if !progress && mode == bufferevent.Normal {
		return filter.NeedMore
	}
	return filter.OK
}

// moveTo moves n bytes from src to dst, zero-copy where chains allow.
func moveTo(src, dst *evbuffer.Buffer, n int) error {
	m, err := src.RemoveBuffer(dst, n)
	if err == nil && m != n {
		err = evbuffer.ErrShort
	}
	return err
}
