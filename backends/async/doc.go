// Package async will provide completion-based bufferevents: reads land in reserved
// evbuffer space and writes go straight from the output chains, with the chains in flight
// pinned until the kernel reports their completion — io_uring on Linux, IOCP on Windows,
// and an error matching errors.ErrUnsupported elsewhere.
//
// The bufferevent type itself is not written yet (it waits for the bufferevent core). What
// exists is its Linux engine, internal/uring: a pure-Go io_uring ring (no cgo) with
// submission batching, zero-allocation reaping, pinning of the memory the kernel uses, and
// cancellation and draining on close.
package async
