// Package eventbase is the reactor every bufev object runs on: libevent's
// event_base in Go.
//
// A [Base] waits for conditions on file descriptors (readable, writable,
// peer closed), for timeouts and for signals, and runs a callback for each
// [Event] whose condition occurred. Bufferevents and buffers build on it; it
// imports none of them.
//
// # Usage
//
//	base, err := eventbase.New(eventbase.Config{})
//	...
//	ev, err := base.NewEvent(fd, eventbase.Read|eventbase.Persist, func(fd int, what eventbase.What) {
//		// fd is readable (or what has Timeout set)
//	})
//	err = ev.AddTimeout(30 * time.Second) // or ev.Add() for no timeout
//	err = base.Dispatch()                  // runs until no event is left
//
// # The loop
//
// [Base.Loop] repeats one turn until it is told to stop: if a LoopExit or
// LoopBreak is pending, return; if nothing is pending or active (and
// [LoopNoExitOnEmpty] is not set), return with [Base.ExitedEmpty] true;
// otherwise poll — without blocking when callbacks are already active,
// else until the earliest timer — then refresh the cached time
// ([Base.Now]), deliver signals and cross-goroutine requests, move expired
// timers to the active queues, and run the active callbacks of the most
// urgent non-empty priority, then up to 32 deferred functions
// ([Base.Defer]).
//
// Priorities follow libevent strictly: 0 is the most urgent; after a turn
// ran callbacks of one priority, the loop polls again before it considers a
// less urgent one, so a busy urgent priority starves the others. The
// Config.MaxDispatch* limits bound how long one queue runs before polling.
// A non-persistent event is deleted before its callback runs; a persistent
// one stays pending and its timeout is re-armed.
//
// # Concurrency
//
// A Base is run by one goroutine, the one in Dispatch or Loop, and every
// callback runs on it. Everything attached to the base is loop-confined:
// call it from callbacks, from functions given to [Base.RunInLoop], or
// while no loop runs — no locks are taken on that path. The goroutine-safe
// entry points are [Base.RunInLoop] (queue a function and wake the loop),
// [Base.Do] (run a function on the loop and wait), [Base.LoopExit],
// [Base.LoopBreak], [Base.GotExit], [Base.GotBreak] and [Event.Active].
// Each method's documentation says which kind it is.
//
// Wake-ups are coalesced: another goroutine writes to the wake-up channel
// (an eventfd on Linux, EVFILT_USER on macOS and FreeBSD, a pipe on other
// Unix systems, a loopback datagram on Windows) only while the loop is
// blocked in the poller and no wake-up is already pending.
//
// # Pollers
//
// [New] takes the first poller in preference order that is not avoided by
// Config.AvoidMethods and has every feature in Config.RequireFeatures:
//
//	epoll    Linux            ET, O1, EarlyClose (EPOLLRDHUP)
//	kqueue   macOS, BSDs      ET, O1, FDs
//	poll     every Unix       FDs (+EarlyClose on Linux through POLLRDHUP)
//	wsapoll  Windows          sockets only
//
// poll is always selectable, so tests run against it as well. Several
// events may watch one fd; the base keeps per-fd counts of read, write and
// close interest and changes the poller's registration only when the
// aggregate changes. All events on one fd must agree on ET.
//
// # Timers
//
// Timeouts are kept in a min-heap (O(log n) add and delete; each event
// remembers its heap index). For many timeouts of one duration, register
// the duration with [Base.CommonTimeout]: AddTimeout with that duration
// then appends to a FIFO list (O(1)), and only the list's head sits in the
// heap. Times are monotonic; persistent timeouts are re-armed relative to
// their previous expiry, so they do not drift.
//
// # Differences from libevent
//
//   - Loop returns nil when it exits because nothing is pending (libevent
//     returns 1); [Base.ExitedEmpty] reports that case.
//   - Signals come from os/signal, so every base watching a signal receives
//     it (libevent delivers to one base at a time), and process-wide
//     handlers are never replaced.
//   - When an fd becomes ready and its timeout expires in the same turn, the
//     callback sees both conditions (libevent reports only Timeout).
//   - Mixing ET and level-triggered events on one fd is always rejected
//     ([ErrETMismatch]); libevent checks only in debug mode.
//   - Closed is rejected at NewEvent on a poller without
//     [FeatureEarlyClose] instead of silently never firing.
//   - Event.Active from the loop goroutine is applied after the current
//     callback returns (before any other callback, and before Pending or
//     Del look at the event), because Go cannot tell the loop goroutine
//     from others cheaply; the observable order matches libevent.
//   - There is no event_reinit: Go programs do not fork.
//   - Freed events cannot be reused: Add returns [ErrFreed] instead of
//     corrupting memory.
package eventbase
