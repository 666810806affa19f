//go:build linux

package uring

import (
	"fmt"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// requiredOps are the operations the async backend cannot do without.
var requiredOps = []Op{
	OpNop, OpReadv, OpWritev, OpSendmsg, OpTimeout, OpAccept, OpAsyncCancel,
	OpLinkTimeout, OpConnect, OpClose, OpSend, OpRecv,
}

var probed struct {
	once sync.Once
	err  error
	ops  [probeOps]bool
}

func doProbe() {
	r, err := New(2)
	if err != nil {
		probed.err = err
		return
	}
	defer r.Close()
	p := new(probe)
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), registerProbe, uintptr(unsafe.Pointer(p)), probeOps, 0, 0)
	if errno != 0 {
		probed.err = &unsupportedError{what: "cannot probe operations", errno: os.NewSyscallError("io_uring_register", errno)}
		return
	}
	for i := 0; i < int(p.opsLen) && i < probeOps; i++ {
		if p.ops[i].flags&probeOpSupported != 0 {
			probed.ops[p.ops[i].op] = true
		}
	}
	for _, op := range requiredOps {
		if !probed.ops[op] {
			probed.err = &unsupportedError{what: fmt.Sprintf("kernel lacks operation %v", op)}
			return
		}
	}
}

// Supported reports whether this kernel offers what the ring needs: io_uring itself, the
// features NODROP, SUBMIT_STABLE and EXT_ARG (Linux 5.11), and every operation this
// package prepares except PrepAcceptMultishot, PrepCancelFD and PrepShutdown, which
// OpSupported can check. The answer is computed once and cached. A non-nil error matches
// errors.ErrUnsupported. Safe for concurrent use.
func Supported() error {
	probed.once.Do(doProbe)
	return probed.err
}

// OpSupported reports whether the kernel supports operation op (IORING_REGISTER_PROBE).
// It is false for every op when io_uring itself is unavailable. Multishot accept and
// cancellation by file descriptor came with Linux 5.19, the kernel that added OpSocket, so
// OpSupported(OpSocket) answers for them. Safe for concurrent use.
func OpSupported(op Op) bool {
	probed.once.Do(doProbe)
	if !probed.ops[OpNop] {
		return false
	}
	return probed.ops[op]
}
