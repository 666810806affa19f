//go:build linux

package uring

import "unsafe"

// Kernel ABI of io_uring (include/uapi/linux/io_uring.h). Only what this package uses.

// io_uring_setup flags. The ring uses no others: the remaining ones change the queue
// protocol (SQPOLL, IOPOLL, SQE128, CQE32, NO_MMAP, NO_SQARRAY), tie the ring to one OS
// thread (SINGLE_ISSUER, DEFER_TASKRUN), or leave completions unannounced until the
// submitting thread enters the kernel (COOP_TASKRUN), which a goroutine that moves between
// threads cannot guarantee.
const (
	setupCQSize    = 1 << 3
	setupClamp     = 1 << 4
	setupSubmitAll = 1 << 7
	setupCoopTR    = 1 << 8
	setupSingleIss = 1 << 12
	setupDeferTR   = 1 << 13
)

// Features reported by io_uring_setup.
const (
	featSingleMmap   = 1 << 0
	featNoDrop       = 1 << 1
	featSubmitStable = 1 << 2
	featExtArg       = 1 << 8
)

// io_uring_enter flags.
const (
	enterGetEvents = 1 << 0
	enterExtArg    = 1 << 3
)

// SQ ring flags.
const (
	sqCQOverflow = 1 << 1
	sqTaskRun    = 1 << 2
)

// mmap offsets.
const (
	offSQRing = 0
	offCQRing = 0x8000000
	offSQEs   = 0x10000000
)

// io_uring_register opcodes.
const (
	registerEventFD   = 4
	unregisterEventFD = 5
	registerProbe     = 8
)

// Operation-specific flags.
const (
	timeoutFlagNone   = 0
	cancelFlagAll     = 1 << 0
	cancelFlagFD      = 1 << 1
	cancelFlagAny     = 1 << 2
	acceptMultishot   = 1 << 0 // in sqe.ioprio
	recvPollFirst     = 1 << 0 // IORING_RECVSEND_POLL_FIRST, in sqe.ioprio (Linux 5.19)
	probeOpSupported  = 1 << 0
	cqeFMore          = 1 << 1
	maxIovecs         = 1024 // UIO_MAXIOV
	sqeFlagsUserMask  = uint8(FlagDrain | FlagLink | FlagHardLink | FlagAsync)
	sqeFlagsChainMask = uint8(FlagLink | FlagHardLink)
)

type sqringOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type cqringOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

type params struct {
	sqEntries    uint32
	cqEntries    uint32
	flags        uint32
	sqThreadCPU  uint32
	sqThreadIdle uint32
	features     uint32
	wqFD         uint32
	resv         [3]uint32
	sqOff        sqringOffsets
	cqOff        cqringOffsets
}

// sqe is struct io_uring_sqe (64 bytes).
type sqe struct {
	opcode      uint8
	flags       uint8
	ioprio      uint16
	fd          int32
	off         uint64 // also addr2
	addr        uint64
	len         uint32
	opFlags     uint32 // rw_flags, msg_flags, timeout_flags, accept_flags, cancel_flags...
	userData    uint64
	bufIndex    uint16
	personality uint16
	spliceFDIn  int32 // also file_index
	addr3       uint64
	pad2        uint64
}

// cqe is struct io_uring_cqe (16 bytes; CQE32 rings are refused).
type cqe struct {
	userData uint64
	res      int32
	flags    uint32
}

// kernelTimespec is struct __kernel_timespec (64-bit fields on every architecture).
type kernelTimespec struct {
	sec  int64
	nsec int64
}

// getEventsArg is struct io_uring_getevents_arg.
type getEventsArg struct {
	sigmask   uint64
	sigmaskSz uint32
	pad       uint32
	ts        uint64
}

type probeOp struct {
	op    uint8
	resv  uint8
	flags uint16
	resv2 uint32
}

const probeOps = 256

type probe struct {
	lastOp uint8
	opsLen uint8
	resv   uint16
	resv2  [3]uint32
	ops    [probeOps]probeOp
}

// Compile-time layout checks.
var (
	_ [64 - unsafe.Sizeof(sqe{})]byte
	_ [unsafe.Sizeof(sqe{}) - 64]byte
	_ [16 - unsafe.Sizeof(cqe{})]byte
	_ [unsafe.Sizeof(cqe{}) - 16]byte
	_ [120 - unsafe.Sizeof(params{})]byte
	_ [unsafe.Sizeof(params{}) - 120]byte
	_ [24 - unsafe.Sizeof(getEventsArg{})]byte
	_ [unsafe.Sizeof(getEventsArg{}) - 24]byte
)
