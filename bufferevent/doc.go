// Package bufferevent is the buffered connection type of bufev: libevent's
// bufferevent in Go.
//
// A [BufferEvent] couples an input and an output [evbuffer.Buffer] with an
// I/O backend — a socket, an in-memory partner, an underlying bufferevent
// seen through a filter or TLS — and runs user callbacks on its base's loop
// goroutine:
//
//   - the read callback when data arrived (at least the read low watermark);
//   - the write callback when output drained (to the write low watermark);
//   - the event callback on EOF, errors, timeouts and connect, with what
//     happened as [Events] bits and the cause as a Go error:
//     errors.Is(err, io.EOF) for EOF, os.ErrDeadlineExceeded for Timeout,
//     the I/O error for Error, nil for Connected.
//
// # Types and how to get one
//
// Each type is a backend package that registers itself (like a database/sql
// driver): socket (backends/socket: New, Connect, ConnectHostname,
// listeners), async (backends/async: completion-based I/O), pair
// (backends/pair: two connected in-memory bufferevents), filter
// (backends/filter: transform the bytes of another bufferevent) and ssl
// (backends/ssl: TLS over a socket or any bufferevent). Use the package's
// constructor, or [Open] with a registered name after a blank import:
//
//	import _ "github.com/bufev/bufev/backends/socket"
//	bev, err := bufferevent.Open(base, "socket", bufferevent.CloseOnFree)
//
// [Types] lists what is linked in; an unknown name fails with
// [ErrUnknownType] and a "(forgotten import?)" hint. A program may register
// its own type with [Register] and build it with [New]; the core then gives
// it everything the built-in types get: watermarks, timeouts, deferral,
// rate limits, filters and TLS on top, [NetConn]. See package
// bufferevent/backend for how to write one (step by step), and
// bufferevent/bevtest for the conformance suite to run on it.
//
// # The model
//
// One [eventbase.Base] runs one loop on one goroutine. A bufferevent
// belongs to one base; its backend does I/O when the loop says the
// transport is ready and calls back into the core, which applies the
// watermarks and runs the user's callbacks. New bufferevents have Write
// enabled and Read disabled (as in libevent): call Enable(Read) to start
// receiving. Users append to Output (or call Write) and drain Input (or
// call Read); the input's end and the output's front are frozen so that
// only the backend adds input and removes output.
//
// Watermarks (libevent's semantics, [BufferEvent.SetWatermark]):
//
//   - read low: the read callback runs only once the input holds at least
//     that many bytes;
//   - read high: reading is suspended while the input holds that many bytes
//     or more, and resumes by itself when the user drains it below — this
//     is the backpressure. When no read high watermark is set, the input is
//     still limited to [DefaultMaxInput] (16 MiB) in the same way, a limit
//     libevent does not have; [BufferEvent.SetMaxInput] changes or removes
//     it;
//   - write low: the write callback runs when the output has drained to
//     that many bytes or fewer (0: fully drained);
//   - write high: consulted by producers writing into this bufferevent
//     (filters and TLS layers stop filling it there).
//
// The user's enabled directions and the library's suspension reasons
// (watermark, bandwidth, group, lookup, filter) are independent: a direction
// does I/O only when enabled and not suspended.
//
// Timeouts ([BufferEvent.SetTimeouts]) count the time since the last
// successful transfer while the bufferevent is trying to transfer; on expiry
// the direction is disabled and the event callback gets Timeout|Reading or
// Timeout|Writing.
//
// Deferral: with [DeferCallbacks] the callbacks are not run inside the I/O
// that caused them but queued on the base's deferred queue (run later in
// the same loop turn, bounded per turn so I/O is not starved), coalesced
// per bufferevent and run in libevent's order: connected, read, write, then
// the other events. [TriggerDefer] asks for the same on one Trigger call.
//
// Closing ([BufferEvent.Close], libevent's bufferevent_free) is safe
// anywhere, including inside the bufferevent's own callbacks: the core
// holds references while it runs callbacks and finalises the bufferevent
// (the backend's Close, which closes the fd with [CloseOnFree]) when the
// last one is dropped. Every later method call returns [ErrClosed] (which
// matches net.ErrClosed) or a zero value; nothing panics.
//
// Rate limits: [BufferEvent.SetRateLimit] (own token buckets) and
// [BufferEvent.JoinGroup] with a [RateLimitGroup] (shared buckets); the
// accounting is package ratelimit's, the core owns the refill timers and
// suspends the directions whose buckets are empty. Backends that transfer
// bytes themselves (socket, async, TLS) honour them; pairs and filters do
// not, as in libevent.
//
// [NetConn] wraps any bufferevent as a blocking net.Conn with deadlines, so
// net/http, crypto/tls or gRPC run over pairs, filters or TLS bufferevents.
//
// # Concurrency
//
// Without [ThreadSafe] a bufferevent is loop-confined: call its methods on
// its base's loop goroutine — in callbacks, in functions given to
// Base.RunInLoop or Base.Do — or while no loop runs. There are no locks on
// that path, and its buffers share their base's evbuffer.ChainCache: a read
// takes the chain the last write on the loop freed, still in cache, without
// the shared pools' atomic operations. The buffers leave the cache when the
// bufferevent is finalised; keep Input and Output on the loop until then.
//
// With [ThreadSafe] every method may be called from any goroutine. A mutex
// guards the state; because Go mutexes are not reentrant, user callbacks
// always run with it released (libevent's recursive lock cannot be copied),
// so a callback may call any method, Close included. Input and Output must
// then be touched only inside [BufferEvent.WithLock] (callbacks included).
// Work that needs the loop (starting writes, enabling, disabling, timeouts,
// Flush, SetFD, SetPriority, rate-limit changes, finalisation) is done at
// once when the core itself runs on the loop, and otherwise — a user
// goroutine, or user code in a callback — handed to the loop with
// Base.RunInLoop and done at its next turn: such calls report only argument
// errors and ErrClosed, and Flush reports (false, nil). Callbacks triggered
// from there ([BufferEvent.Trigger]) are always deferred. [UnlockCallbacks]
// is accepted for libevent compatibility (it requires [DeferCallbacks]);
// since callbacks never hold the lock it changes nothing.
//
// Every method's documentation repeats which rule applies to it.
//
// # Differences from libevent, and why
//
//   - Callbacks never run with the lock held (Go has no recursive mutex);
//     with ThreadSafe, loop work requested off the loop happens at the next
//     loop turn, and WithLock replaces bufferevent_lock for direct buffer
//     access.
//   - The event callback gets a Go error instead of reading errno; EOF and
//     timeouts map to io.EOF and os.ErrDeadlineExceeded. Coalesced
//     deferred events keep the first error.
//   - libevent's ctrl union became optional interfaces of the backend (FD,
//     SetFD, Underlying, CancelAll, Addresser, Prioritizer); methods of a
//     type lacking one fail with an error matching errors.ErrUnsupported.
//   - Types are registered by name (Register, Types, Open); identity is
//     never tested by comparing names.
//   - Bad arguments (negative watermarks, sizes or timeouts, unknown
//     direction or option bits, low > high watermark, invalid flush mode)
//     are errors instead of being clamped or asserted; Read reports a
//     frozen input as an error instead of returning 0.
//   - The input is bounded by default ([DefaultMaxInput]).
//   - Priorities apply to the backend's events only; deferred callbacks
//     run in the base's single deferred queue.
//   - Finalisation is synchronous when the last reference is dropped on
//     the loop (libevent finalises asynchronously through the base); a
//     ThreadSafe bufferevent dropped elsewhere is finalised at the next loop
//     turn.
package bufferevent
