// Package pair provides in-memory connected pairs of bufferevents
// (libevent's bufferevent_pair): two bufferevents on one base, where what one
// writes arrives in the input of the other, with all the machinery of a real
// connection — callbacks, watermarks, timeouts, flush modes, filters on top,
// bufferevent.NetConn — and no descriptor, no syscall and no copy.
//
// Uses: connecting two protocol layers inside one process (a proxy's
// client and server halves, a TLS or compression filter under test), test
// doubles for sockets, and in-process transports.
//
//	a, b, err := pair.New(base, 0)
//	b.SetCallbacks(onRead, nil, onEvent)
//	b.Enable(bufferevent.Read)
//	a.Write([]byte("hello")) // arrives in b.Input()
//
// # Semantics
//
// Data moves from a writer's output to the reader's input by splicing the
// buffer chains (only a chain cut by a watermark boundary is copied), at
// once when data is written, when the reader enables reading and when the
// writer enables writing. It moves only while the writer has Write enabled
// and the reader has Read enabled and not suspended. The reader's read high
// watermark (or, without one, its maximum input, see
// bufferevent.SetMaxInput) bounds what moves; the rest waits in the writer's
// output, and moves when the reader drains its input below the mark. So a
// reader that stops reading stops the writer's data at its watermark: the
// writer sees its output grow and its write callback stop, and memory stays
// bounded by what the writer chooses to queue.
//
// Callbacks are always deferred (DeferCallbacks is added to every pair, as
// in libevent): they run from the loop's deferred queue, later in the same
// loop turn, never inside the Write that moved the data.
//
// Flush(dir, Normal) does nothing. Flush(dir, Flush) moves data ignoring
// watermarks and the enabled directions: Write pushes this end's output to
// the partner, Read pulls the partner's output here. Flush(dir, Finished)
// does the same and then gives the partner an EOF event carrying the
// opposite direction: Reading|EOF after flushing Write (the partner will
// read nothing more), Writing|EOF after flushing Read. Flush fails with
// ErrNoPartner once the other end is closed.
//
// Timeouts use the core's generic timers with libevent's rules: the read
// timeout runs while reading is enabled, the write timeout only while output
// is waiting to move (an idle pair with Write enabled never times out
// writing, unlike a socket). A transfer restarts the reader's read timer and
// the writer's write timer.
//
// Closing one end unlinks the pair: Partner returns nil for the survivor, its
// writes accumulate in its output, and its event callback gets Reading|EOF
// (io.EOF). Output still waiting in the closed end is discarded, as Close
// does for every bufferevent. Pairs are not rate-limited by themselves.
// FD returns errors.ErrUnsupported, Underlying returns nil, and
// SetPriority is unsupported, as in libevent.
//
// # Concurrency
//
// Without ThreadSafe both ends are loop-confined. With ThreadSafe both ends
// share one lock (the core's Config.ShareLock), so a transfer touches both
// sides under one lock; any method of either end may be called from any
// goroutine, and data written from another goroutine is moved on the loop at
// its next turn. The lock belongs to neither end, so the ends may be closed
// in either order, concurrently, from any goroutine (libevent had to hand
// lock ownership to the survivor, bufferevent_pair_release_lock).
//
// # Differences from libevent
//
//   - Closing an end delivers Reading|EOF to the survivor. libevent says
//     nothing, so a reader of the survivor would wait forever; net.Pipe and
//     sockets report EOF, and bufferevent.NetConn relies on it.
//   - Without a read high watermark, transfers stop at the reader's maximum
//     input (bufferevent.DefaultMaxInput) instead of growing the input
//     without bound.
//   - A transfer restarts the writer's write timer; libevent restarts the
//     reader's, which lets a steadily flowing writer time out. Data written
//     into an empty output starts the write timer; libevent arms it only in
//     Enable.
//   - A transfer runs the callbacks only when bytes moved; libevent also
//     runs them after moving nothing.
//   - Flush with Flush or Finished moves everything; libevent still stops
//     at the reader's high watermark if the reader is not yet full.
//   - The registered type name is "pair" (libevent: "pair_elt").
//     bufferevent.Open(base, "pair", opts) returns one end; Partner finds the
//     other.
package pair
