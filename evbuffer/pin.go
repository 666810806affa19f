package evbuffer

// Completion I/O (io_uring, IOCP): libevent's buffer_iocp.c. The kernel reads
// into, or sends from, a buffer's chains long after the call that started the
// operation returned, so those chains are pinned: until the operation is
// committed the buffer never frees, recycles, moves, realigns, pulls up or
// splices them away.

// flagPinRef marks a pinned chain whose memory is shared (flagShared): the
// pin holds one of its refs, dropped when the last pin goes, so that another
// buffer dropping the last of its own references cannot free memory the
// kernel still uses.
const flagPinRef = flagShared << 1

// pinState is the bookkeeping of the operations in flight on a Buffer,
// allocated with the first PinRead or PinWrite.
type pinState struct {
	reading, writing bool
	// The caller's own freezes: an operation in flight freezes one end of
	// the buffer on top of them, and its commit restores them.
	userFront, userEnd bool
	// wGone: Reset discarded the bytes of the write in flight, so
	// CommitWrite has nothing left to drain.
	wGone bool

	rChains []*chain // chains of the read in flight, in buffer order
	rLens   []int    // space handed out in each
	rLen    int      // total space handed out
	wChains []*chain // chains of the write in flight
	wLen    int      // total bytes handed out
}

// pins returns b's pin state, allocating it on first use.
func (b *Buffer) pins() *pinState {
	if b.pin == nil {
		b.pin = &pinState{userFront: b.frozenFront, userEnd: b.frozenEnd}
	}
	return b.pin
}

// pinnedRead reports whether a read is in flight.
func (b *Buffer) pinnedRead() bool { return b.pin != nil && b.pin.reading }

// pinChain marks c as used by an operation in flight in the direction bit.
func pinChain(c *chain, bit uint16) {
	if c.flags&flagShared != 0 && c.flags&flagPinRef == 0 {
		c.refs.Add(1)
		c.flags |= flagPinRef
	}
	c.flags |= bit
}

// unpinChain clears bit; when no operation uses c any more, a chain that the
// buffer gave up while it was pinned is freed now (libevent's DANGLING).
func unpinChain(c *chain, bit uint16) {
	c.flags &^= bit
	if c.flags&flagPinned != 0 {
		return
	}
	if c.flags&flagPinRef != 0 {
		c.flags &^= flagPinRef
		c.releaseShared()
		return
	}
	if c.flags&flagDangling != 0 {
		c.flags &^= flagDangling
		c.free()
	}
}

// InFlight reports whether a read (PinRead) and a write (PinWrite) are in
// flight on b, waiting for their commit.
// Not safe for concurrent use.
func (b *Buffer) InFlight() (read, write bool) {
	if b.pin == nil {
		return false, false
	}
	return b.pin.reading, b.pin.writing
}

// PinRead prepares a completion-based read of up to n bytes into b
// (libevent's evbuffer_launch_read): it makes n bytes of free space at the
// end of b over at most len(vecs) chains (contiguous when len(vecs) is 1,
// which may realign or allocate; with more, no data moves), fills vecs with
// that space, exactly n bytes in all, and returns how many extents it used.
// The caller hands the extents to the kernel (io_uring recv/readv, IOCP
// WSARecv) and calls CommitRead with the byte count once the operation has
// completed, successfully or not.
//
// Until CommitRead the end of b is frozen (adds fail with ErrFrozen, whatever
// Unfreeze is called) and the chains holding the extents are pinned: b never
// frees, recycles, realigns or moves them. Their bytes already readable stay
// readable: draining them empties a pinned chain instead of freeing it,
// AddBuffer, PrependBuffer and RemoveBuffer moving all of b, and Pullup,
// copy the bytes of a partly filled pinned chain and leave the pinned chains
// behind, and Reset keeps them (empty). The extents
// stay valid until the commit; b must stay reachable until then (the caller
// keeps it, as the kernel's reference is invisible to the garbage collector).
//
// Only one read may be in flight: a second PinRead gives ErrInFlight. It
// also fails with ErrFrozen if the end is frozen, ErrNegative for n < 0,
// ErrNoVecs for empty vecs and ErrTooLarge as Reserve does; b is then
// unchanged. n == 0 returns (0, nil) and starts nothing.
// Not safe for concurrent use.
func (b *Buffer) PinRead(n int, vecs [][]byte) (int, error) {
	if b.pinnedRead() {
		return 0, ErrInFlight
	}
	if b.frozenEnd {
		return 0, ErrFrozen
	}
	if n < 0 {
		return 0, ErrNegative
	}
	if len(vecs) == 0 {
		return 0, ErrNoVecs
	}
	if n == 0 {
		return 0, nil
	}
	if err := b.checkGrow(n); err != nil {
		return 0, err
	}
	var first *chain
	nv := 1
	if len(vecs) == 1 {
		c, err := b.expandSingleChain(n)
		if err != nil {
			return 0, err
		}
		vecs[0] = c.spaceSlice()[:n]
		first = c
	} else {
		if err := b.expandFast(n, len(vecs)); err != nil {
			return 0, err
		}
		nv = b.setupVecs(n, vecs, true)
		first = b.lastData
		if first.space() == 0 {
			first = first.next
		}
	}
	p := b.pins()
	c := first
	for i := 0; i < nv; i++ {
		pinChain(c, flagPinnedR)
		p.rChains = append(p.rChains, c)
		p.rLens = append(p.rLens, len(vecs[i]))
		c = c.next
	}
	p.rLen = n
	p.reading = true
	b.frozenEnd = true
	return nv, nil
}

// CommitRead completes the read started by PinRead (libevent's
// evbuffer_commit_read): the first n bytes of the extents it handed out
// become readable at the end of b, the chains are unpinned, the end of b
// returns to the caller's freeze state, and the callbacks run. Call it after
// every completion, with n = 0 for end of file, an error or a cancellation.
// It fails with ErrNotInFlight when no read is in flight, ErrNegative for
// n < 0 and ErrCommit when n exceeds the space handed out; the read then
// stays in flight.
// Not safe for concurrent use.
func (b *Buffer) CommitRead(n int) error {
	if !b.pinnedRead() {
		return ErrNotInFlight
	}
	if n < 0 {
		return ErrNegative
	}
	p := b.pin
	if n > p.rLen {
		return ErrCommit
	}
	left := n
	for i, c := range p.rChains {
		k := min(left, p.rLens[i])
		if k > 0 {
			c.off += k
			left -= k
			b.lastData = c
		}
		unpinChain(c, flagPinnedR)
		p.rChains[i] = nil
	}
	p.rChains, p.rLens = p.rChains[:0], p.rLens[:0]
	p.rLen = 0
	p.reading = false
	b.frozenEnd = p.userEnd
	b.total += n
	b.dropDeadTail()
	b.nAdd += n
	b.invokeCallbacks()
	return nil
}

// PinWrite prepares a completion-based write of up to n bytes from the front
// of b (libevent's evbuffer_launch_write): it fills vecs with the readable
// bytes of the first chains, at most n bytes over at most len(vecs) chains,
// and returns how many extents it used. The caller hands them to the kernel
// (io_uring send/sendmsg, IOCP WSASend) and calls CommitWrite with the
// number of bytes sent once the operation has completed.
//
// Until CommitWrite the front of b is frozen (nothing can be drained,
// removed or prepended, whatever Unfreeze is called) and the chains are
// pinned: nothing frees, recycles, moves or realigns them (Pullup answers
// ErrPinned; Reset discards their bytes but frees the memory only at the
// commit). Adding to the end of b works as usual. The extents are read-only
// and stay valid until the commit; b must stay reachable until then.
//
// Only one write may be in flight: a second PinWrite gives ErrInFlight. It
// also fails with ErrFrozen if the front is frozen, ErrNegative for n < 0,
// ErrNoVecs for empty vecs and ErrNotInMemory when the front chain is a
// sendfile segment (the extents stop before one). An empty b or n == 0
// returns (0, nil) and starts nothing.
// Not safe for concurrent use.
func (b *Buffer) PinWrite(n int, vecs [][]byte) (int, error) {
	if b.pin != nil && b.pin.writing {
		return 0, ErrInFlight
	}
	if b.frozenFront {
		return 0, ErrFrozen
	}
	if n < 0 {
		return 0, ErrNegative
	}
	if len(vecs) == 0 {
		return 0, ErrNoVecs
	}
	n = min(n, b.total)
	if n == 0 {
		return 0, nil
	}
	got, nv := 0, 0
	c := b.first
	for ; c != nil && nv < len(vecs) && got < n; c = c.next {
		if c.off == 0 {
			continue
		}
		if c.buf == nil {
			break
		}
		k := min(c.off, n-got)
		vecs[nv] = c.buf[c.misalign : c.misalign+k : c.misalign+k]
		got += k
		nv++
	}
	if nv == 0 {
		return 0, ErrNotInMemory
	}
	p := b.pins()
	c = b.first
	for i := 0; i < nv; c = c.next {
		if c.off == 0 {
			continue
		}
		pinChain(c, flagPinnedW)
		p.wChains = append(p.wChains, c)
		i++
	}
	p.wLen = got
	p.wGone = false
	p.writing = true
	b.frozenFront = true
	return nv, nil
}

// CommitWrite completes the write started by PinWrite (libevent's
// evbuffer_commit_write): the front of b returns to the caller's freeze
// state, the chains are unpinned, the first n bytes (those the kernel sent)
// are drained, and the callbacks run. Call it after every completion, with
// n = 0 for an error or a cancellation. It fails with ErrNotInFlight when no
// write is in flight, ErrNegative for n < 0 and ErrCommit when n exceeds the
// bytes handed out; the write then stays in flight.
// Not safe for concurrent use.
func (b *Buffer) CommitWrite(n int) error {
	if b.pin == nil || !b.pin.writing {
		return ErrNotInFlight
	}
	if n < 0 {
		return ErrNegative
	}
	p := b.pin
	if n > p.wLen {
		return ErrCommit
	}
	for i, c := range p.wChains {
		unpinChain(c, flagPinnedW)
		p.wChains[i] = nil
	}
	p.wChains = p.wChains[:0]
	p.wLen = 0
	p.writing = false
	b.frozenFront = p.userFront
	if p.wGone || n == 0 {
		p.wGone = false
		return nil
	}
	b.drain(n)
	b.nDel += n
	b.invokeCallbacks()
	return nil
}

// resetPinned is Reset for a buffer with operations in flight: every byte is
// discarded, chains of a read in flight stay linked (empty) so that the read
// still lands in b, and chains of a write in flight leave b but are freed
// only by CommitWrite.
func (b *Buffer) resetPinned() {
	b.dropRetired()
	b.dropSpare()
	if b.pin.writing {
		b.pin.wGone = true
	}
	var first, last *chain
	for c := b.first; c != nil; {
		next := c.next
		if c.flags&flagPinnedR == 0 {
			b.releaseChain(c)
		} else {
			c.misalign += c.off
			c.off = 0
			c.next = nil
			if last == nil {
				first = c
			} else {
				last.next = c
			}
			last = c
		}
		c = next
	}
	b.first, b.last, b.lastData, b.total = first, last, first, 0
	b.nAdd, b.nDel = 0, 0
	b.gen++
}

// splicePinned is spliceAll for a source with a read in flight: its data
// moves to b and its read-pinned chains stay behind, the bytes already in
// the first of them copied out (libevent's evbuffer_add_buffer with
// PINNED_R chains).
func (b *Buffer) splicePinned(src *Buffer) {
	n := src.total
	pin := src.pin.rChains[0]
	c := src.first
	for c != pin {
		next := c.next
		c.next = nil
		if c.off == 0 {
			src.releaseChain(c)
		} else if b.lastData == nil {
			b.first, b.last, b.lastData = c, c, c
			b.total += c.off
		} else {
			b.insert(c)
			b.lastData = c
		}
		c = next
	}
	if pin.off > 0 {
		appendData(b, pin.data())
		pin.misalign += pin.off
		pin.off = 0
	}
	src.first, src.lastData, src.total = pin, pin, 0
	src.gen++
	src.nDel += n
	b.nAdd += n
}

// prependPinned is PrependBuffer for a source with a read in flight: its
// data moves to the front of b and its read-pinned chains stay behind.
func (b *Buffer) prependPinned(src *Buffer) error {
	var tmp Buffer
	tmp.splicePinned(src)
	tmp.nAdd = 0
	err := b.PrependBuffer(&tmp)
	src.invokeCallbacks()
	return err
}

// freeze records the caller's Freeze (on) or Unfreeze of one end.
func (p *pinState) freeze(front, on bool) {
	if front {
		p.userFront = on
	} else {
		p.userEnd = on
	}
}

// dropDeadTail releases the empty chains after the last chain with data that
// can never be written into (a read-pinned chain shared by
// AddBufferReference became immutable), and every chain of an empty buffer
// that holds only such chains.
func (b *Buffer) dropDeadTail() {
	if b.total == 0 {
		for c := b.first; c != nil; c = c.next {
			if c.flags&flagImmutable != 0 {
				f := b.first
				b.first, b.last, b.lastData = nil, nil, nil
				b.releaseList(f)
				return
			}
		}
		return
	}
	prev := b.lastData
	for c := prev.next; c != nil; {
		next := c.next
		if c.flags&flagImmutable != 0 && c.off == 0 {
			prev.next = next
			b.releaseChain(c)
		} else {
			prev = c
		}
		c = next
	}
	b.last = prev
}
