//go:build unix || windows

package evbuffer

import "io"

// ReadFromFD reads from the descriptor fd (a socket, pipe or file; a SOCKET
// on Windows) into b: up to howmuch bytes (howmuch < 0: as many as allowed),
// bounded by MaxRead and by the bytes the kernel reports pending (FIONREAD,
// used to size the space reserved), with one readv into up to 4 chains of
// free space. It returns (n, nil) with n > 0 on data and (0, io.EOF) at end
// of file. System call errors are *os.SyscallError values wrapping the errno:
// test them with errors.Is(err, syscall.EAGAIN) and the like (on Windows
// WSAEWOULDBLOCK matches syscall.EAGAIN too). A frozen end gives ErrFrozen.
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
	if b.tailSpace(numReadVecs) < howmuch && (b.spare == nil || len(b.spare.buf) < howmuch) {
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
	s := ioPool.Get().(*ioScratch)
	nv := b.setupVecs(howmuch, s.bs[:numReadVecs], true)
	got, err := sysReadv(fd, s, nv)
	s.clear(nv)
	ioPool.Put(s)
	if err != nil {
		return 0, err
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
// to the descriptor fd and drains what was written. In-memory chains go out
// with one writev over up to 128 chains (16 on Windows); a sendfile chain at
// the front (see FlagDrainsToFD and AddFile) goes out with sendfile. It
// returns the bytes written; system call errors are *os.SyscallError values
// wrapping the errno (errors.Is(err, syscall.EAGAIN) when the socket is
// full). Writing an empty buffer returns (0, nil). A frozen front gives
// ErrFrozen.
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
	// One chain holds everything to write (a reply, an echo): one write(2)
	// of its bytes, without the iovec scratch and its pool round trip.
	if d := c.data(); len(d) >= howmuch || c == b.lastData {
		if b.flags&FlagNonblockingFD != 0 {
			return sysWriteNB(fd, d[:min(len(d), howmuch)])
		}
		return sysWrite(fd, d[:min(len(d), howmuch)])
	}
	s := ioPool.Get().(*ioScratch)
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
		s.bs[nv] = d
		left -= len(d)
		nv++
	}
	n, err := sysWritev(fd, s, nv)
	s.clear(nv)
	ioPool.Put(s)
	return n, err
}

func (b *Buffer) sendfile(fd int, c *chain, howmuch int) (int, error) {
	seg := c.seg
	if seg == nil || seg.fd < 0 {
		return 0, ErrClosedSegment
	}
	n, err := sysSendfile(fd, seg.fd, seg.offset+int64(c.misalign), min(howmuch, c.off))
	if err != nil {
		return 0, err
	}
	if n == 0 {
		// The file is shorter than the segment said.
		return 0, io.ErrUnexpectedEOF
	}
	return n, nil
}
