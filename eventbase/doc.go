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
// An object that owns its events can handle them itself: [Base.NewHandlerEvent]
// takes a [Handler] instead of a function, which spares each activation
// the load of a function value (a separate object, and with thousands of
// connections a likely cache miss). Socket bufferevents do this.
//
// # The loop
//
// [Base.Loop] repeats one turn until it is told to stop: if a LoopExit or
// LoopBreak is pending, return; if nothing is pending or active (and
// [LoopNoExitOnEmpty] is not set), return with [Base.ExitedEmpty] true;
// otherwise poll — without blocking when callbacks are already active or
// work is queued, else until the earliest timer — then start a new time
// cache ([Base.Now]), deliver signals, apply activations and run functions
// queued by other goroutines ([Base.RunInLoop]), move expired timers to the
// active queues, run the active callbacks of the most urgent non-empty
// priority, and then up to 32 deferred functions ([Base.Defer]).
//
// As in libevent, [LoopNonBlock] alone keeps turning while callbacks are
// active and returns once a poll finds nothing; [LoopOnce] returns after
// the first turn that ran callbacks and left none active; both together
// run what is ready now and return.
//
// Priorities follow libevent strictly: 0 is the most urgent; after a turn
// ran callbacks of one priority, the loop polls again before it considers a
// less urgent one, so a busy urgent priority starves the others. The
// Config.MaxDispatch* limits bound how long one queue runs before polling.
// A non-persistent event is deleted before its callback runs; a persistent
// one stays pending and its timeout is re-armed.
//
// With epoll, one priority, no dispatch limits and nothing active before
// the poll, a ready persistent I/O event that is the only one waiting on
// its fd, has no timeout and is not active runs straight from the poll's
// result loop instead of through the active queue (direct dispatch). The
// observable order is the queue's: a [Base.LoopBreak] or a
// [Base.LoopContinue] in such a callback, work from another goroutine, or a
// ready event that must be queued makes the rest of the batch go through
// the queue, and after a LoopContinue the queue does not run this turn
// (the turn's deferred functions do), exactly as when the callback ran
// from the queue.
//
// # Concurrency
//
// A Base is run by one goroutine, the one in Dispatch or Loop, and every
// callback runs on it. Everything attached to the base is loop-confined:
// call it from callbacks, from functions given to [Base.RunInLoop], or
// while no loop runs — no locks are taken on that path. The goroutine-safe
// entry points are [Base.RunInLoop] (queue a function and wake the loop),
// [Base.Do] (run a function on the loop and wait), [Base.LoopExit],
// [Base.LoopBreak], [Base.GotExit], [Base.GotBreak], [Base.Now],
// [Base.OnClose], [Base.Local] and [Event.Active]. Each method's documentation says which kind it is.
//
// Cross-goroutine requests go to a mutex-protected queue that the loop
// drains after every poll and — for activations — after every callback,
// so an Active issued inside a callback takes effect before the next
// callback runs, as in libevent. Wake-ups are coalesced: a request writes
// to the wake-up channel (an eventfd on Linux, EVFILT_USER on macOS,
// FreeBSD and DragonFly, a pipe on NetBSD, OpenBSD and other Unix systems,
// a loopback datagram on Windows) only while the loop is blocked in the
// poller and no wake-up is already pending, so a busy loop pays no system
// call for them. No request is lost to that: a requester stores its request
// (queued work, a pending signal, LoopBreak's flag) and then reads whether
// the loop polls, while the loop publishes that it polls and then checks
// for requests before it blocks, so one of the two always sees the other.
//
// Signals are received with os/signal by one small goroutine per watched
// signal number, which counts deliveries and wakes the loop; the loop runs
// each signal event's callback once per delivery. Close stops those
// goroutines. No other goroutine is ever started.
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
// poll is available on every Unix system (and the only poller on Solaris,
// illumos and AIX), so tests run against it as well. Other platforms (js,
// wasip1, plan9) compile, and New returns [ErrNoMethod]. Several events may
// watch one fd; the base keeps per-fd counts of read, write and close
// interest and changes the poller's registration only when the aggregate
// changes. All events on one fd must agree on ET.
//
// epoll and kqueue changes are applied at once (no change list), so Add
// reports a bad fd itself; poll and wsapoll check a new fd when it is
// added for the same reason. epoll waits that must not block, and every
// epoll_ctl, are raw system calls (they cannot block, so the Go scheduler
// need not be told); the epoll and kqueue event arrays grow by doubling up
// to 4096 entries when a wait fills them. A wait that may block is an
// ordinary system call on the loop goroutine's thread, outside Go's
// netpoller. Parking the loop goroutine in the netpoller instead (the epoll
// fd is pollable), a raw non-blocking poll before every blocking one, and
// LockOSThread were each measured end to end and not kept: the first costs
// more CPU per message, the others change nothing measurable (figures in
// the bench module's documentation).
//
// # Timers
//
// Timeouts are kept in a min-heap (O(log n) add and delete; each event
// remembers its heap index; ties expire in the order they were armed). For
// many timeouts of one duration, register the duration with
// [Base.CommonTimeout]: AddTimeout with that duration then appends to a
// FIFO list (O(1)), and only the list's head sits in the heap. Times are
// monotonic; persistent timeouts are re-armed relative to their previous
// expiry, so they do not drift, and after a stall they fire once rather than
// once per missed period.
//
// The loop reads the clock at most once per turn: the first reader after
// polling (timer processing, AddTimeout, [Base.Now]) fills the cache and
// the rest of the turn sees the same time. A turn that needs no time reads
// no clock. [Base.LoopNow], the loop goroutine's form of Now, also keeps the
// time.Time it built for the cached time, saving Now's time.Time.Add (about
// 75 instructions) on every later call of the turn; rate-limited
// bufferevents read it for every transfer.
//
// # Deferred callbacks
//
// [Base.Defer] queues a function to run after the turn's active callbacks.
// Bufferevents and buffers use it to run user callbacks outside the code
// that triggered them. At most 32 run per turn (libevent's
// MAX_DEFERREDS_QUEUED); the rest wait for the next turn, whose poll does not
// block, so deferred work can never starve I/O.
//
// # Closing
//
// [Base.Close] first runs, in rounds until none is left, what is still
// queued: RunInLoop functions, pending finalizers and every deferred
// function (at most 100 rounds; work that keeps re-queueing itself is then
// dropped and Close reports [ErrWorkLeft]). Then it runs the functions
// registered with [Base.OnClose], last registered first, each followed by
// the work it queued, while the base still works: a backend whose object
// lives as long as the base (an io_uring ring, a buffer pool) registers its
// teardown there. Only then are events deleted and kernel objects released.
//
// # Completion sources
//
// The pollers sit behind one small internal interface (register interest,
// wait and report, wake, close). io_uring needs nothing more: its ring fd
// can be watched with an ordinary Read event and completions reaped in the
// callback. It does better by blocking for the loop itself: a [Waiter] set
// with [Base.SetWaiter] replaces the poller's blocking wait. It waits for
// its own completions and for the poller's descriptor ([Base.PollerFD], the
// epoll instance, readable when a watched descriptor is ready or the loop is
// woken) at once, reports which of the two has work, and the loop then polls
// the poller without blocking and runs the waiter's event, straight from the
// wait when nothing else is active. Timers reach it as Wait's timeout; wake-ups
// from other goroutines, signals and descriptor events through the poller's
// descriptor. Without a Waiter, or on pollers without a descriptor (poll,
// kqueue, WSAPoll), the poller blocks as before. A Windows IOCP facility would be another implementation of that
// interface whose wait blocks in GetQueuedCompletionStatusEx (woken with
// PostQueuedCompletionStatus) and runs each completion's handler on the loop
// goroutine; [Base.AddVirtual] keeps Dispatch from returning while
// operations are in flight, as libevent's virtual events do.
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
//   - An fd error or full hang-up wakes Closed events too (libevent wakes
//     only Read and Write interest, so a Closed-only event never learns of
//     the error while level-triggered pollers report it forever).
//   - Mixing ET and level-triggered events on one fd is always rejected
//     ([ErrETMismatch]); libevent checks only in debug mode.
//   - Closed is rejected at NewEvent on a poller without
//     [FeatureEarlyClose] instead of silently never firing.
//   - Event.Active from the loop goroutine is applied after the current
//     callback returns (before any other callback, and before Pending or
//     Del look at the event), because Go cannot tell the loop goroutine
//     from others cheaply; the observable order matches libevent.
//   - Event.Del never waits for a callback running on another goroutine
//     (libevent's event_del in threaded mode does): Del is loop-confined,
//     and other goroutines call it through Do, which runs after the
//     current callback.
//   - Now is safe for concurrent use; libevent's cached time is not.
//   - Deferred callbacks run in their own phase after the active events of
//     a turn instead of sharing the priority queues.
//   - Common timeouts are registered durations, not magic timevals: once
//     d is registered, every AddTimeout(d) on the base uses its queue.
//   - Close runs the deferred functions still queued (event_base_free drops
//     deferred callbacks) and the OnClose functions (libevent has no close
//     hook).
//   - There is no event_reinit: Go programs do not fork.
//   - Freed events cannot be reused: Add returns [ErrFreed] instead of
//     corrupting memory.
package eventbase
