//go:build linux

package uring

import (
	"math"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxLen is the largest length one operation transfers; longer buffers are used up to it
// (the kernel itself caps a single transfer a little below 2 GiB).
const maxLen = math.MaxInt32 &^ 4095

// begin checks that an operation with user data ud may be prepared and returns a zeroed
// submission entry and a slot for it. Nothing is committed until commit.
func (r *Ring) begin(ud uint64) (*sqe, *opSlot, error) {
	if r.closed {
		return nil, nil, ErrClosed
	}
	if ud == ReservedUserData {
		return nil, nil, ErrReservedUserData
	}
	if r.ops.get(ud) != nil {
		return nil, nil, ErrUserDataInUse
	}
	if err := r.room(1); err != nil {
		return nil, nil, err
	}
	e := &r.sqes[r.sqeTail&r.sqMask]
	*e = sqe{}
	return e, r.getSlot(), nil
}

// commit makes a filled entry part of the next submission.
func (r *Ring) commit(e *sqe, slot *opSlot, op Op, ud uint64) {
	e.opcode = uint8(op)
	e.userData = ud
	r.ops.put(ud, slot)
	r.sqeTail++
	r.lastOK = true
	r.chainOpen = false
}

// pinBuf pins b's memory for the slot's operation and returns its address and length.
func (s *opSlot) pinBuf(b []byte) (uint64, uint32) {
	if len(b) == 0 {
		return 0, 0
	}
	p := unsafe.Pointer(unsafe.SliceData(b))
	s.pins.pin(p)
	return uint64(uintptr(p)), uint32(min(len(b), maxLen))
}

// pinIovecs builds the slot's iovec array over bufs and pins the array and the buffers.
func (s *opSlot) pinIovecs(bufs [][]byte) (uint64, uint32) {
	if cap(s.iov) < len(bufs) {
		s.iov = make([]unix.Iovec, len(bufs))
	}
	s.iov = s.iov[:len(bufs)]
	s.niov = len(bufs)
	total := 0
	for i, b := range bufs {
		n := min(len(b), maxLen-total)
		total += n
		if n == 0 {
			s.iov[i] = unix.Iovec{}
			continue
		}
		s.iov[i].Base = unsafe.SliceData(b)
		s.iov[i].SetLen(n)
		s.pins.pin(unsafe.Pointer(unsafe.SliceData(b)))
	}
	p := unsafe.Pointer(unsafe.SliceData(s.iov))
	s.pins.pin(p)
	return uint64(uintptr(p)), uint32(len(bufs))
}

func checkIovecs(bufs [][]byte) error {
	if len(bufs) == 0 {
		return invalid("empty buffer list")
	}
	if len(bufs) > maxIovecs {
		return invalid("%d buffers, more than the kernel's limit of %d", len(bufs), maxIovecs)
	}
	return nil
}

// PrepNop prepares a no-op: it completes with res 0. Loop-confined.
func (r *Ring) PrepNop(ud uint64) error {
	e, slot, err := r.begin(ud)
	if err != nil {
		return err
	}
	e.fd = -1
	r.commit(e, slot, OpNop, ud)
	return nil
}

// PrepAccept prepares an accept(4) on the listening socket fd; res is the new connection's
// file descriptor. flags are accept4 flags (unix.SOCK_NONBLOCK); SOCK_CLOEXEC is always
// added. The peer address is not collected: use unix.Getpeername. Loop-confined.
func (r *Ring) PrepAccept(ud uint64, fd int, flags int) error {
	return r.prepAccept(ud, fd, flags, false)
}

// PrepAcceptMultishot prepares an accept that stays armed and completes once per accepted
// connection, each completion flagged CQEFMore while it stays armed (Linux 5.19 or later;
// check OpSupported(OpSocket)). Its user data stays in use until a completion without
// CQEFMore (an error, or cancellation). Loop-confined.
func (r *Ring) PrepAcceptMultishot(ud uint64, fd int, flags int) error {
	return r.prepAccept(ud, fd, flags, true)
}

func (r *Ring) prepAccept(ud uint64, fd, flags int, multishot bool) error {
	e, slot, err := r.begin(ud)
	if err != nil {
		return err
	}
	e.fd = int32(fd)
	e.opFlags = uint32(flags | unix.SOCK_CLOEXEC)
	if multishot {
		e.ioprio = acceptMultishot
	}
	r.commit(e, slot, OpAccept, ud)
	return nil
}

// AcceptAddr receives the peer address of a connection accepted by PrepAcceptAddr. The
// kernel writes it when the accept completes: read it with Sockaddr only after the
// completion. The zero value is ready to use; one AcceptAddr serves one accept at a time.
// Loop-confined, like the Ring that fills it.
type AcceptAddr struct {
	raw unix.RawSockaddrAny
	len uint32
}

// PrepAcceptAddr is PrepAccept that also collects the peer's address into addr, saving a
// getpeername(2) per connection. addr is pinned until the completion. Loop-confined.
func (r *Ring) PrepAcceptAddr(ud uint64, fd int, flags int, addr *AcceptAddr) error {
	if addr == nil {
		return invalid("nil AcceptAddr")
	}
	e, slot, err := r.begin(ud)
	if err != nil {
		return err
	}
	addr.raw = unix.RawSockaddrAny{}
	addr.len = uint32(unsafe.Sizeof(addr.raw))
	slot.pins.pin(unsafe.Pointer(addr))
	e.fd = int32(fd)
	e.opFlags = uint32(flags | unix.SOCK_CLOEXEC)
	e.addr = uint64(uintptr(unsafe.Pointer(&addr.raw)))
	e.off = uint64(uintptr(unsafe.Pointer(&addr.len)))
	r.commit(e, slot, OpAccept, ud)
	return nil
}

// Sockaddr decodes the address the kernel wrote: *unix.SockaddrInet4, *unix.SockaddrInet6
// or *unix.SockaddrUnix (Name "" for an unnamed peer, "@..." for an abstract one).
// Loop-confined (like the accept that fills it).
func (a *AcceptAddr) Sockaddr() (Sockaddr, error) {
	port := func(p *uint16) int {
		b := (*[2]byte)(unsafe.Pointer(p))
		return int(b[0])<<8 | int(b[1])
	}
	switch a.raw.Addr.Family {
	case unix.AF_INET:
		raw := (*unix.RawSockaddrInet4)(unsafe.Pointer(&a.raw))
		return &unix.SockaddrInet4{Port: port(&raw.Port), Addr: raw.Addr}, nil
	case unix.AF_INET6:
		raw := (*unix.RawSockaddrInet6)(unsafe.Pointer(&a.raw))
		return &unix.SockaddrInet6{Port: port(&raw.Port), ZoneId: raw.Scope_id, Addr: raw.Addr}, nil
	case unix.AF_UNIX:
		raw := (*unix.RawSockaddrUnix)(unsafe.Pointer(&a.raw))
		n := int(a.len) - 2 // minus sun_family
		if n <= 0 {
			return &unix.SockaddrUnix{}, nil
		}
		n = min(n, len(raw.Path))
		abstract := raw.Path[0] == 0
		path := make([]byte, 0, n)
		for i := 0; i < n; i++ {
			if raw.Path[i] == 0 && !abstract {
				break // a path name ends at its NUL; an abstract name uses its whole length
			}
			path = append(path, byte(raw.Path[i]))
		}
		if abstract {
			path[0] = '@'
		}
		return &unix.SockaddrUnix{Name: string(path)}, nil
	}
	return nil, invalid("address family %d", a.raw.Addr.Family)
}

// Sockaddr is the address type PrepConnect takes (*unix.SockaddrInet4, *unix.SockaddrInet6
// or *unix.SockaddrUnix). A PrepConnect value must not change until its connect
// completes; otherwise the values are not shared: Not safe for concurrent use.
type Sockaddr = unix.Sockaddr

// PrepConnect prepares a connect(2) of socket fd to sa (*unix.SockaddrInet4,
// *unix.SockaddrInet6 or *unix.SockaddrUnix); res is 0 or a negated errno. Loop-confined.
func (r *Ring) PrepConnect(ud uint64, fd int, sa Sockaddr) error {
	var raw unix.RawSockaddrAny
	n, err := putSockaddr(&raw, sa)
	if err != nil {
		return err
	}
	e, slot, err := r.begin(ud)
	if err != nil {
		return err
	}
	slot.sa = raw
	slot.pins.pin(unsafe.Pointer(slot))
	e.fd = int32(fd)
	e.addr = uint64(uintptr(unsafe.Pointer(&slot.sa)))
	e.off = uint64(n)
	r.commit(e, slot, OpConnect, ud)
	return nil
}

// putSockaddr writes sa in kernel format into dst and returns its length.
func putSockaddr(dst *unix.RawSockaddrAny, sa unix.Sockaddr) (uint32, error) {
	*dst = unix.RawSockaddrAny{}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		if a.Port < 0 || a.Port > 0xffff {
			return 0, invalid("port %d", a.Port)
		}
		raw := (*unix.RawSockaddrInet4)(unsafe.Pointer(dst))
		raw.Family = unix.AF_INET
		p := (*[2]byte)(unsafe.Pointer(&raw.Port))
		p[0], p[1] = byte(a.Port>>8), byte(a.Port)
		raw.Addr = a.Addr
		return unix.SizeofSockaddrInet4, nil
	case *unix.SockaddrInet6:
		if a.Port < 0 || a.Port > 0xffff {
			return 0, invalid("port %d", a.Port)
		}
		raw := (*unix.RawSockaddrInet6)(unsafe.Pointer(dst))
		raw.Family = unix.AF_INET6
		p := (*[2]byte)(unsafe.Pointer(&raw.Port))
		p[0], p[1] = byte(a.Port>>8), byte(a.Port)
		raw.Scope_id = a.ZoneId
		raw.Addr = a.Addr
		return unix.SizeofSockaddrInet6, nil
	case *unix.SockaddrUnix:
		raw := (*unix.RawSockaddrUnix)(unsafe.Pointer(dst))
		name := a.Name
		n := len(name)
		if n == 0 || n > len(raw.Path) {
			return 0, invalid("unix socket path of %d bytes", n)
		}
		raw.Family = unix.AF_UNIX
		for i := 0; i < n; i++ {
			raw.Path[i] = int8(name[i])
		}
		size := uint32(2 + n) // sa_family + path, without a terminating NUL
		if name[0] == '@' {
			raw.Path[0] = 0 // abstract socket
		} else if n < len(raw.Path) {
			size++ // include the NUL
		}
		return size, nil
	case nil:
		return 0, invalid("nil address")
	}
	return 0, invalid("unsupported address type %T", sa)
}

// PrepRecv prepares a recv(2) into buf on socket fd with MSG_* flags; res is the byte
// count (0 at end of stream) or a negated errno. buf is pinned until the completion and
// must not be touched meanwhile. Loop-confined.
func (r *Ring) PrepRecv(ud uint64, fd int, buf []byte, flags int) error {
	e, slot, err := r.begin(ud)
	if err != nil {
		return err
	}
	e.fd = int32(fd)
	e.addr, e.len = slot.pinBuf(buf)
	e.opFlags = uint32(flags)
	r.commit(e, slot, OpRecv, ud)
	return nil
}

// PrepRecvPollFirst is PrepRecv for a socket just found empty: the kernel waits for
// readability before its first attempt (IORING_RECVSEND_POLL_FIRST) instead of trying
// a receive that would fail with EAGAIN and then waiting. Linux 5.19 or later (check
// OpSupported(OpSocket)); older kernels ignore the hint or reject the operation with
// -EINVAL. Loop-confined.
func (r *Ring) PrepRecvPollFirst(ud uint64, fd int, buf []byte, flags int) error {
	e, slot, err := r.begin(ud)
	if err != nil {
		return err
	}
	e.fd = int32(fd)
	e.addr, e.len = slot.pinBuf(buf)
	e.opFlags = uint32(flags)
	e.ioprio = recvPollFirst
	r.commit(e, slot, OpRecv, ud)
	return nil
}

// PrepSend prepares a send(2) of buf on socket fd with MSG_* flags (MSG_NOSIGNAL is always
// added); res is the byte count, which may be short, or a negated errno. buf is pinned
// until the completion and must not be modified meanwhile. Loop-confined.
func (r *Ring) PrepSend(ud uint64, fd int, buf []byte, flags int) error {
	e, slot, err := r.begin(ud)
	if err != nil {
		return err
	}
	e.fd = int32(fd)
	e.addr, e.len = slot.pinBuf(buf)
	e.opFlags = uint32(flags | unix.MSG_NOSIGNAL)
	r.commit(e, slot, OpSend, ud)
	return nil
}

// PrepReadv prepares a readv(2) from fd (at its current position) into bufs, at most 1024
// of them; res is the byte count or a negated errno. The ring builds and keeps the iovec
// array; bufs' memory is pinned until the completion. Loop-confined.
func (r *Ring) PrepReadv(ud uint64, fd int, bufs [][]byte) error {
	return r.prepRW(ud, fd, bufs, OpReadv)
}

// PrepWritev prepares a writev(2) of bufs (at most 1024) to fd at its current position;
// res is the byte count, which may be short, or a negated errno. On a socket, prefer
// PrepSendmsg, which can pass MSG_NOSIGNAL. Loop-confined.
func (r *Ring) PrepWritev(ud uint64, fd int, bufs [][]byte) error {
	return r.prepRW(ud, fd, bufs, OpWritev)
}

func (r *Ring) prepRW(ud uint64, fd int, bufs [][]byte, op Op) error {
	if err := checkIovecs(bufs); err != nil {
		return err
	}
	e, slot, err := r.begin(ud)
	if err != nil {
		return err
	}
	e.fd = int32(fd)
	e.addr, e.len = slot.pinIovecs(bufs)
	e.off = math.MaxUint64 // -1: the file's current position; ignored by sockets and pipes
	r.commit(e, slot, op, ud)
	return nil
}

// PrepSendmsg prepares a sendmsg(2) of bufs (at most 1024) on socket fd with MSG_* flags
// (MSG_NOSIGNAL is always added): a gathering send. Loop-confined.
func (r *Ring) PrepSendmsg(ud uint64, fd int, bufs [][]byte, flags int) error {
	if err := checkIovecs(bufs); err != nil {
		return err
	}
	e, slot, err := r.begin(ud)
	if err != nil {
		return err
	}
	_, n := slot.pinIovecs(bufs)
	slot.msg.Iov = &slot.iov[0]
	slot.msg.SetIovlen(int(n))
	slot.pins.pin(unsafe.Pointer(slot))
	e.fd = int32(fd)
	e.addr = uint64(uintptr(unsafe.Pointer(&slot.msg)))
	e.len = 1
	e.opFlags = uint32(flags | unix.MSG_NOSIGNAL)
	r.commit(e, slot, OpSendmsg, ud)
	return nil
}

// PrepCancel prepares the cancellation of the outstanding operation whose user data is
// target (all of them if all is set). The cancelled operation completes with -ECANCELED
// (or -EINTR for some operations already running); this request completes with 0 (or the
// number cancelled, with all), -ENOENT if nothing matched, or -EALREADY if the operation
// was running and could not be stopped. Loop-confined.
func (r *Ring) PrepCancel(ud, target uint64, all bool) error {
	e, slot, err := r.begin(ud)
	if err != nil {
		return err
	}
	e.fd = -1
	e.addr = target
	if all {
		e.opFlags = cancelFlagAll
	}
	r.commit(e, slot, OpAsyncCancel, ud)
	return nil
}

// PrepCancelFD prepares the cancellation of the outstanding operation(s) on file
// descriptor fd (Linux 5.19 or later; older kernels complete it with -EINVAL): with all
// set, every operation on fd; otherwise the first one found. Results as PrepCancel. fd
// must still be open: closing a descriptor does not end the ring's operations on it (the
// kernel holds its own reference to the file), so cancel before closing, or cancel by
// user data. Loop-confined.
func (r *Ring) PrepCancelFD(ud uint64, fd int, all bool) error {
	e, slot, err := r.begin(ud)
	if err != nil {
		return err
	}
	e.fd = int32(fd)
	e.opFlags = cancelFlagFD
	if all {
		e.opFlags |= cancelFlagAll
	}
	r.commit(e, slot, OpAsyncCancel, ud)
	return nil
}

func durationTimespec(d time.Duration) kernelTimespec {
	if d < 0 {
		d = 0
	}
	return kernelTimespec{sec: int64(d / time.Second), nsec: int64(d % time.Second)}
}

// PrepTimeout prepares a timer: it completes with -ETIME after d (measured on
// CLOCK_MONOTONIC), or -ECANCELED if cancelled first. Loop-confined.
func (r *Ring) PrepTimeout(ud uint64, d time.Duration) error {
	return r.prepTimeout(ud, d, OpTimeout)
}

// PrepLinkTimeout prepares a timeout for the operation prepared just before it, which must
// have been marked with SetLastFlags(FlagLink) (call Reserve(2) before preparing the pair).
// If the timeout fires first, that operation is cancelled (it completes with -ECANCELED or
// -EINTR) and this request completes with -ETIME; if the operation completes first, this
// request completes with -ECANCELED. Loop-confined.
func (r *Ring) PrepLinkTimeout(ud uint64, d time.Duration) error {
	return r.prepTimeout(ud, d, OpLinkTimeout)
}

func (r *Ring) prepTimeout(ud uint64, d time.Duration, op Op) error {
	e, slot, err := r.begin(ud)
	if err != nil {
		return err
	}
	slot.ts = durationTimespec(d)
	slot.pins.pin(unsafe.Pointer(slot))
	e.fd = -1
	e.addr = uint64(uintptr(unsafe.Pointer(&slot.ts)))
	e.len = 1
	e.opFlags = timeoutFlagNone
	r.commit(e, slot, op, ud)
	return nil
}

// PrepClose prepares a close(2) of fd; res is 0 or a negated errno. The caller must not
// use fd once this is prepared. Loop-confined.
func (r *Ring) PrepClose(ud uint64, fd int) error {
	e, slot, err := r.begin(ud)
	if err != nil {
		return err
	}
	e.fd = int32(fd)
	r.commit(e, slot, OpClose, ud)
	return nil
}

// PrepShutdown prepares a shutdown(2) of socket fd (how is unix.SHUT_RD, SHUT_WR or
// SHUT_RDWR); res is 0 or a negated errno. Loop-confined.
func (r *Ring) PrepShutdown(ud uint64, fd int, how int) error {
	e, slot, err := r.begin(ud)
	if err != nil {
		return err
	}
	e.fd = int32(fd)
	e.len = uint32(how)
	r.commit(e, slot, OpShutdown, ud)
	return nil
}

// PrepPollAdd prepares a one-shot poll of fd for events (unix.POLLIN and the like): it
// completes once, with the ready events as res, when fd is ready (at once if it already
// is when the kernel arms it). A ring can watch another poller's descriptor (an epoll
// instance) this way and so wait for both in one io_uring_enter. Loop-confined.
func (r *Ring) PrepPollAdd(ud uint64, fd int, events uint32) error {
	e, slot, err := r.begin(ud)
	if err != nil {
		return err
	}
	e.fd = int32(fd)
	e.opFlags = events
	r.commit(e, slot, OpPollAdd, ud)
	return nil
}
