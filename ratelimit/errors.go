package ratelimit

import "errors"

// Sentinel errors. Errors returned by this package wrap one of them, so callers test with
// errors.Is; the bufferevent layer passes them through unchanged.
// Sentinel values, never modified: safe for concurrent use.
var (
	// ErrInvalidTick reports a tick length NewConfig cannot use: negative, shorter than one
	// millisecond once truncated to whole milliseconds, or longer than MaxTick.
	ErrInvalidTick = errors.New("ratelimit: invalid tick length")

	// ErrInvalidRate reports a rate below 1 or a rate above its burst.
	ErrInvalidRate = errors.New("ratelimit: invalid rate or burst")

	// ErrNilConfig reports a nil *Config where one is required.
	ErrNilConfig = errors.New("ratelimit: nil config")

	// ErrInvalidMinShare reports a negative minimum share.
	ErrInvalidMinShare = errors.New("ratelimit: negative minimum share")

	// ErrNoConfig reports a per-connection operation on a Limiter that has no per-connection
	// Config (libevent asserts in this case; we return an error).
	ErrNoConfig = errors.New("ratelimit: no per-connection rate limit set")

	// ErrNilGroup reports a nil *Group or nil Member passed to Limiter.JoinGroup.
	ErrNilGroup = errors.New("ratelimit: nil group or member")

	// ErrGroupClosed reports an operation on a Group after Close.
	ErrGroupClosed = errors.New("ratelimit: group closed")

	// ErrGroupHasMembers reports Close on a Group that still has members (libevent asserts
	// in this case; we return an error and leave the group usable).
	ErrGroupHasMembers = errors.New("ratelimit: group still has members")
)
