// Package iocp is the Windows completion facility of the async backend: one I/O
// completion port per event base, overlapped AcceptEx, ConnectEx, WSARecv and WSASend,
// and completions delivered to callbacks on the base's loop goroutine.
//
// # Design
//
// The eventbase loop on Windows waits in WSAPoll, which cannot watch a completion port.
// So each Port has exactly one goroutine (per base, never per connection) blocked in
// GetQueuedCompletionStatusEx. It dequeues up to 64 completions at a time and hands the
// batch to the loop with Base.RunInLoop, which wakes WSAPoll through the base's wake-up
// socket; the callbacks then run on the loop goroutine, in dequeue order. While an
// operation is in flight the Port holds one virtual event on the base (Base.AddVirtual),
// so Dispatch does not return early.
//
// Sockets are associated with FILE_SKIP_COMPLETION_PORT_ON_SUCCESS when Windows allows
// it: an operation that completes at once posts nothing, and its callback is queued with
// Base.Defer instead (still never called re-entrantly from the call that started it).
//
// Every operation is an *Op whose OVERLAPPED is its first field. The Op, its WSABUFs and
// the caller's buffers (which must be heap memory, as evbuffer chains are) stay
// referenced from the Port's in-flight set until the completion has been dequeued; Go's
// collector never moves heap objects, so the kernel never writes into memory the
// collector could reuse or relocate. Callers must not touch the buffers of an operation
// in flight.
//
// Cancel (CancelIoEx on the socket) and Close end operations early. A canceled operation
// that did not complete reports an error matching ErrCanceled, whatever status the system
// gave it: real Windows and Wine use different abort codes, and completion order differs
// between them too, so nothing here depends on either.
package iocp
