// Package pipe is a supported test backend: an in-memory connected pair of
// bufferevents, registered as "testpipe", written only against the public
// backend API (bufferevent.New, backend.Core) the way a program outside this
// repository writes a custom type. Use it where a test needs two connected
// bufferevents with no sockets: to run bevtest over a layer that stacks on
// another bufferevent (a filter or TLS type over both ends of a pipe), to
// test code that uses bufferevents, or as a small worked example of a
// backend. Production code wants backends/pair, which has libevent's exact
// pair semantics; the pipe differs from it on purpose so that layers are
// tested over a transport that behaves like a socket, not like a pair:
//
//   - Transfers never run inside the call that caused them: bytes written
//     to one end's output move to the other end's input (whole chains, no
//     copy) from the loop's deferred queue, bounded by the reader's read
//     high watermark or maximum input.
//   - Closing an end, or Flush(Write, Finished), delivers Reading|EOF to the
//     partner (as a socket peer sees a FIN).
//   - Timeouts are the core's generic ones (the write timer runs only while
//     output is pending, as libevent's pair).
//   - It has no descriptor: FD fails with errors.ErrUnsupported (declare
//     bevtest.Caps.NoFD), and Break injects a write error for
//     bevtest.Caps.Break.
//
// NewFlawed builds pipes with deliberate defects, to check that a
// conformance suite can fail.
//
// Concurrency: New, NewFlawed and Break are loop-confined; the bufferevents
// follow the usual rules (loop-confined unless ThreadSafe).
package pipe
