package uring

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Every error returned by this package is, or wraps, one of these or a
// syscall errno (unix.Errno), so callers test them with errors.Is.
// Sentinel values, never modified: safe for concurrent use.
var (
	// ErrSQFull is returned by a Prep method or Reserve when no submission queue entry is
	// free and the ring may not flush the queue by itself, because the last prepared entry
	// opened a link chain that a flush would cut in two. Submit, then prepare the whole
	// chain again (or call Reserve before starting a chain).
	ErrSQFull = errors.New("uring: submission queue full")

	// ErrClosed is returned by every method of a Ring after Close.
	ErrClosed = errors.New("uring: ring closed")

	// ErrUserDataInUse is returned by a Prep method when the user data it was given already
	// names an operation that is prepared or in flight: user data must be unique among the
	// ring's outstanding operations, because it is the key the ring finds an operation by.
	ErrUserDataInUse = errors.New("uring: user data already names an outstanding operation")

	// ErrReservedUserData is returned by a Prep method given ReservedUserData.
	ErrReservedUserData = errors.New("uring: user data value is reserved for the ring")

	// ErrInvalid is wrapped by errors for bad arguments (empty buffer lists, too many
	// iovecs, an unsupported address type, an entry count of zero...).
	ErrInvalid = errors.New("uring: invalid argument")

	// ErrNoPrepared is returned by SetLastFlags when no operation is prepared and not yet
	// submitted.
	ErrNoPrepared = errors.New("uring: no prepared operation to modify")

	// ErrCQOverflow is wrapped in the error of Submit when an older kernel refuses new
	// submissions (EBUSY) until the completions it holds back are reaped. Reap, then submit
	// again; the prepared entries are still queued.
	ErrCQOverflow = errors.New("uring: completion queue overflowing; reap before submitting")

	// ErrCompletionsLost is returned when the kernel reports (EBADR) that it dropped
	// completions because it could not allocate memory to hold back an overflowing
	// completion queue. Operations whose completion was lost will never complete: the
	// ring cannot be trusted any more and should be closed.
	ErrCompletionsLost = errors.New("uring: kernel dropped completions")

	// ErrDrainTimeout is returned by Drain and Close when operations were still in flight
	// when the timeout expired. Close then deliberately keeps the memory of those
	// operations reachable and pinned for the life of the process instead of letting the
	// kernel write into freed memory.
	ErrDrainTimeout = errors.New("uring: operations still in flight after timeout")
)

// ReservedUserData is the one user data value the ring keeps for its own requests (the
// cancellations issued by Drain and Close). Prep methods refuse it.
// A constant, safe for concurrent use.
const ReservedUserData = ^uint64(0)

// unsupportedError reports that io_uring (or a feature this package needs) is not
// available. It matches errors.ErrUnsupported and, when there is one, the errno that
// revealed it (ENOSYS, EPERM, EACCES...).
type unsupportedError struct {
	what  string
	errno error
}

func (e *unsupportedError) Error() string {
	if e.errno == nil {
		return "uring: io_uring unsupported: " + e.what
	}
	return "uring: io_uring unsupported: " + e.what + ": " + e.errno.Error()
}

func (e *unsupportedError) Unwrap() []error {
	if e.errno == nil {
		return []error{errors.ErrUnsupported}
	}
	return []error{errors.ErrUnsupported, e.errno}
}

// invalid returns an error wrapping ErrInvalid with a detail.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// CompletionFunc receives one completion: the user data of the operation, its result (a
// byte count, a file descriptor, zero, or a negated errno such as -int32(unix.ECANCELED))
// and the CQE flags (CQEFMore and friends). Reap and Drain call it on the loop goroutine,
// the one calling them: Loop-confined.
type CompletionFunc func(userData uint64, res int32, flags uint32)

// CQE flags as reported to a CompletionFunc.
// Constants, safe for concurrent use.
const (
	// CQEFMore means the operation (a multishot accept) stays armed and will complete
	// again; its user data stays in use.
	CQEFMore uint32 = 1 << 1
	// CQEFSockNonEmpty means more data was waiting in the socket after a receive.
	CQEFSockNonEmpty uint32 = 1 << 2
	// CQEFBuffer means the completion used a provided buffer; see BufferID.
	CQEFBuffer uint32 = 1 << 0
)

const cqeBufferShift = 16

// BufferID returns the provided buffer a completion used, if its flags say it used one.
// Safe for concurrent use.
func BufferID(flags uint32) (uint16, bool) {
	return uint16(flags >> cqeBufferShift), flags&CQEFBuffer != 0
}

// SQEFlags modify how the kernel issues a prepared operation (IOSQE_* flags).
// Values are immutable: safe for concurrent use.
type SQEFlags uint8

// The SQE flags this package lets callers set with SetLastFlags. Flags that would break the
// ring's bookkeeping (CQE skipping, fixed files, buffer selection) are not offered.
// Constants, safe for concurrent use.
const (
	// FlagDrain: issue the operation only after every earlier one has completed.
	FlagDrain SQEFlags = 1 << 1
	// FlagLink: the next prepared operation starts only after this one succeeded; if this
	// one fails (or is short), the rest of the chain completes with -ECANCELED. A
	// PrepLinkTimeout right after a linked operation bounds it in time.
	FlagLink SQEFlags = 1 << 2
	// FlagHardLink: like FlagLink, but the chain continues even if this one fails.
	FlagHardLink SQEFlags = 1 << 3
	// FlagAsync: always issue the operation from a kernel worker instead of trying it inline.
	FlagAsync SQEFlags = 1 << 4
)

// Op is an io_uring opcode, used with OpSupported. Values are immutable: safe for
// concurrent use.
type Op uint8

// The opcodes this package prepares (values from the kernel's enum io_uring_op).
// Constants, safe for concurrent use.
const (
	OpNop         Op = 0
	OpReadv       Op = 1
	OpWritev      Op = 2
	OpPollAdd     Op = 6
	OpSendmsg     Op = 9
	OpTimeout     Op = 11
	OpAccept      Op = 13
	OpAsyncCancel Op = 14
	OpLinkTimeout Op = 15
	OpConnect     Op = 16
	OpClose       Op = 19
	OpSend        Op = 26
	OpRecv        Op = 27
	OpShutdown    Op = 34
	OpSocket      Op = 45 // first op of kernel 5.19, which also brought multishot accept
)

var opNames = map[Op]string{
	OpNop: "nop", OpReadv: "readv", OpWritev: "writev", OpPollAdd: "poll_add", OpSendmsg: "sendmsg",
	OpTimeout: "timeout", OpAccept: "accept", OpAsyncCancel: "async_cancel",
	OpLinkTimeout: "link_timeout", OpConnect: "connect", OpClose: "close", OpSend: "send",
	OpRecv: "recv", OpShutdown: "shutdown", OpSocket: "socket",
}

// String returns the opcode's name ("recv", "accept"...), or "op(N)". Safe for concurrent
// use.
func (o Op) String() string {
	if s, ok := opNames[o]; ok {
		return s
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// Option configures New. Options are plain values, safe for concurrent use.
type Option func(*config)

type config struct {
	cqEntries    uint32
	closeTimeout time.Duration
	singleIssuer bool
	coopTaskrun  bool
}

// WithCoopTaskrun sets the ring up with IORING_SETUP_COOP_TASKRUN (Linux 5.19): the
// kernel no longer interrupts the submitting thread (an inter-processor interrupt when it
// is running) to finish completions; it wakes it if it sleeps, and otherwise lets it
// finish them at its next entry into the kernel. An event loop that makes system calls
// every turn (epoll_wait, Submit) loses nothing; a loop whose submitting thread got
// taken over by a goroutine computing without system calls sees those completions
// delayed until that thread enters the kernel (at the latest the runtime's preemption
// signal, every 10 ms). New retries without it on kernels that do not know it. Safe for
// concurrent use.
func WithCoopTaskrun() Option { return func(c *config) { c.coopTaskrun = true } }

// WithSingleIssuer sets the ring up for one submitting OS thread with deferred task
// work (IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, Linux 6.1): the kernel
// runs completion work only when that thread asks for it (RunTaskWork, Submit), never
// by interrupting it, which saves an inter-processor interrupt and a task-work run per
// burst of completions. The price: every io_uring_enter must come from the thread that
// created the ring — the caller must hold its goroutine with runtime.LockOSThread for
// the ring's whole life — and the ring's descriptor is no longer a reliable readiness
// signal: register an eventfd (RegisterEventFD), watch it, and call RunTaskWork before
// Reap. New fails with EINVAL on older kernels. Safe for concurrent use.
func WithSingleIssuer() Option { return func(c *config) { c.singleIssuer = true } }

// WithCQEntries asks for a completion queue of n entries (rounded up to a power of two by
// the kernel) instead of the default twice the submission queue size. It must be at least
// the submission queue size. Safe for concurrent use.
func WithCQEntries(n uint32) Option { return func(c *config) { c.cqEntries = n } }

// WithCloseTimeout bounds how long Close waits for cancelled operations to complete
// (default 5 s). See ErrDrainTimeout. Safe for concurrent use.
func WithCloseTimeout(d time.Duration) Option { return func(c *config) { c.closeTimeout = d } }
