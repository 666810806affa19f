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
//     (Core.ChargeRead/ChargeWrite; a completion-based backend reserves an
//     operation's size when it starts it and settles on completion instead,
//     Core.ReserveRead/SettleRead), then call Core.TriggerRead or
//     TriggerWrite — they apply the watermarks and deferral — and
//     Core.TriggerEvent for EOF, errors and Connected — after
//     Core.DisableUser(dir) for EOF, errors and timeouts, as libevent
//     disables the direction before reporting them (never release the lock
//     to call BufferEvent.Disable instead). After a Trigger call re-check
//     Core.Closed and Core.Active: the user callback may have changed
//     anything.
//  5. Types without fd events use the generic timers: call
//     Core.AdjustGenericTimeouts from Enable and AdjustTimeouts,
//     Core.StopTimers from Disable, and Core.ResetReadTimer /
//     ResetWriteTimer after each transfer. The write timer runs only while
//     output is pending, unless Config.WriteTimer asks for
//     WriteTimerWhileEnabled (a filter's timeout while idle).
//  6. Run the conformance suite: bevtest.Run(t, makePair) in your tests,
//     declaring in bevtest.Caps what the type cannot do. A type that stacks
//     on another bufferevent can run it over the test pipe
//     (bufferevent/bevtest/pipe), over backends/pair and over sockets.
//
// Package-level helpers that receive a *bufferevent.BufferEvent (like
// pair.Partner or socket.Connect) find their backend state with
// bufferevent.BackendOps(bev).(*myOps) — no global index to keep in step
// with the bufferevents' lifetimes.
//
// A skeleton (the Example of package bufferevent is a complete one):
//
//	type mine struct{ c backend.Core; fd int }
//
//	func New(base *eventbase.Base, fd int, opts bufferevent.Options) (*bufferevent.BufferEvent, error) {
//		m := &mine{fd: fd}
//		return bufferevent.New(base, bufferevent.Config{Type: "mine", Options: opts},
//			func(c backend.Core) (backend.Ops, error) {
//				m.c = c
//				c.Output().AddCallback(m.outputAdded) // start writing
//				return m, nil
//			})
//	}
//
//	func (m *mine) onReadable() { // an fd event callback, on the loop
//		m.c.Enter()
//		defer m.c.Leave()
//		if !m.c.Active(bufferevent.Read) {
//			return
//		}
//		in := m.c.Input()
//		in.Unfreeze(false)
//		n, err := in.ReadFromFD(m.fd, m.c.MaxToRead())
//		in.Freeze(false)
//		switch {
//		case errors.Is(err, io.EOF):
//			m.c.TriggerEvent(bufferevent.Reading|bufferevent.EOF, nil, 0)
//		case err != nil && !errors.Is(err, syscall.EAGAIN):
//			m.c.TriggerEvent(bufferevent.Reading|bufferevent.Error, err, 0)
//		case n > 0:
//			m.c.ChargeRead(n)
//			m.c.TriggerRead(0)
//		}
//	}
//
// Two bufferevents whose data moves between them inside one locked region
// (the ends of a pair) must share one lock: build the second with
// bufferevent.Config.ShareLock set to the first, and use Core.Hold and
// Core.Release (not Enter) on the partner while holding the shared lock. A
// layer on top of another bufferevent (filter, TLS) reaches the
// underlying's handle with bufferevent.BackendCore to suspend its reading
// (SuspendFilter) or account its traffic; when it takes over the
// underlying's callbacks it records Core.CallbacksGen and lets go with
// Core.ClearCallbacksIf, which keeps callbacks the user set since.
//
// A connection type whose Flush(Write, Finished) should half-close (send
// the output, then shutdown(SHUT_WR)), as the socket and async types do,
// implements ShutdownConn and keeps a WriteShutdown: Finish from Flush,
// AfterConnect when a connect completes, Reset on SetFD and Close.
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
