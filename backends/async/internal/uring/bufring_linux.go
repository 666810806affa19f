//go:build linux

package uring

import (
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	registerPbufRing   = 22
	unregisterPbufRing = 23
	sqeBufferSelect    = 1 << 5 // IOSQE_BUFFER_SELECT
	recvMultishot      = 1 << 1 // IORING_RECV_MULTISHOT, in sqe.ioprio
	maxBufRingEntries  = 1 << 15
)

// bufReg is struct io_uring_buf_reg.
type bufReg struct {
	ringAddr    uint64
	ringEntries uint32
	bgid        uint16
	flags       uint16
	resv        [3]uint64
}

// ringBuf is struct io_uring_buf.
type ringBuf struct {
	addr uint64
	len  uint32
	bid  uint16
	resv uint16 // the ring's tail, in entry 0
}

// BufRing is a group of provided buffers (IORING_REGISTER_PBUF_RING, Linux 5.19): a pool of
// equal-sized buffers the kernel picks from when a receive prepared with PrepRecvBuffer or
// PrepRecvMultishot finds data, so that no buffer is tied up by a connection while it
// waits. The buffers live in memory mapped outside the Go heap, so the garbage collector
// never sees them and nothing needs pinning.
//
// A completion that used a buffer carries CQEFBuffer and the buffer's id (see BufferID);
// the data is Buffer(id)[:res]. The buffer belongs to the caller until it hands it back
// with Recycle. When every buffer is out, receives complete with -ENOBUFS (and a multishot
// receive stops).
//
// Loop-confined, like its Ring.
type BufRing struct {
	r        *Ring
	group    uint16
	size     int
	mask     uint16
	tail     uint16
	ringMem  []byte // the io_uring_buf entries, shared with the kernel
	bufMem   []byte // the buffers
	entries  []ringBuf
	tailWord *uint32 // the 32-bit word holding entries[0].bid and the tail
	inflight int     // prepared or in-flight operations selecting from this group
	provided int     // buffers 0..provided-1 have been handed to the kernel (see Grow)
	closed   bool
}

// NewBufRing registers a group of count buffers of size bytes each under group id group
// (count a power of two, at most 32768) and provides all of them to the kernel.
// Loop-confined.
func (r *Ring) NewBufRing(group uint16, count, size int) (*BufRing, error) {
	return r.NewBufRingPartial(group, count, size, count)
}

// NewBufRingPartial is NewBufRing providing only the first provide buffers (at least one,
// at most count); Grow provides more later. The kernel takes buffers in the order they
// are provided and recycled, so a ring whose every buffer is provided touches all of its
// memory — count × size bytes, each page faulted in by the kernel's first copy — even when
// a few buffers would do; providing them as the demand grows keeps the memory touched
// (and the page faults paid) to what the traffic needs. Loop-confined.
func (r *Ring) NewBufRingPartial(group uint16, count, size, provide int) (*BufRing, error) {
	if r.closed {
		return nil, ErrClosed
	}
	if count <= 0 || count > maxBufRingEntries || count&(count-1) != 0 {
		return nil, invalid("buffer count %d: want a power of two up to %d", count, maxBufRingEntries)
	}
	if provide <= 0 || provide > count {
		return nil, invalid("%d buffers to provide of %d", provide, count)
	}
	if size <= 0 || size > maxLen {
		return nil, invalid("buffer size %d", size)
	}
	if _, dup := r.bufRings[group]; dup {
		return nil, invalid("buffer group %d already registered", group)
	}
	b := &BufRing{r: r, group: group, size: size, mask: uint16(count - 1)}
	var err error
	const prot, flags = unix.PROT_READ | unix.PROT_WRITE, unix.MAP_PRIVATE | unix.MAP_ANONYMOUS
	if b.ringMem, err = unix.Mmap(-1, 0, count*int(unsafe.Sizeof(ringBuf{})), prot, flags); err != nil {
		return nil, fmt.Errorf("uring: mmap buffer ring: %w", err)
	}
	if b.bufMem, err = unix.Mmap(-1, 0, count*size, prot, flags); err != nil {
		_ = unix.Munmap(b.ringMem)
		return nil, fmt.Errorf("uring: mmap buffers: %w", err)
	}
	base := unsafe.Pointer(unsafe.SliceData(b.ringMem))
	b.entries = unsafe.Slice((*ringBuf)(base), count)
	b.tailWord = (*uint32)(unsafe.Add(base, 12))
	reg := bufReg{ringAddr: uint64(uintptr(base)), ringEntries: uint32(count), bgid: group}
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), registerPbufRing, uintptr(unsafe.Pointer(&reg)), 1, 0, 0)
	if errno != 0 {
		b.unmap()
		serr := os.NewSyscallError("io_uring_register", errno)
		if errno == unix.EINVAL || errno == unix.ENOSYS {
			return nil, &unsupportedError{what: "provided buffer rings (Linux 5.19)", errno: serr}
		}
		return nil, fmt.Errorf("uring: %w", serr)
	}
	for id := 0; id < provide; id++ {
		b.put(uint16(id))
	}
	b.provided = provide
	b.publish()
	if r.bufRings == nil {
		r.bufRings = make(map[uint16]*BufRing)
	}
	r.bufRings[group] = b
	return b, nil
}

// put adds buffer id at the local tail, without publishing it.
func (b *BufRing) put(id uint16) {
	e := &b.entries[b.tail&b.mask]
	e.addr = uint64(uintptr(unsafe.Pointer(&b.bufMem[int(id)*b.size])))
	e.len = uint32(b.size)
	e.bid = id
	b.tail++
}

// publish makes the local tail visible to the kernel. The tail shares a 32-bit word with
// entry 0's buffer id; the word is rewritten whole with an atomic (release) store.
func (b *BufRing) publish() {
	w := [4]byte{}
	*(*uint16)(unsafe.Pointer(&w[0])) = b.entries[0].bid
	*(*uint16)(unsafe.Pointer(&w[2])) = b.tail
	atomic.StoreUint32(b.tailWord, *(*uint32)(unsafe.Pointer(&w)))
}

// Grow provides up to n more buffers, never provided before, to the kernel and returns
// how many it added: fewer than n (possibly 0) once every buffer of the group is
// provided. Loop-confined.
func (b *BufRing) Grow(n int) int {
	if b.closed || n <= 0 {
		return 0
	}
	n = min(n, int(b.mask)+1-b.provided)
	for i := 0; i < n; i++ {
		b.put(uint16(b.provided + i))
	}
	if n > 0 {
		b.provided += n
		b.publish()
	}
	return n
}

// Provided returns how many buffers of the group have been provided to the kernel so far
// (all of them for NewBufRing; see NewBufRingPartial and Grow). Loop-confined.
func (b *BufRing) Provided() int { return b.provided }

// Count returns how many buffers the group has room for. Loop-confined.
func (b *BufRing) Count() int { return int(b.mask) + 1 }

// Group returns the buffer group id. Loop-confined.
func (b *BufRing) Group() uint16 { return b.group }

// Buffer returns buffer id, whole (the data of a completion is Buffer(id)[:res]). The
// slice points into memory outside the Go heap: it is valid until the buffer is recycled
// and must not be used after Close. Loop-confined.
func (b *BufRing) Buffer(id uint16) []byte {
	if b.closed || int(id) > int(b.mask) {
		return nil
	}
	off := int(id) * b.size
	return b.bufMem[off : off+b.size : off+b.size]
}

// Recycle hands buffer id back to the kernel for later receives. Loop-confined.
func (b *BufRing) Recycle(id uint16) error {
	if b.closed {
		return ErrClosed
	}
	if int(id) >= b.provided {
		return invalid("buffer id %d of %d provided", id, b.provided)
	}
	b.put(id)
	b.publish()
	return nil
}

// Close unregisters the group and unmaps its memory. It fails while operations that select
// from the group are outstanding (cancel and reap them first, or close the Ring, which
// closes its buffer rings once its operations are done). Loop-confined.
func (b *BufRing) Close() error {
	if b.closed {
		return ErrClosed
	}
	if b.inflight > 0 {
		return fmt.Errorf("%w: %d operations still select from buffer group %d", ErrInvalid, b.inflight, b.group)
	}
	var err error
	if !b.r.closed {
		reg := bufReg{bgid: b.group}
		if _, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(b.r.fd), unregisterPbufRing, uintptr(unsafe.Pointer(&reg)), 1, 0, 0); errno != 0 {
			err = fmt.Errorf("uring: %w", os.NewSyscallError("io_uring_register", errno))
		}
		delete(b.r.bufRings, b.group)
	}
	b.closed = true
	b.unmap()
	return err
}

func (b *BufRing) unmap() {
	if b.ringMem != nil {
		_ = unix.Munmap(b.ringMem)
	}
	if b.bufMem != nil {
		_ = unix.Munmap(b.bufMem)
	}
	b.ringMem, b.bufMem, b.entries, b.tailWord = nil, nil, nil, nil
}

// PrepRecvBuffer prepares a recv(2) on socket fd into a buffer the kernel picks from
// group (see BufRing) when data arrives. Loop-confined.
func (r *Ring) PrepRecvBuffer(ud uint64, fd int, group uint16, flags int) error {
	return r.prepRecvSelect(ud, fd, group, flags, false)
}

// PrepRecvMultishot prepares a receive that stays armed (Linux 6.0): it completes once per
// chunk of data, each time in a buffer the kernel picks from group, with CQEFMore set
// while it stays armed. It ends with a completion without CQEFMore: end of stream (res 0),
// an error, -ENOBUFS when the group ran dry, or cancellation. Loop-confined.
func (r *Ring) PrepRecvMultishot(ud uint64, fd int, group uint16, flags int) error {
	return r.prepRecvSelect(ud, fd, group, flags, true)
}

func (r *Ring) prepRecvSelect(ud uint64, fd int, group uint16, flags int, multishot bool) error {
	if r.closed {
		return ErrClosed
	}
	br, ok := r.bufRings[group]
	if !ok {
		return invalid("no buffer group %d", group)
	}
	e, slot, err := r.begin(ud)
	if err != nil {
		return err
	}
	e.fd = int32(fd)
	e.flags = sqeBufferSelect
	e.bufIndex = group
	e.opFlags = uint32(flags)
	if multishot {
		e.ioprio = recvMultishot
	}
	slot.bufRing = br
	br.inflight++
	r.commit(e, slot, OpRecv, ud)
	return nil
}
