//go:build !linux

package uring

import (
	"runtime"
	"time"
)

// Sockaddr is the address type PrepConnect takes: unix.Sockaddr on Linux, any value
// elsewhere (where PrepConnect always fails). Not safe for concurrent use (off Linux
// nothing uses it).
type Sockaddr = any

// errNotLinux is what every entry point returns off Linux.
var errNotLinux = &unsupportedError{what: "io_uring exists only on Linux, not " + runtime.GOOS}

// Ring is one io_uring instance. Off Linux no Ring can be created; the type exists so that
// code using it compiles everywhere. Loop-confined.
type Ring struct{ _ [0]func() }

// New always fails off Linux with an error matching errors.ErrUnsupported. Safe for
// concurrent use.
func New(entries uint32, opts ...Option) (*Ring, error) {
	if entries == 0 {
		return nil, invalid("ring size 0")
	}
	return nil, errNotLinux
}

// Supported always reports an error matching errors.ErrUnsupported off Linux. Safe for
// concurrent use.
func Supported() error { return errNotLinux }

// OpSupported is always false off Linux. Safe for concurrent use.
func OpSupported(op Op) bool { return false }

// FD returns -1 off Linux. Safe for concurrent use.
func (r *Ring) FD() int { return -1 }

// SQEntries returns 0 off Linux. Loop-confined.
func (r *Ring) SQEntries() uint32 { return 0 }

// CQEntries returns 0 off Linux. Loop-confined.
func (r *Ring) CQEntries() uint32 { return 0 }

// Features returns 0 off Linux. Loop-confined.
func (r *Ring) Features() uint32 { return 0 }

// Pending returns 0 off Linux. Loop-confined.
func (r *Ring) Pending() int { return 0 }

// InFlight returns 0 off Linux. Loop-confined.
func (r *Ring) InFlight() int { return 0 }

// SQSpace returns 0 off Linux. Loop-confined.
func (r *Ring) SQSpace() int { return 0 }

// Reserve fails off Linux. Loop-confined.
func (r *Ring) Reserve(n int) error { return errNotLinux }

// SetLastFlags fails off Linux. Loop-confined.
func (r *Ring) SetLastFlags(f SQEFlags) error { return errNotLinux }

// Submit fails off Linux. Loop-confined.
func (r *Ring) Submit() (int, error) { return 0, errNotLinux }

// SubmitAndWait fails off Linux. Loop-confined.
func (r *Ring) SubmitAndWait(minComplete uint32, timeout time.Duration) (int, error) {
	return 0, errNotLinux
}

// Reap fails off Linux. Loop-confined.
func (r *Ring) Reap(fn CompletionFunc) (int, error) { return 0, errNotLinux }

// RegisterEventFD fails off Linux. Loop-confined.
func (r *Ring) RegisterEventFD(efd int) error { return errNotLinux }

// UnregisterEventFD fails off Linux. Loop-confined.
func (r *Ring) UnregisterEventFD() error { return errNotLinux }

// Drain fails off Linux. Loop-confined.
func (r *Ring) Drain(timeout time.Duration, fn CompletionFunc) error { return errNotLinux }

// Close fails off Linux. Loop-confined.
func (r *Ring) Close() error { return errNotLinux }

// PrepNop fails off Linux. Loop-confined.
func (r *Ring) PrepNop(ud uint64) error { return errNotLinux }

// PrepAccept fails off Linux. Loop-confined.
func (r *Ring) PrepAccept(ud uint64, fd int, flags int) error { return errNotLinux }

// PrepAcceptMultishot fails off Linux. Loop-confined.
func (r *Ring) PrepAcceptMultishot(ud uint64, fd int, flags int) error { return errNotLinux }

// PrepConnect fails off Linux. Loop-confined.
func (r *Ring) PrepConnect(ud uint64, fd int, sa Sockaddr) error { return errNotLinux }

// PrepRecv fails off Linux. Loop-confined.
func (r *Ring) PrepRecv(ud uint64, fd int, buf []byte, flags int) error { return errNotLinux }

// RunTaskWork fails off Linux. Loop-confined.
func (r *Ring) RunTaskWork() error { return errNotLinux }

// PrepRecvPollFirst returns an error matching errors.ErrUnsupported. Loop-confined.
func (r *Ring) PrepRecvPollFirst(ud uint64, fd int, buf []byte, flags int) error { return errNotLinux }

// PrepSend fails off Linux. Loop-confined.
func (r *Ring) PrepSend(ud uint64, fd int, buf []byte, flags int) error { return errNotLinux }

// PrepReadv fails off Linux. Loop-confined.
func (r *Ring) PrepReadv(ud uint64, fd int, bufs [][]byte) error { return errNotLinux }

// PrepWritev fails off Linux. Loop-confined.
func (r *Ring) PrepWritev(ud uint64, fd int, bufs [][]byte) error { return errNotLinux }

// PrepSendmsg fails off Linux. Loop-confined.
func (r *Ring) PrepSendmsg(ud uint64, fd int, bufs [][]byte, flags int) error { return errNotLinux }

// PrepCancel fails off Linux. Loop-confined.
func (r *Ring) PrepCancel(ud, target uint64, all bool) error { return errNotLinux }

// PrepCancelFD fails off Linux. Loop-confined.
func (r *Ring) PrepCancelFD(ud uint64, fd int, all bool) error { return errNotLinux }

// PrepTimeout fails off Linux. Loop-confined.
func (r *Ring) PrepTimeout(ud uint64, d time.Duration) error { return errNotLinux }

// PrepLinkTimeout fails off Linux. Loop-confined.
func (r *Ring) PrepLinkTimeout(ud uint64, d time.Duration) error { return errNotLinux }

// PrepClose fails off Linux. Loop-confined.
func (r *Ring) PrepClose(ud uint64, fd int) error { return errNotLinux }

// PrepShutdown fails off Linux. Loop-confined.
func (r *Ring) PrepShutdown(ud uint64, fd int, how int) error { return errNotLinux }

// BufRing is a group of provided buffers. Off Linux none can be created. Loop-confined.
type BufRing struct{ _ [0]func() }

// NewBufRing fails off Linux. Loop-confined.
func (r *Ring) NewBufRing(group uint16, count, size int) (*BufRing, error) { return nil, errNotLinux }

// NewBufRingPartial fails off Linux. Loop-confined.
func (r *Ring) NewBufRingPartial(group uint16, count, size, provide int) (*BufRing, error) {
	return nil, errNotLinux
}

// Grow provides nothing off Linux. Loop-confined.
func (b *BufRing) Grow(n int) int { return 0 }

// Provided returns 0 off Linux. Loop-confined.
func (b *BufRing) Provided() int { return 0 }

// Count returns 0 off Linux. Loop-confined.
func (b *BufRing) Count() int { return 0 }

// Group returns 0 off Linux. Loop-confined.
func (b *BufRing) Group() uint16 { return 0 }

// Buffer returns nil off Linux. Loop-confined.
func (b *BufRing) Buffer(id uint16) []byte { return nil }

// Recycle fails off Linux. Loop-confined.
func (b *BufRing) Recycle(id uint16) error { return errNotLinux }

// Close fails off Linux. Loop-confined.
func (b *BufRing) Close() error { return errNotLinux }

// PrepRecvBuffer fails off Linux. Loop-confined.
func (r *Ring) PrepRecvBuffer(ud uint64, fd int, group uint16, flags int) error { return errNotLinux }

// PrepRecvMultishot fails off Linux. Loop-confined.
func (r *Ring) PrepRecvMultishot(ud uint64, fd int, group uint16, flags int) error {
	return errNotLinux
}

// AcceptAddr receives the peer address of an accepted connection. Off Linux it is never
// filled. Loop-confined.
type AcceptAddr struct{ _ [0]func() }

// PrepAcceptAddr fails off Linux. Loop-confined.
func (r *Ring) PrepAcceptAddr(ud uint64, fd int, flags int, addr *AcceptAddr) error {
	return errNotLinux
}

// Sockaddr fails off Linux. Loop-confined.
func (a *AcceptAddr) Sockaddr() (Sockaddr, error) { return nil, errNotLinux }

// PrepPollAdd fails off Linux. Loop-confined.
func (r *Ring) PrepPollAdd(ud uint64, fd int, events uint32) error { return errNotLinux }

// Wait fails off Linux. Loop-confined.
func (r *Ring) Wait(minComplete uint32, timeout time.Duration) error { return errNotLinux }

// Ready returns 0 off Linux. Loop-confined.
func (r *Ring) Ready() int { return 0 }

// Waiting reports false off Linux. Loop-confined.
func (r *Ring) Waiting(ud uint64) bool { return false }

// SingleIssuer reports false off Linux. Loop-confined.
func (r *Ring) SingleIssuer() bool { return false }
