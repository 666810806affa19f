package evbuffer

// Expand makes sure b has at least n contiguous writable bytes at its end,
// so that the next Add of up to n bytes copies once and allocates nothing.
// It may realign or resize the last chain or link a new one; it does not
// change Len(). n < 0 gives ErrNegative, n > MaxChainSize gives ErrTooLarge;
// b is unchanged on error.
// Not safe for concurrent use.
func (b *Buffer) Expand(n int) error {
	if n < 0 {
		return ErrNegative
	}
	return b.expandSingle(n)
}

// expandSingle makes n bytes of writable space in one chain.
func (b *Buffer) expandSingle(n int) error {
	_, err := b.expandSingleChain(n)
	return err
}

// expandSingleChain makes n bytes of writable space in one chain and returns
// it (libevent's evbuffer_expand_singlechain): the first chain with space if
// it is big enough or can be realigned, a resized copy of it, the spare
// chain after it, or a new chain.
func (b *Buffer) expandSingleChain(n int) (*chain, error) {
	if n > MaxChainSize {
		return nil, ErrTooLarge
	}
	c := b.lastData
	if c != nil && c.space() == 0 {
		c = c.next
	}
	if c == nil || c.flags&(flagImmutable|flagPinned) != 0 {
		return b.insertNew(n), nil
	}
	if c.space() >= n {
		return c, nil
	}
	if c.off == 0 {
		return b.insertNew(n), nil
	}
	if c.shouldRealign(n) {
		c.align()
		return c, nil
	}
	if c.space() < len(c.buf)/8 || c.off > maxToCopyInExpand || n >= MaxChainSize-c.off ||
		c.flags&flagReference != 0 {
		if c.next != nil && c.next.space() >= n {
			return c.next, nil
		}
		return b.insertNew(n), nil
	}
	// Resize: copy the data into a bigger chain. The chain keeps its place
	// in the list; only its memory is swapped.
	t := b.newChain(c.off + n)
	copy(t.buf, c.data())
	c.buf, t.buf = t.buf, c.buf
	c.class, t.class = t.class, c.class
	c.misalign = 0
	b.releaseChain(t)
	b.gen++
	return c, nil
}

// expandFast makes n bytes of writable space available over at most nvec
// chains at the end of b, never moving data (libevent's
// evbuffer_expand_fast_). nvec >= 2.
func (b *Buffer) expandFast(n, nvec int) error {
	if n > MaxChainSize {
		return ErrTooLarge
	}
	if b.last == nil || b.last.flags&flagImmutable != 0 {
		b.insertNew(n)
		return nil
	}
	used, avail := 0, 0
	c := b.lastData
	for ; c != nil; c = c.next {
		if c.off > 0 {
			if s := c.space(); s > 0 {
				avail += s
				used++
			}
		} else {
			if c.flags&(flagImmutable|flagPinned) == 0 {
				c.misalign = 0
			}
			avail += c.space()
			used++
		}
		if avail >= n {
			return nil
		}
		if used == nvec {
			break
		}
	}
	if used < nvec {
		t := b.newChain(n - avail)
		b.last.next = t
		b.last = t
		return nil
	}
	// Replace every empty chain with one big enough for the shortfall.
	c = b.lastData
	if c.off == 0 {
		b.releaseList(c)
		b.first, b.last, b.lastData = nil, nil, nil
		b.insertNew(n)
		return nil
	}
	avail = c.space()
	if c.next != nil {
		b.releaseList(c.next)
		c.next = nil
	}
	t := b.newChain(n - avail)
	c.next = t
	b.last = t
	return nil
}

// setupVecs fills vecs with the writable space of the chains from the first
// one with space, covering at least n bytes (exact: exactly n), and returns
// the number of extents used.
func (b *Buffer) setupVecs(n int, vecs [][]byte, exact bool) int {
	c := b.lastData
	if c != nil && c.space() == 0 {
		c = c.next
	}
	got, i := 0, 0
	for ; i < len(vecs) && got < n && c != nil; i++ {
		s := c.spaceSlice()
		if exact && len(s) > n-got {
			s = s[:n-got]
		}
		vecs[i] = s
		got += len(s)
		c = c.next
	}
	return i
}

// Reserve exposes at least size bytes of writable space at the end of b as
// up to len(vecs) extents, fills vecs with them and returns how many it used.
// With one extent the space is contiguous (b may realign or allocate); with
// more, no data moves. Extents may be longer than asked. Nothing becomes
// readable until Commit; reserving again without a commit returns the same
// space.
//
// The extents alias b's memory and stay valid until the next call that
// modifies b other than Commit.
// Errors: ErrFrozen (end frozen), ErrNegative (size < 0), ErrTooLarge,
// ErrNoVecs (vecs is empty).
// Not safe for concurrent use.
func (b *Buffer) Reserve(size int, vecs [][]byte) (int, error) {
	if b.frozenEnd {
		return 0, ErrFrozen
	}
	if size < 0 {
		return 0, ErrNegative
	}
	if len(vecs) == 0 {
		return 0, ErrNoVecs
	}
	if len(vecs) == 1 {
		if b.lastData == nil && size <= maxPooledSize {
			// An empty buffer without chains (a reader's usual case): link a new one.
			c := b.newChain(size)
			b.first, b.last, b.lastData = c, c, c
			vecs[0] = c.spaceSlice()
			return 1, nil
		}
		c, err := b.expandSingleChain(size)
		if err != nil {
			return 0, err
		}
		vecs[0] = c.spaceSlice()
		return 1, nil
	}
	if err := b.expandFast(size, len(vecs)); err != nil {
		return 0, err
	}
	return b.setupVecs(size, vecs, false), nil
}

// Commit makes the first len(vecs[i]) bytes of each reserved extent readable.
// vecs must be extents returned by the last Reserve, in order, possibly
// shortened; anything else (or a buffer changed since the Reserve) gives
// ErrCommit and commits nothing. A frozen end gives ErrFrozen.
// Not safe for concurrent use.
func (b *Buffer) Commit(vecs [][]byte) error {
	if b.frozenEnd {
		return ErrFrozen
	}
	if len(vecs) == 0 {
		return nil
	}
	if len(vecs) == 1 {
		return b.commit1(vecs[0])
	}
	// The first extent may be in any chain from the last one holding data
	// on (libevent only accepts the first chain with space, or the last
	// chain): the chains between are empty, so the order of bytes holds.
	// The others must follow it in consecutive chains.
	var first *chain
	for c := b.lastData; c != nil; c = c.next {
		if c.flags&flagImmutable == 0 && sliceData(vecs[0]) == sliceData(c.spaceSlice()) {
			first = c
			break
		}
	}
	if first == nil {
		return ErrCommit
	}
	c := first
	for _, v := range vecs {
		if c == nil || c.flags&flagImmutable != 0 || sliceData(v) != sliceData(c.spaceSlice()) || len(v) > c.space() {
			return ErrCommit
		}
		c = c.next
	}
	added := 0
	c = first
	for _, v := range vecs {
		c.off += len(v)
		added += len(v)
		if len(v) > 0 {
			b.lastData = c
		}
		c = c.next
	}
	b.total += added
	b.nAdd += added
	b.invokeCallbacks()
	return nil
}

// ReadWith appends what read produces to the end of b without a copy: it
// makes up to n bytes of contiguous writable space there (as Reserve with
// one extent), calls read once with exactly that space, and makes the first
// k bytes readable, k being what read returns (as Commit). It is the
// shape of a read(2) into the buffer, in one call instead of Reserve, the
// read and Commit, and without the extent slice a caller must otherwise
// keep so as not to allocate. read must not keep p after it returns nor use
// b; a change to b during the call, or a k outside [0, len(p)], gives
// ErrCommit and commits nothing. read's error is returned with k (bytes
// read before an error are committed). When k is 0 and the space came
// from a chain linked for this call, the chain is unlinked at once and
// released as any emptied chain is (to the buffer's chain cache, its spare
// or the pools; see Memory in the package doc).
// n < 0 gives ErrNegative, n > MaxChainSize ErrTooLarge, a frozen end
// ErrFrozen, a nil read ErrNil; n == 0 returns (0, nil) without calling
// read.
// Not safe for concurrent use.
func (b *Buffer) ReadWith(n int, read func(p []byte) (int, error)) (int, error) {
	if b.frozenEnd {
		return 0, ErrFrozen
	}
	if n <= 0 {
		if n < 0 {
			return 0, ErrNegative
		}
		return 0, nil
	}
	if read == nil {
		return 0, ErrNil
	}
	var c *chain
	fresh := b.lastData == nil && n <= maxPooledSize
	if fresh {
		// An empty buffer without chains (a reader's usual case).
		c = b.newChain(n)
		b.first, b.last, b.lastData = c, c, c
	} else {
		var err error
		if c, err = b.expandSingleChain(n); err != nil {
			return 0, err
		}
	}
	p := c.spaceSlice()
	if len(p) > n {
		p = p[:n]
	}
	gen, total, last := b.gen, b.total, b.last
	k, err := read(p)
	if b.gen != gen || b.total != total || b.last != last {
		return 0, ErrCommit
	}
	if k < 0 || k > len(p) {
		return 0, ErrCommit
	}
	if k == 0 {
		if fresh && b.first == c && c.off == 0 {
			b.first, b.last, b.lastData = nil, nil, nil
			b.releaseChain(c)
		}
		return 0, err
	}
	c.off += k
	b.lastData = c
	b.total += k
	b.nAdd += k
	b.invokeCallbacks()
	return k, err
}

// commit1 is Commit of a single extent (a reader's usual case): the same
// checks in one walk.
func (b *Buffer) commit1(v []byte) error {
	for c := b.lastData; c != nil; c = c.next {
		if c.flags&flagImmutable != 0 {
			continue
		}
		s := c.spaceSlice()
		if sliceData(v) != sliceData(s) {
			continue
		}
		if len(v) > len(s) {
			return ErrCommit
		}
		if len(v) > 0 {
			c.off += len(v)
			b.lastData = c
			b.total += len(v)
			b.nAdd += len(v)
		}
		b.invokeCallbacks()
		return nil
	}
	return ErrCommit
}

// tailSpace returns the writable space in the first nvec chains with space
// at the end of b, without changing anything.
func (b *Buffer) tailSpace(nvec int) int {
	c := b.lastData
	if c == nil {
		return 0
	}
	avail, used := 0, 0
	for ; c != nil && used < nvec; c = c.next {
		s := c.space()
		if c.off == 0 && c.flags&(flagImmutable|flagPinned) == 0 {
			s = len(c.buf) // expandFast realigns empty chains
		}
		if s > 0 {
			avail += s
			used++
		}
	}
	return avail
}
