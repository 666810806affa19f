// Package uring is a small io_uring binding for the async bufferevent backend: pure Go over
// golang.org/x/sys/unix raw system calls and the kernel's mmap'd rings, no cgo, no
// goroutines, no allocation per operation in steady state.
//
// It offers what a completion-based event loop needs and nothing more: a Ring with a
// submission queue filled by Prep methods (nop; accept, with or without the peer address,
// and multishot accept; connect; recv, send, readv, writev, sendmsg; cancel by user data
// or by descriptor; timeout and linked timeout; close; shutdown; receives into provided
// buffers; a one-shot poll), one Submit per loop turn, and Reap, which hands completions to a callback on
// the caller's goroutine. Each operation is named by a caller-chosen 64-bit user data value
// that comes back with its completion.
//
// # Plugging into an event loop
//
// The loop never blocks in io_uring_enter. It watches the ring with its own poller:
// FD is pollable and level-triggered (readable while completions wait), or RegisterEventFD
// makes the kernel signal an eventfd per completion (read the eventfd before reaping). A
// loop turn is: prepare operations, Submit once (it does not wait), sleep in epoll_wait,
// and when the ring is readable, Reap. SubmitAndWait exists for loops built on the ring
// alone, and for tests. A loop can also block in the ring instead: PrepPollAdd of its
// poller's descriptor (an epoll instance), then Wait, which submits, runs the ring's
// completion work and blocks until a completion — one of the operations, or that poll —
// is in the queue (Ready, Waiting tell which); the async backend does this through
// eventbase's Waiter.
//
// Completions of socket operations are usually finished by kernel task work run on the
// thread that submitted them; Linux interrupts that thread (even inside epoll_wait or an
// idle futex wait) to run it, so completions arrive whichever OS thread the loop goroutine
// happens to run on. The ring therefore sets up, by default, no flag that assumes the
// submitter stays on one thread or enters the kernel on its own (SINGLE_ISSUER,
// DEFER_TASKRUN, COOP_TASKRUN), nor SQPOLL or IOPOLL, which change the queue protocol.
// Two options relax this for callers that can accept their conditions. WithCoopTaskrun
// (COOP_TASKRUN) stops the kernel from interrupting a running submitter thread: it only
// wakes it when it sleeps, and otherwise leaves the completion work for its next entry
// into the kernel — immediate for a loop that makes a system call every turn, delayed
// (up to the runtime's 10 ms preemption signal) if the loop goroutine has moved away and
// its old thread computes without system calls. WithSingleIssuer (SINGLE_ISSUER with
// DEFER_TASKRUN) is for a caller that keeps one locked OS thread for the ring's whole
// life: completion work then runs only inside that thread's io_uring_enter calls (Wait,
// RunTaskWork), announced through a registered eventfd to a loop that waits elsewhere.
//
// One thread rule remains: when an OS thread exits, the kernel cancels the operations it
// submitted that are still waiting (they complete with -ECANCELED). A Go thread exits only
// when a goroutine ends while locked to it with runtime.LockOSThread, so the usual
// precaution is to run the event loop goroutine locked to its thread (nobody else can then
// lock and kill the thread that submitted) and to Close or Drain the ring before that
// goroutine returns. Either way, -ECANCELED is a normal result a caller must handle.
//
// # Submission queue full
//
// A Prep that finds the submission queue full flushes it to the kernel itself (a
// non-blocking io_uring_enter) and carries on, so callers may prepare any number of
// operations per turn. The exception is a link chain: after SetLastFlags(FlagLink) the ring
// will not flush (that would cut the chain in two), and a Prep that finds the queue full
// returns ErrSQFull. Call Reserve(n) before preparing a chain of n operations.
//
// # Completion queue overflow
//
// The ring requires IORING_FEAT_NODROP: when completions arrive faster than they are
// reaped, the kernel holds the extra ones back instead of dropping them, and Reap has them
// flushed into the queue, so none is lost. Only if the kernel cannot allocate memory for
// held-back completions does it drop some; the next io_uring_enter then fails and the
// error wraps ErrCompletionsLost.
//
// # Memory-safety contract
//
// The kernel reads and writes the memory of an operation after the system call that
// submitted it has returned, long after the usual unsafe.Pointer-to-uintptr rule stops
// protecting it. The ring therefore takes charge of that memory from the Prep call until
// the operation's final completion has been reaped:
//
//   - Buffers given to PrepRecv, PrepSend, PrepReadv, PrepWritev and PrepSendmsg are pinned
//     with runtime.Pinner, which keeps them reachable (the garbage collector cannot free
//     them even if the caller drops every reference) and guarantees they are not moved.
//     Taking their address through the Pinner also makes them escape to the heap, so a
//     buffer can never live on a goroutine stack that might be moved. The caller must not
//     read a receive buffer or modify a send buffer until the completion: the ring does
//     not copy them. The ring keeps the memory allocated; making sure its owner does not
//     hand it to someone else meanwhile (an evbuffer recycling a chain that is in flight)
//     is the caller's job. Memory the Go heap does not own (an mmap'd slab) can be used as
//     well; keeping it mapped is then the caller's job too.
//   - The small structures the kernel reads for an operation (iovec arrays, msghdr,
//     sockaddr, timespec) are built by the ring in a per-operation slot, a heap object
//     pinned the same way and reused only after the completion. The caller's [][]byte and
//     Sockaddr arguments can be reused as soon as the Prep returns.
//   - The pins are released just before the final completion (one without CQEFMore) is
//     passed to the Reap callback, which may then reuse the buffers and the user data.
//   - Close (and Drain) cancel everything outstanding and wait for the completions before
//     releasing anything; entries never submitted are withdrawn from the queue. If the
//     kernel fails to complete an operation within the close timeout, its memory is kept
//     pinned and reachable for the life of the process rather than freed under the
//     kernel's feet, and Close reports ErrDrainTimeout.
//   - A Ring must be closed. Dropping one with operations in flight is a bug: its descriptor
//     and mappings leak, and the runtime may abort with its "leaking pinned pointer" panic
//     when it finds the abandoned pins.
//
// Pinning allocates nothing in steady state, also for operations pinning more than the five
// objects one runtime.Pinner holds inline (the ring spreads them over several Pinners it
// keeps); the runtime may rarely allocate a small pin record when the loop goroutine moves
// to another P.
//
// # Concurrency
//
// A Ring is loop-confined: every method except FD must be called by one goroutine at a time,
// normally the event loop's. The Reap callback runs on that goroutine and may call any
// method of the ring, including Prep, Submit, Reap and Close. Supported and OpSupported are
// safe for concurrent use.
//
// # Errors
//
// Errors are this package's sentinels (ErrSQFull, ErrClosed, ErrUserDataInUse, ErrInvalid,
// ErrCQOverflow, ErrCompletionsLost, ErrDrainTimeout...) or wrap them, and system call
// failures wrap an *os.SyscallError around the unix.Errno, so errors.Is works for both.
// When io_uring is unavailable — ENOSYS from an old kernel, EPERM or EACCES from the
// kernel.io_uring_disabled sysctl or a seccomp filter, or a kernel older than 5.11 lacking
// a required feature — New and Supported return an error that matches
// errors.ErrUnsupported and the errno. Off Linux every entry point returns such an error.
//
// Results of operations are not Go errors: a completion's res is the system call's
// result, a negated errno on failure (-ECANCELED for a cancelled operation, -ETIME for an
// expired timeout, -ECONNRESET for a reset peer...).
//
// # Provided buffers
//
// BufRing registers a provided-buffer ring (IORING_REGISTER_PBUF_RING, Linux 5.19):
// buffers in memory mapped outside the Go heap that the kernel picks from when a receive
// prepared with PrepRecvBuffer or PrepRecvMultishot finds data. Their point is memory, not
// speed: a connection waiting for data holds no buffer, so many idle connections cost a
// fixed pool instead of one pinned buffer each. On a request/response exchange they are
// slower than a plain PrepRecv (the data arrives through the kernel's poll wake-up and task
// work instead of completing inline), see BenchmarkPingPong; the async backend should start
// with PrepRecv into reserved evbuffer space and keep buffer rings for servers with very
// many idle connections.
package uring
