package filter

import (
	"errors"
	"math"
	"strconv"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
)

// Result is what a filter function reports (libevent's enum
// bufferevent_filter_result). A plain value, safe for concurrent use.
type Result int

// Filter results.
// Constants, safe for concurrent use.
const (
	// OK: the function made progress (or had nothing to do) and may be
	// called again if more input is available (BEV_OK).
	OK Result = iota
	// NeedMore: the function cannot produce more output until more input
	// arrives (or until a stronger flush mode asks it to finish); the
	// filter stops calling it for now (BEV_NEED_MORE).
	NeedMore
	// Error: the stream is corrupt or the transformation failed. The
	// filter bufferevent stops this round of filtering and reports an
	// Error event (Error|Reading for the input Func, Error|Writing for the
	// output Func) with a *FuncError; what to do next (usually Close) is
	// the event callback's decision (BEV_ERROR).
	Error
)

// String returns "OK", "NeedMore", "Error" or "Result(n)". Safe for
// concurrent use.
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

// NoLimit is the limit passed to a Func in Flush and Finished mode, where
// watermarks are ignored (libevent passes -1 there).
// A constant, safe for concurrent use.
const NoLimit = math.MaxInt

// Func moves and transforms bytes from src to dst (libevent's
// bufferevent_filter_cb).
//
// src is the buffer to consume: for an input filter, the underlying
// bufferevent's input; for an output filter, the filter bufferevent's own
// output. dst is where the transformed bytes go: the filter's input, or the
// underlying's output. A Func drains from src what it consumed (Drain,
// Remove, or RemoveBuffer, which splices whole chains without copying) and
// appends to dst what it produced (Add, Reserve/Commit, AddBuffer).
//
// limit is how many bytes dst may still take: in Normal mode, the room left
// below dst's high watermark (the filter's read high watermark, or the
// underlying's write high watermark), or below DefaultLimit (input) or
// DefaultOutputLimit (output) when that bufferevent has none; it is always
// > 0 when the Func is called in Normal mode. A Func should not add much more than limit (a few bytes of framing
// are fine). In Flush and Finished mode made by Flush, watermarks are
// ignored and limit is NoLimit: produce everything possible. In Finished
// mode the stream has ended: also write any trailer (a compressor's final
// block) and reset the per-stream state. In Normal mode the Func is only
// called when src holds data; in Flush and Finished mode it is called at
// least once even when src is empty.
//
// When the underlying reports EOF, the input Func gets Finished calls that
// keep to the read watermark like Normal ones (limit is the room left, > 0):
// while src still holds input it should produce about limit bytes and
// return OK; the filter calls it again, in Finished mode, once the user
// has drained the input, and delivers the EOF event only when the Func has
// used src up (or returned NeedMore or Error, or stopped making progress).
// So a decompressor fed a bomb cannot fill memory because the peer closed.
//
// Return OK after making progress (the filter calls again while src holds
// data, dst has room and the Func keeps consuming), NeedMore when nothing
// more can be done until more input arrives, Error when the stream cannot be
// processed. A Func that returns OK without consuming anything is not called
// again in that round.
//
// A Func runs on the loop goroutine while the filter (and, for a ThreadSafe
// underlying, the underlying) is locked; it must not block. A Func may send
// something of its own (an input Func answering a protocol negotiation, say)
// by adding to the filter's Output buffer directly — the lock is already
// held — or, on a filter that is not ThreadSafe, with Write or WriteBuffer;
// the added output is filtered after the Func returns, never by a nested
// call (libevent's bufferevent_filters_disable case). It must not call any
// other method of the filter or of the underlying, and no method at all on a
// ThreadSafe filter (the lock is not reentrant). State (a compressor, a
// decoder) lives in the Func's closure; each filter needs its own.
// Loop-confined: the filter calls it only on the loop goroutine.
type Func func(src, dst *evbuffer.Buffer, limit int, mode bufferevent.FlushMode) Result

// PassThrough is the Func used for a nil input or output Func: it moves up
// to limit bytes from src to dst by splicing chains (libevent's
// be_null_filter). Safe for concurrent use on distinct buffers.
func PassThrough(src, dst *evbuffer.Buffer, limit int, _ bufferevent.FlushMode) Result {
	if src.Len() == 0 {
		return OK
	}
	if _, err := src.RemoveBuffer(dst, limit); err != nil {
		return Error
	}
	return OK
}

// DefaultLimit bounds what a filter puts into its own input when it has no
// read high watermark, as bufferevent.DefaultMaxInput bounds any
// bufferevent's input (it equals it). libevent has no bound there.
// A constant, safe for concurrent use.
const DefaultLimit = bufferevent.DefaultMaxInput

// DefaultOutputLimit bounds what a filter puts into the underlying's output
// when the underlying has no write high watermark: the filter stops
// filtering there and resumes when the underlying's write callback reports
// its output drained (to its write low watermark), as the ssl backend
// bounds its transport's output. libevent has no bound there; a peer that
// never reads would let the underlying's output grow without limit. A small
// bound also keeps unsent data in the user's own output, which the user
// sees and its write callback follows (see "Performance" in the package
// documentation for what the earlier 16 MiB bound cost).
// A constant, safe for concurrent use.
const DefaultOutputLimit = 64 << 10

// ErrFailed is matched (errors.Is) by the error passed with the Error event
// when a Func returns Error or an invalid Result.
// Never modified: safe for concurrent use.
var ErrFailed = errors.New("filter: filter function failed")

// ErrNilUnderlying is returned by New without an underlying bufferevent.
// Never modified: safe for concurrent use.
var ErrNilUnderlying = errors.New("filter: nil underlying bufferevent")

// FuncError is the error passed with the Error event when a Func reports
// Error (or returns a value that is not a Result). It matches ErrFailed
// and, through Unwrap, the Func's own error when the filter was created
// with WithCause. The filter does not change it once reported: safe for
// concurrent use.
type FuncError struct {
	// Dir is bufferevent.Read for the input Func, bufferevent.Write for
	// the output Func.
	Dir bufferevent.Direction
	// Mode is the flush mode of the failing call.
	Mode bufferevent.FlushMode
	// Result is what the Func returned.
	Result Result
	// Err is why the Func failed, as the WithCause function reported it;
	// nil without WithCause or when it reported nothing.
	Err error
}

// Error describes the failure. Safe for concurrent use.
func (e *FuncError) Error() string {
	which := "output"
	if e.Dir == bufferevent.Read {
		which = "input"
	}
	s := "filter: " + which + " filter function failed (mode " + e.Mode.String()
	if e.Result != Error {
		s += ", invalid result " + e.Result.String()
	}
	s += ")"
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is makes errors.Is(err, ErrFailed) true. Safe for concurrent use.
func (e *FuncError) Is(target error) bool { return target == ErrFailed }

// Unwrap returns the Func's own error (Err), so that errors.Is and
// errors.As see through a FuncError to it. Safe for concurrent use.
func (e *FuncError) Unwrap() error { return e.Err }

// Option configures a filter bufferevent beyond New's required arguments.
// A plain function value: safe for concurrent use.
type Option func(*settings)

type settings struct {
	cleanup func() error
	cause   func(bufferevent.Direction) error
}

// WithCleanup makes the filter call fn exactly once, when the filter
// bufferevent is finalised: after the last call of its Funcs, inside the
// Close that dropped the last reference or, when Close was called from one
// of the filter's own callbacks, after that callback returns (libevent's
// free_context argument of bufferevent_filter_new). Use it to release what
// the Funcs hold — a compressor, a pooled buffer — so that the user of the
// filter need not. fn's error is returned by that Close when finalisation
// happens inside it (joined with an error closing the underlying) and is
// dropped otherwise. fn runs on the goroutine that finalises the filter,
// with the filter's lock held: it must not call methods of the filter. If
// New fails, fn is not called: what the Funcs hold is still the caller's.
// WithCleanup itself is safe for concurrent use.
func WithCleanup(fn func() error) Option {
	return func(s *settings) { s.cleanup = fn }
}

// WithCause lets the Funcs report why they failed: when a Func returns
// Error (or an invalid Result), the filter calls fn with the failing
// direction (bufferevent.Read for the input Func, bufferevent.Write for the
// output Func) and puts what it returns in the FuncError's Err, so that the
// Error event's error wraps it (errors.Is and errors.As find it). fn runs on
// the loop goroutine with the filter's lock held, like the Funcs (fn is
// loop-confined). WithCause itself is safe for concurrent use.
func WithCause(fn func(dir bufferevent.Direction) error) Option {
	return func(s *settings) { s.cause = fn }
}
