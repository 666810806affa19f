// Package backend is the API for authors of bufferevent types (socket,
// pair, filter, TLS, async, or your own): the Ops interface a type
// implements, the Core handle through which it drives the shared machinery
// (callbacks, watermarks, suspension, timeouts, deferral, rate limits), the
// optional capability interfaces, and the bit sets shared with package
// bufferevent (Direction, Events, Options, TriggerOptions, FlushMode,
// SuspendReason). It is to package bufferevent what database/sql/driver is
// to database/sql. User code never calls Ops methods.
//
// It does not import package bufferevent (which imports it); a backend
// module imports both.
//
// # Writing a backend, step by step
//
//  1. Register the type name once, from init:
//     bufferevent.Register("mytype", openFunc). openFunc builds a
//     bufferevent from a base and options alone for bufferevent.Open; a type
//     that needs more (an underlying bufferevent) returns an error matching
//     errors.ErrUnsupported naming its real constructor.
//  2. Write a constructor that calls bufferevent.New(base,
//     bufferevent.Config{Type: "mytype", Options: opts}, build). build gets
//     the Core handle, sets up the type's state — fd events, buffer
//     callbacks on Core.Output (to start writing when data is added) — and
//     returns the Ops. Keep the Core; Core.Handle is the *BufferEvent.
//  3. Implement Ops: Enable/Disable start and stop I/O per direction (the
//     core keeps the user's enabled bits and the suspension reasons and
//     calls them only when the effective state changes), Flush, AdjustTimeouts
//     and Close. Add the optional interfaces that apply: FD, SetFD,
//     Underlying, CancelAll, Addresser, Prioritizer.
//  4. In fd or timer callbacks, bracket your work with Core.Enter and
//     Core.Leave. Read at most Core.MaxToRead bytes into Core.Input (unfreeze
//     its end around the append), write at most Core.MaxToWrite from
//     Core.Output (unfreeze its front around the drain), charge the bytes
//     (Core.ChargeRead/ChargeWrite), then call Core.TriggerRead or
//     TriggerWrite — they apply the watermarks and deferral — and
//     Core.TriggerEvent for EOF, errors and Connected. After a Trigger call
//     re-check Core.Closed and Core.Active: the user callback may have
//     changed anything.
//  5. Types without fd events use the generic timers: call
//     Core.AdjustGenericTimeouts from Enable and AdjustTimeouts,
//     Core.StopTimers from Disable, and Core.ResetReadTimer /
//     ResetWriteTimer after each transfer.
//  6. Run the conformance suite: bevtest.Run(t, makePair) in your tests.
//
// # Concurrency contract
//
// Ops methods and Core methods run on the base's loop goroutine (for a
// ThreadSafe bufferevent, with the core lock held). The exception is the
// backend's own evbuffer callbacks on Core.Output or Core.Input: on a
// ThreadSafe bufferevent they run on whatever goroutine changed the buffer
// (a user goroutine calling Write), with the lock held; check Core.OnLoop
// and hand loop work over with Core.RunInLoop when it reports false.
// Nothing here blocks. User callbacks run only through the Trigger methods,
// never with the lock held.
package backend
