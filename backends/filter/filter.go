package filter

import (
	"strconv"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
)

// Result is what a filter function reports (libevent's enum
// bufferevent_filter_result).
type Result int

// Filter results.
const (
	// OK: the function made progress (or had nothing to do) and may be
	// called again if more input is available (BEV_OK).
	OK Result = iota
	// NeedMore: the function cannot produce more output until more input
	// arrives (or until a stronger flush mode asks it to finish); the
	// filter stops calling it for now (BEV_NEED_MORE).
	NeedMore
	// Error: the stream is corrupt or the transformation failed; the
	// filter bufferevent reports an Error event and stops filtering that
	// direction (BEV_ERROR).
	Error
)

// String returns "OK", "NeedMore", "Error" or "Result(n)".
func (r Result) String() string {
	switch r {
	case OK:
		return "OK"
	case NeedMore:
		return "NeedMore"
	case Error:
		return "Error"
	}
	return "Result(" + strconv.Itoa(int(r)) + ")"
}

// Func moves and transforms bytes from src to dst (libevent's
// bufferevent_filter_cb).
//
// src is the buffer to consume: for an input filter, the underlying
// bufferevent's input; for an output filter, the filter bufferevent's own
// output. dst is where the transformed bytes go: the filter's input, or the
// underlying's output. A Func drains from src what it consumed (with
// Remove, Drain or RemoveBuffer, which splices chains without copying) and
// appends to dst what it produced.
//
// limit is how many bytes dst may still take before it reaches its high
// watermark (or, when dst has none, a default bound); a Func should not add
// much more than limit in Normal mode. In Flush and Finished mode limit is
// still a hint but the Func should produce everything it can; in Finished
// mode the stream has ended and the Func should also write any trailer
// (a compressor's final block) and release per-stream state.
//
// A Func runs on the loop goroutine with the filter's lock held (for
// ThreadSafe bufferevents); it must not block, and must not call methods of
// the filter bufferevent or of its underlying except Write/WriteBuffer on
// the filter itself (which are queued and picked up later, never re-entering
// the Func). A state a Func needs (a compressor, a decoder) lives in its
// closure.
type Func func(src, dst *evbuffer.Buffer, limit int, mode bufferevent.FlushMode) Result
