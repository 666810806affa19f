//go:build linux

package uring

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const defaultCloseTimeout = 5 * time.Second

func buildConfig(opts []Option) config {
	c := config{closeTimeout: defaultCloseTimeout}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// testSeparateCQMap makes tests map the CQ ring on its own, as kernels before 5.4 (without
// IORING_FEAT_SINGLE_MMAP) require; newer kernels accept both ways.
var testSeparateCQMap bool

// opSlot is the ring's record of one outstanding operation: what it pinned for the kernel
// and the small kernel-visible structures the ring built for it. Slots are heap objects
// that are never moved and are reused after their operation's last completion.
type opSlot struct {
	pins pinSet
	iov  []unix.Iovec // iovec array for readv/writev/sendmsg (capacity kept between uses)
	niov int
	msg  unix.Msghdr
	sa   unix.RawSockaddrAny
	ts   kernelTimespec
	// bufRing is the buffer group the operation selects from, if any.
	bufRing *BufRing
}

// release unpins everything the slot's operation pinned and forgets its buffers.
func (s *opSlot) release() {
	s.pins.unpin()
	clear(s.iov[:s.niov])
	s.niov = 0
	s.msg = unix.Msghdr{}
	if s.bufRing != nil {
		s.bufRing.inflight--
		s.bufRing = nil
	}
}

// Ring is one io_uring instance: a submission queue the caller fills with Prep methods and
// publishes with Submit, and a completion queue it drains with Reap.
//
// A Ring is loop-confined: it must be used by one goroutine at a time (its event loop);
// only FD is safe for concurrent use. See the package documentation for the memory-safety
// contract.
type Ring struct {
	fd           int
	features     uint32
	setupFlags   uint32
	closeTimeout time.Duration
	closed       bool

	ringMem []byte // SQ ring, and CQ ring too when the kernel has IORING_FEAT_SINGLE_MMAP
	cqMem   []byte // CQ ring when it is mapped on its own
	sqeMem  []byte

	sqHead    *uint32
	sqTail    *uint32
	sqFlags   *uint32
	sqMask    uint32
	sqEntries uint32
	sqes      []sqe
	sqeTail   uint32 // local tail: index of the next entry to fill
	lastOK    bool   // an entry was prepared since the last publication
	chainOpen bool   // the last prepared entry carries FlagLink or FlagHardLink

	cqHead     *uint32
	cqTail     *uint32
	cqOverflow *uint32
	cqMask     uint32
	cqEntries  uint32
	cqes       []cqe

	ops            opTable // prepared or in-flight operations by user data
	free           []*opSlot
	internal       int  // ring-internal requests (ReservedUserData) not yet completed
	cancelAnyNotOK bool // the kernel refused IORING_ASYNC_CANCEL_ANY (before 5.19)
	bufRings       map[uint16]*BufRing

	waitTS  kernelTimespec // argument storage for waiting io_uring_enter calls
	waitArg getEventsArg

	testNoCancel bool // tests: make Drain unable to cancel, to reach its timeout
}

// New creates a ring with a submission queue of at least entries entries (clamped by the
// kernel to its maximum, 32768) and, unless WithCQEntries says otherwise, a completion queue
// twice as large.
//
// When io_uring is not available — the kernel lacks it (ENOSYS), it is disabled by the
// kernel.io_uring_disabled sysctl or a seccomp filter (EPERM, EACCES), or the kernel is
// older than 5.11 and lacks a feature the ring relies on — the error matches
// errors.ErrUnsupported and wraps the errno, if any.
//
// Safe for concurrent use: each call makes its own ring, which is then loop-confined.
func New(entries uint32, opts ...Option) (*Ring, error) {
	if entries == 0 {
		return nil, invalid("ring size 0")
	}
	cfg := buildConfig(opts)
	flags := uint32(setupClamp | setupSubmitAll)
	if cfg.cqEntries != 0 {
		flags |= setupCQSize
	}
	if cfg.singleIssuer {
		flags |= setupSingleIss | setupDeferTR
	} else if cfg.coopTaskrun {
		flags |= setupCoopTR
	}
	var p params
	fd, err := setup(entries, cfg.cqEntries, flags, &p)
	if errors.Is(err, unix.EINVAL) && flags&setupCoopTR != 0 {
		// Kernels before 5.19 do not know IORING_SETUP_COOP_TASKRUN.
		flags &^= setupCoopTR
		fd, err = setup(entries, cfg.cqEntries, flags, &p)
	}
	if errors.Is(err, unix.EINVAL) {
		// Kernels before 5.18 do not know IORING_SETUP_SUBMIT_ALL.
		flags &^= setupSubmitAll
		fd, err = setup(entries, cfg.cqEntries, flags, &p)
	}
	if err != nil {
		return nil, err
	}
	const need = featNoDrop | featExtArg | featSubmitStable
	if p.features&need != need {
		unix.Close(fd)
		return nil, &unsupportedError{what: fmt.Sprintf("kernel lacks io_uring features %#x (needs Linux 5.11 or later)", need&^p.features)}
	}
	r := &Ring{
		fd:           fd,
		features:     p.features,
		setupFlags:   flags,
		closeTimeout: cfg.closeTimeout,
		ops:          newOpTable(),
	}
	if err := r.mapRings(&p); err != nil {
		r.unmap()
		unix.Close(fd)
		return nil, err
	}
	return r, nil
}

// setup calls io_uring_setup and classifies its failure.
func setup(entries, cqEntries, flags uint32, p *params) (int, error) {
	*p = params{flags: flags, cqEntries: cqEntries}
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(p)), 0)
	if errno != 0 {
		return -1, setupError(errno)
	}
	return int(fd), nil
}

// setupError turns an io_uring_setup errno into this package's error model.
func setupError(errno unix.Errno) error {
	serr := os.NewSyscallError("io_uring_setup", errno)
	switch errno {
	case unix.ENOSYS:
		return &unsupportedError{what: "not implemented by this kernel", errno: serr}
	case unix.EPERM, unix.EACCES:
		return &unsupportedError{what: "disabled (kernel.io_uring_disabled sysctl, io_uring_group membership, or a seccomp filter)", errno: serr}
	case unix.EINVAL:
		return fmt.Errorf("uring: %w (%w)", serr, ErrInvalid)
	}
	return fmt.Errorf("uring: %w", serr)
}

// mapRings maps the rings and the SQE array and sets the pointers into them.
func (r *Ring) mapRings(p *params) error {
	sqSize := int(p.sqOff.array) + int(p.sqEntries)*4
	cqSize := int(p.cqOff.cqes) + int(p.cqEntries)*int(unsafe.Sizeof(cqe{}))
	single := p.features&featSingleMmap != 0 && !testSeparateCQMap
	if single {
		sqSize = max(sqSize, cqSize)
	}
	const prot = unix.PROT_READ | unix.PROT_WRITE
	const flags = unix.MAP_SHARED | unix.MAP_POPULATE
	var err error
	if r.ringMem, err = unix.Mmap(r.fd, offSQRing, sqSize, prot, flags); err != nil {
		return fmt.Errorf("uring: mmap SQ ring: %w", err)
	}
	cqMem := r.ringMem
	if !single {
		if r.cqMem, err = unix.Mmap(r.fd, offCQRing, cqSize, prot, flags); err != nil {
			return fmt.Errorf("uring: mmap CQ ring: %w", err)
		}
		cqMem = r.cqMem
	}
	if r.sqeMem, err = unix.Mmap(r.fd, offSQEs, int(p.sqEntries)*int(unsafe.Sizeof(sqe{})), prot, flags); err != nil {
		return fmt.Errorf("uring: mmap SQEs: %w", err)
	}
	sq := unsafe.Pointer(unsafe.SliceData(r.ringMem))
	cq := unsafe.Pointer(unsafe.SliceData(cqMem))
	u32 := func(base unsafe.Pointer, off uint32) *uint32 { return (*uint32)(unsafe.Add(base, off)) }

	r.sqHead = u32(sq, p.sqOff.head)
	r.sqTail = u32(sq, p.sqOff.tail)
	r.sqFlags = u32(sq, p.sqOff.flags)
	r.sqMask = *u32(sq, p.sqOff.ringMask)
	r.sqEntries = *u32(sq, p.sqOff.ringEntries)
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(unsafe.SliceData(r.sqeMem))), r.sqEntries)
	// The SQ array indirection is kept as the identity: entry i of the array names SQE i.
	array := unsafe.Slice(u32(sq, p.sqOff.array), r.sqEntries)
	for i := range array {
		array[i] = uint32(i)
	}
	r.sqeTail = atomic.LoadUint32(r.sqTail)

	r.cqHead = u32(cq, p.cqOff.head)
	r.cqTail = u32(cq, p.cqOff.tail)
	r.cqOverflow = u32(cq, p.cqOff.overflow)
	r.cqMask = *u32(cq, p.cqOff.ringMask)
	r.cqEntries = *u32(cq, p.cqOff.ringEntries)
	r.cqes = unsafe.Slice((*cqe)(unsafe.Add(cq, p.cqOff.cqes)), r.cqEntries)
	return nil
}

// unmap releases the ring mappings.
func (r *Ring) unmap() {
	for _, m := range []*[]byte{&r.sqeMem, &r.cqMem, &r.ringMem} {
		if *m != nil {
			_ = unix.Munmap(*m)
			*m = nil
		}
	}
	r.sqes, r.cqes = nil, nil
	r.sqHead, r.sqTail, r.sqFlags, r.cqHead, r.cqTail, r.cqOverflow = nil, nil, nil, nil, nil, nil
}

// FD returns the ring's file descriptor. It is pollable: an epoll (level-triggered)
// reports it readable while completions are waiting to be reaped, which is how an event
// loop learns that Reap has work without ever blocking in io_uring_enter. The descriptor
// belongs to the ring; it is closed by Close. Safe for concurrent use.
func (r *Ring) FD() int { return r.fd }

// SingleIssuer reports whether the ring was set up WithSingleIssuer (single issuer,
// deferred task work). Loop-confined.
func (r *Ring) SingleIssuer() bool { return r.setupFlags&setupSingleIss != 0 }

// SQEntries returns the size of the submission queue. Loop-confined.
func (r *Ring) SQEntries() uint32 { return r.sqEntries }

// CQEntries returns the size of the completion queue. Loop-confined.
func (r *Ring) CQEntries() uint32 { return r.cqEntries }

// Features returns the IORING_FEAT_* bits the kernel reported. Loop-confined.
func (r *Ring) Features() uint32 { return r.features }

// Pending returns how many prepared operations have not yet been handed to the kernel.
// Loop-confined.
func (r *Ring) Pending() int {
	if r.closed {
		return 0
	}
	return int(r.sqeTail - atomic.LoadUint32(r.sqHead))
}

// InFlight returns how many operations (prepared or submitted) have not yet delivered their
// final completion. Loop-confined.
func (r *Ring) InFlight() int { return r.ops.len() }

// SQSpace returns how many operations can be prepared before the submission queue is full.
// Loop-confined.
func (r *Ring) SQSpace() int {
	if r.closed {
		return 0
	}
	return int(r.sqSpace())
}

func (r *Ring) sqSpace() uint32 {
	return r.sqEntries - (r.sqeTail - atomic.LoadUint32(r.sqHead))
}

// room makes sure n submission entries are free, flushing the queue to the kernel if that
// is needed and allowed (never in the middle of a link chain).
func (r *Ring) room(n uint32) error {
	if r.sqSpace() >= n {
		return nil
	}
	if r.chainOpen {
		return ErrSQFull
	}
	if _, err := r.submit(0, -1); err != nil {
		return err
	}
	if r.sqSpace() >= n {
		return nil
	}
	return ErrSQFull
}

// Reserve makes sure the next n Prep calls will find a free submission entry without
// flushing the queue, so that a link chain of n operations is submitted in one piece. It
// flushes the queue itself if needed. Loop-confined.
func (r *Ring) Reserve(n int) error {
	if r.closed {
		return ErrClosed
	}
	if n <= 0 {
		return nil
	}
	if n > int(r.sqEntries) {
		return invalid("cannot reserve %d entries in a queue of %d", n, r.sqEntries)
	}
	return r.room(uint32(n))
}

// SetLastFlags sets SQE flags on the most recently prepared operation, which must not have
// been submitted yet. With FlagLink or FlagHardLink the next Prep joins the chain; the ring
// will not flush the queue by itself until the chain is closed (by preparing an operation
// without link flags, or by Submit), so a Prep that finds the queue full returns ErrSQFull.
// Loop-confined.
func (r *Ring) SetLastFlags(f SQEFlags) error {
	if r.closed {
		return ErrClosed
	}
	if uint8(f)&^sqeFlagsUserMask != 0 {
		return invalid("SQE flags %#x", uint8(f))
	}
	if !r.lastOK {
		return ErrNoPrepared
	}
	e := &r.sqes[(r.sqeTail-1)&r.sqMask]
	e.flags = e.flags&^sqeFlagsUserMask | uint8(f)
	r.chainOpen = uint8(f)&sqeFlagsChainMask != 0
	return nil
}

// Submit hands every prepared operation to the kernel with one io_uring_enter that does
// not wait, and returns how many the kernel consumed. Operations the kernel could not take
// stay queued and are retried by the next Submit. Loop-confined.
func (r *Ring) Submit() (int, error) {
	if r.closed {
		return 0, ErrClosed
	}
	return r.submit(0, -1)
}

// SubmitAndWait submits like Submit and then waits until at least minComplete completions
// can be reaped, or timeout passes (a negative timeout waits without limit). Reaching the
// timeout is not an error; neither is a wait cut short by a signal. Loop-confined.
func (r *Ring) SubmitAndWait(minComplete uint32, timeout time.Duration) (int, error) {
	if r.closed {
		return 0, ErrClosed
	}
	return r.submit(minComplete, timeout)
}

// submit publishes the prepared entries and enters the kernel when there is something to
// submit, completions to wait for, or overflowed completions to flush.
func (r *Ring) submit(minComplete uint32, timeout time.Duration) (int, error) {
	atomic.StoreUint32(r.sqTail, r.sqeTail)
	r.lastOK, r.chainOpen = false, false
	total := 0
	for {
		toSubmit := r.sqeTail - atomic.LoadUint32(r.sqHead)
		var flags uint32
		if minComplete > 0 || atomic.LoadUint32(r.sqFlags)&(sqCQOverflow|sqTaskRun) != 0 {
			flags |= enterGetEvents
		}
		if toSubmit == 0 && flags == 0 {
			return total, nil
		}
		wait := minComplete
		if wait > 0 && timeout >= 0 {
			flags |= enterExtArg
		}
		n, err := r.enter(toSubmit, wait, flags, timeout)
		total += n
		switch {
		case err == nil:
			if wait > 0 || uint32(n) >= toSubmit {
				return total, nil
			}
			// The kernel stopped early (an entry failed to prepare without SUBMIT_ALL, or
			// it ran short of request memory): keep going while it makes progress; what
			// it does not take stays queued for the next Submit.
			if n == 0 {
				return total, nil
			}
		case errors.Is(err, unix.EINTR):
			if wait > 0 {
				return total, nil
			}
		case errors.Is(err, unix.ETIME):
			return total, nil
		default:
			return total, err
		}
	}
}

// enter calls io_uring_enter and maps its errors.
func (r *Ring) enter(toSubmit, minComplete, flags uint32, timeout time.Duration) (int, error) {
	var arg, argSize uintptr
	if flags&enterExtArg != 0 {
		r.waitTS = kernelTimespec{sec: int64(timeout / time.Second), nsec: int64(timeout % time.Second)}
		r.waitArg = getEventsArg{ts: uint64(uintptr(unsafe.Pointer(&r.waitTS)))}
		arg, argSize = uintptr(unsafe.Pointer(&r.waitArg)), unsafe.Sizeof(r.waitArg)
	}
	n, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), uintptr(minComplete), uintptr(flags), arg, argSize)
	runtime.KeepAlive(r)
	if errno == 0 {
		return int(n), nil
	}
	switch errno {
	case unix.EINTR, unix.ETIME:
		return 0, errno
	case unix.EBUSY:
		return 0, fmt.Errorf("%w: %w", ErrCQOverflow, os.NewSyscallError("io_uring_enter", errno))
	case unix.EBADR:
		return 0, fmt.Errorf("%w: %w", ErrCompletionsLost, os.NewSyscallError("io_uring_enter", errno))
	}
	return 0, fmt.Errorf("uring: %w", os.NewSyscallError("io_uring_enter", errno))
}

// RunTaskWork asks the kernel to run the completion work it deferred for this ring
// (rings made WithSingleIssuer; on others it only flushes overflowed completions), so
// that the completions become visible to Reap. It does not wait. Loop-confined: on a
// single-issuer ring, call it from the ring's thread.
func (r *Ring) RunTaskWork() error {
	if r.closed {
		return ErrClosed
	}
	if _, err := r.enter(0, 0, enterGetEvents, 0); err != nil && !errors.Is(err, unix.EINTR) {
		return err
	}
	return nil
}

// Wait submits the prepared operations and enters the kernel to collect completions:
// the kernel runs the completion work it holds for this ring (task work, deferred on a
// single-issuer ring), then, when minComplete > 0, blocks until at least minComplete
// completions are in the queue or timeout passes (negative: no limit). Reaching the
// timeout is not an error, nor is a wait cut short by a signal; the caller looks at the
// queue (Ready) either way. Loop-confined: on a single-issuer ring, call it from the
// ring's thread.
func (r *Ring) Wait(minComplete uint32, timeout time.Duration) error {
	if r.closed {
		return ErrClosed
	}
	atomic.StoreUint32(r.sqTail, r.sqeTail)
	r.lastOK, r.chainOpen = false, false
	toSubmit := r.sqeTail - atomic.LoadUint32(r.sqHead)
	flags := uint32(enterGetEvents)
	if minComplete > 0 && timeout >= 0 {
		flags |= enterExtArg
	}
	_, err := r.enter(toSubmit, minComplete, flags, timeout)
	if err != nil && !errors.Is(err, unix.EINTR) && !errors.Is(err, unix.ETIME) {
		return err
	}
	return nil
}

// Ready returns how many completions wait in the completion queue. Loop-confined.
func (r *Ring) Ready() int {
	return int(atomic.LoadUint32(r.cqTail) - atomic.LoadUint32(r.cqHead))
}

// Waiting reports whether a completion with user data ud waits in the completion queue
// (without taking it: Reap still delivers it). Loop-confined.
func (r *Ring) Waiting(ud uint64) bool {
	tail := atomic.LoadUint32(r.cqTail)
	for h := atomic.LoadUint32(r.cqHead); h != tail; h++ {
		if r.cqes[h&r.cqMask].userData == ud {
			return true
		}
	}
	return false
}

// Reap delivers every completion waiting in the completion queue to fn, in order, on the
// calling goroutine, and returns how many it delivered. It never blocks. When the kernel
// held completions back because the queue was full (IORING_FEAT_NODROP), Reap has them
// flushed into the queue and delivers them too, so nothing is lost.
//
// An operation's user data and pinned memory are released just before fn sees its final
// completion (one without CQEFMore), so fn may reuse the user data at once, prepare new
// operations, submit, or even call Reap or Close. fn may be nil to discard completions.
// Reap allocates nothing. Loop-confined.
func (r *Ring) Reap(fn CompletionFunc) (int, error) {
	if r.closed {
		return 0, ErrClosed
	}
	n := 0
	for !r.closed {
		head := atomic.LoadUint32(r.cqHead)
		if head == atomic.LoadUint32(r.cqTail) {
			if atomic.LoadUint32(r.sqFlags)&sqCQOverflow == 0 {
				break
			}
			// Ask the kernel to move its held-back completions into the queue.
			if _, err := r.enter(0, 0, enterGetEvents, 0); err != nil && !errors.Is(err, unix.EINTR) {
				return n, err
			}
			if head == atomic.LoadUint32(r.cqTail) {
				break
			}
			continue
		}
		c := r.cqes[head&r.cqMask]
		atomic.StoreUint32(r.cqHead, head+1)
		if r.complete(&c) && fn != nil {
			fn(c.userData, c.res, c.flags)
		}
		n++
	}
	return n, nil
}

// complete updates the bookkeeping for one completion and reports whether it belongs to the
// caller (as opposed to a ring-internal request).
func (r *Ring) complete(c *cqe) bool {
	if c.userData == ReservedUserData {
		r.internal--
		if c.res == -int32(unix.EINVAL) {
			r.cancelAnyNotOK = true
		}
		return false
	}
	if c.flags&cqeFMore != 0 {
		return true
	}
	if slot := r.ops.del(c.userData); slot != nil {
		r.putSlot(slot)
	}
	return true
}

func (r *Ring) getSlot() *opSlot {
	if n := len(r.free); n > 0 {
		s := r.free[n-1]
		r.free[n-1] = nil
		r.free = r.free[:n-1]
		return s
	}
	return new(opSlot)
}

func (r *Ring) putSlot(s *opSlot) {
	s.release()
	r.free = append(r.free, s)
}

// RegisterEventFD asks the kernel to signal the eventfd efd each time it posts a
// completion, the other way (besides polling FD) to plug the ring into an event loop.
// The caller owns efd and must read it to reset it before reaping. Loop-confined.
func (r *Ring) RegisterEventFD(efd int) error {
	if r.closed {
		return ErrClosed
	}
	v := int32(efd)
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), registerEventFD, uintptr(unsafe.Pointer(&v)), 1, 0, 0)
	if errno != 0 {
		return fmt.Errorf("uring: %w", os.NewSyscallError("io_uring_register", errno))
	}
	return nil
}

// UnregisterEventFD removes the eventfd registered by RegisterEventFD. Loop-confined.
func (r *Ring) UnregisterEventFD() error {
	if r.closed {
		return ErrClosed
	}
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), unregisterEventFD, 0, 0, 0, 0)
	if errno != 0 {
		return fmt.Errorf("uring: %w", os.NewSyscallError("io_uring_register", errno))
	}
	return nil
}

// Drain cancels every outstanding operation and reaps until none is left or timeout
// passes, delivering each completion to fn (which may be nil). Operations prepared but not
// yet consumed by the kernel are withdrawn and reported to fn with -ECANCELED without ever
// reaching the kernel. The ring stays usable. If operations are still in flight at the
// timeout (the kernel cannot always interrupt an operation that is already running), the
// error wraps ErrDrainTimeout. fn must not prepare new operations (Drain would cancel them
// too, until the timeout). Loop-confined.
func (r *Ring) Drain(timeout time.Duration, fn CompletionFunc) error {
	if r.closed {
		return ErrClosed
	}
	r.withdraw(fn)
	deadline := time.Now().Add(timeout)
	var lastCancel time.Time
	for {
		if _, err := r.Reap(fn); err != nil {
			return err
		}
		if r.ops.len() == 0 && r.internal == 0 {
			return nil
		}
		now := time.Now()
		// Cancel at once (even with a zero timeout), then again every 50ms for operations
		// that were running and could not be stopped the first time.
		if r.ops.len() > 0 && now.Sub(lastCancel) >= 50*time.Millisecond && !r.testNoCancel {
			lastCancel = now
			if err := r.cancelEverything(); err != nil {
				return err
			}
		}
		if _, err := r.submit(1, min(max(deadline.Sub(now), 0), 50*time.Millisecond)); err != nil {
			return err
		}
		if _, err := r.Reap(fn); err != nil {
			return err
		}
		if r.ops.len() == 0 && r.internal == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: %d operations", ErrDrainTimeout, r.ops.len())
		}
	}
}

// withdraw takes back the entries the kernel has not consumed and reports them to fn as
// cancelled. It is safe because without SQPOLL the kernel reads the SQ tail only inside
// io_uring_enter.
func (r *Ring) withdraw(fn CompletionFunc) {
	head := atomic.LoadUint32(r.sqHead)
	for i := head; i != r.sqeTail; i++ {
		ud := r.sqes[i&r.sqMask].userData
		if ud == ReservedUserData {
			r.internal--
			continue
		}
		if slot := r.ops.del(ud); slot != nil {
			r.putSlot(slot)
		}
		if fn != nil {
			fn(ud, -int32(unix.ECANCELED), 0)
		}
	}
	r.sqeTail = head
	atomic.StoreUint32(r.sqTail, head)
	r.lastOK, r.chainOpen = false, false
}

// cancelEverything queues cancellation requests for all outstanding operations and
// submits them: one IORING_ASYNC_CANCEL_ANY request, or one request per operation on
// kernels that refuse it.
func (r *Ring) cancelEverything() error {
	if !r.cancelAnyNotOK {
		if err := r.prepInternal(sqe{opcode: uint8(OpAsyncCancel), fd: -1, opFlags: cancelFlagAny | cancelFlagAll}); err != nil {
			return err
		}
	} else {
		var err error
		r.ops.each(func(ud uint64, _ *opSlot) {
			if err == nil {
				err = r.prepInternal(sqe{opcode: uint8(OpAsyncCancel), fd: -1, addr: ud, opFlags: cancelFlagAll})
			}
		})
		if err != nil {
			return err
		}
	}
	_, err := r.submit(0, -1)
	return err
}

// prepInternal queues a ring-internal request (user data ReservedUserData).
func (r *Ring) prepInternal(e sqe) error {
	if err := r.room(1); err != nil {
		return err
	}
	e.userData = ReservedUserData
	r.sqes[r.sqeTail&r.sqMask] = e
	r.sqeTail++
	r.internal++
	return nil
}

// leaked keeps the slots of operations that were still in flight when their ring was
// closed: the kernel may still write into their memory, so it must never be freed or
// reused. This only happens when an operation ignores cancellation for the whole close
// timeout.
var leaked struct {
	sync.Mutex
	slots []*opSlot
}

// Close cancels every outstanding operation, waits (up to the close timeout, see
// WithCloseTimeout) for their completions, then closes its buffer rings, unmaps the rings
// and closes the ring's file descriptor. Completions reaped during Close are discarded; call Drain first to see them.
// If some operation did not complete in time, Close still releases the ring but keeps that
// operation's memory pinned and reachable for the life of the process, and returns an
// error wrapping ErrDrainTimeout. A second Close returns ErrClosed. Loop-confined.
func (r *Ring) Close() error {
	if r.closed {
		return ErrClosed
	}
	err := r.Drain(r.closeTimeout, nil)
	r.closed = true
	if r.ops.len() > 0 {
		leaked.Lock()
		r.ops.each(func(_ uint64, s *opSlot) {
			leaked.slots = append(leaked.slots, s)
		})
		leaked.Unlock()
	}
	for _, b := range r.bufRings {
		if r.ops.len() == 0 {
			b.inflight = 0
			_ = b.Close() // unregistered with the ring; only unmaps
		} else {
			b.closed = true // the kernel may still write into the buffers: keep them mapped
		}
	}
	r.bufRings = nil
	r.unmap()
	if cerr := unix.Close(r.fd); cerr != nil && err == nil {
		err = fmt.Errorf("uring: %w", os.NewSyscallError("close", cerr))
	}
	r.ops, r.free = opTable{}, nil
	return err
}
