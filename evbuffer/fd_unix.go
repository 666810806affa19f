//go:build unix

package evbuffer

import (
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// iovecs is scratch space for one readv/writev call, pooled so that the I/O
// paths allocate nothing.
type iovecs struct {
	v  [numWriteVecs]unix.Iovec
	bs [numWriteVecs][]byte
}

var iovPool = sync.Pool{New: func() any { return new(iovecs) }}

// ReadFromFD reads from the file descriptor fd into b: up to howmuch bytes
// (howmuch < 0: as many as allowed), bounded by the bytes the kernel reports
// pending (FIONREAD) and by MaxRead, with one readv into up to 4 chains of
// free space. It returns (n, nil) with n > 0 on data, (0, io.EOF) at end of
// file, and otherwise an *os.SyscallError wrapping the errno (test it with
// errors.Is(err, syscall.EAGAIN) and the like). A frozen end gives ErrFrozen.
// Callbacks run after a successful read.
// Not safe for concurrent use.
func (b *Buffer) ReadFromFD(fd int, howmuch int) (int, error) {
	if b.frozenEnd {
		return 0, ErrFrozen
	}
	if fd < 0 {
		return 0, errBadFD
	}
	maxRead := b.MaxRead()
	if howmuch < 0 || howmuch > maxRead {
		howmuch = maxRead
	}
	// FIONREAD never changes how many bytes a read returns (the kernel
	// returns at most what is pending); it only keeps the reservation
	// small. Skip the extra system call when the space is already there.
	if b.tailSpace(numReadVecs) < howmuch {
		if n := pendingBytes(fd); n > 0 && n < howmuch {
			howmuch = n
		}
	}
	if howmuch == 0 {
		return 0, nil
	}
	if err := b.checkGrow(howmuch); err != nil {
		return 0, err
	}
	if err := b.expandFast(howmuch, numReadVecs); err != nil {
		return 0, err
	}
	iov := iovPool.Get().(*iovecs)
	defer iovPool.Put(iov)
	nv := b.setupVecs(howmuch, iov.bs[:numReadVecs], true)
	var got int
	var err error
	if nv == 1 {
		got, err = ignoringEINTR(func() (int, error) { return unix.Read(fd, iov.bs[0]) })
	} else {
		got, err = ignoringEINTR(func() (int, error) { return readv(fd, iov, nv) })
	}
	for i := 0; i < nv; i++ {
		iov.bs[i] = nil
	}
	if err != nil {
		return 0, os.NewSyscallError("read", err)
	}
	if got == 0 {
		return 0, io.EOF
	}
	b.commitRead(got)
	b.nAdd += got
	b.invokeCallbacks()
	return got, nil
}

// commitRead makes n bytes just read into the free space readable.
func (b *Buffer) commitRead(n int) {
	c := b.lastData
	if c.space() == 0 {
		c = c.next
	}
	b.total += n
	for n > 0 {
		k := min(n, c.space())
		c.off += k
		n -= k
		if k > 0 {
			b.lastData = c
		}
		c = c.next
	}
}

// WriteToFD writes up to howmuch bytes (howmuch < 0: all) from the front of b
// to the file descriptor fd and drains what was written. In-memory chains go
// out with one writev over up to 128 chains; a sendfile chain at the front
// (see FlagDrainsToFD and AddFile) goes out with sendfile. It returns the
// bytes written; errors are *os.SyscallError values wrapping the errno
// (errors.Is(err, syscall.EAGAIN) when the socket is full). Writing an empty
// buffer returns (0, nil). A frozen front gives ErrFrozen.
// Not safe for concurrent use.
func (b *Buffer) WriteToFD(fd int, howmuch int) (int, error) {
	if b.frozenFront {
		return 0, ErrFrozen
	}
	if fd < 0 {
		return 0, errBadFD
	}
	if howmuch < 0 || howmuch > b.total {
		howmuch = b.total
	}
	if howmuch == 0 {
		return 0, nil
	}
	// Skip leading empty chains.
	c := b.first
	for c != nil && c.off == 0 {
		c = c.next
	}
	var n int
	var err error
	if c.flags&flagSendfile != 0 {
		n, err = b.sendfile(fd, c, howmuch)
	} else {
		n, err = b.writev(fd, c, howmuch)
	}
	if err != nil {
		return 0, err
	}
	if n > 0 {
		b.drain(n)
		b.nDel += n
		b.invokeCallbacks()
	}
	return n, nil
}

func (b *Buffer) writev(fd int, c *chain, howmuch int) (int, error) {
	iov := iovPool.Get().(*iovecs)
	defer iovPool.Put(iov)
	nv := 0
	for left := howmuch; c != nil && left > 0 && nv < numWriteVecs; c = c.next {
		if c.flags&flagSendfile != 0 {
			break
		}
		if c.off == 0 {
			continue
		}
		d := c.data()
		if len(d) > left {
			d = d[:left]
		}
		iov.bs[nv] = d
		left -= len(d)
		nv++
	}
	var n int
	var err error
	if nv == 1 {
		n, err = ignoringEINTR(func() (int, error) { return unix.Write(fd, iov.bs[0]) })
	} else {
		n, err = ignoringEINTR(func() (int, error) { return writev(fd, iov, nv) })
	}
	for i := 0; i < nv; i++ {
		iov.bs[i] = nil
	}
	if err != nil {
		return 0, os.NewSyscallError("write", err)
	}
	return n, nil
}

func (b *Buffer) sendfile(fd int, c *chain, howmuch int) (int, error) {
	seg := c.seg
	if seg == nil || seg.fd < 0 {
		return 0, ErrClosedSegment
	}
	off := seg.offset + int64(c.misalign)
	n, err := ignoringEINTR(func() (int, error) {
		return unix.Sendfile(fd, seg.fd, &off, min(howmuch, c.off))
	})
	if err != nil {
		if n > 0 {
			return n, nil
		}
		return 0, os.NewSyscallError("sendfile", err)
	}
	if n == 0 {
		// The file is shorter than the segment said.
		return 0, io.ErrUnexpectedEOF
	}
	return n, nil
}

// pendingBytes asks the kernel how many bytes are ready on fd (0: unknown).
func pendingBytes(fd int) int {
	if fionread == 0 {
		return 0
	}
	n, err := unix.IoctlGetInt(fd, fionread)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func ignoringEINTR(f func() (int, error)) (int, error) {
	for {
		n, err := f()
		if err != unix.EINTR {
			return n, err
		}
	}
}
