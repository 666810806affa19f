package evbuffer

import (
	"fmt"
	"math"
	"unsafe"
)

// Buffer is a chained byte buffer: libevent's evbuffer. Bytes live in a list
// of chains; see the package documentation for the design and for how long
// the slices it hands out stay valid.
//
// The zero Buffer is empty and ready to use. A Buffer must not be copied after
// first use.
//
// Not safe for concurrent use: confine a Buffer to one goroutine (a
// bufferevent confines its buffers to its loop) or guard it with a lock.
type Buffer struct {
	_ noCopy

	// The fields a bufferevent's read, echo and write touch come first and
	// the struct is exactly 128 bytes, an aligned size class: with
	// thousands of connections every cache line a message walks is a
	// likely miss, and this keeps a buffer to two lines (bench/doc.go has
	// the measurements). Rarely used state lives in ext.

	first, last *chain
	// lastData is the last chain holding data. Every chain after it is
	// empty (spare space). When no chain holds data it is first (nil when
	// there are no chains at all).
	lastData *chain
	total    int

	// Bytes added and deleted since the callbacks last ran.
	nAdd, nDel int
	// gen changes whenever chains before the end are freed, replaced or
	// repacked, so that a Ptr knows to re-resolve its position.
	gen uint64

	flags       Flags
	frozenFront bool
	frozenEnd   bool
	cbDirty     bool // removed callbacks are waiting to be compacted
	deferred    bool // ext.deferrer is set: callbacks run through it

	pin      *pinState // completion I/O in flight (pin.go); nil until used
	cbSole   Notifier  // the only enabled callback, nil unless cbOn == 1
	cbOn     int32     // enabled callbacks not removed (0: changes cost one test)
	cbDepth  int16     // nesting depth of runCallbacks
	soleAdds bool      // cbSole is set to AddsOnly
	cbRun    uint8     // which changes run the callbacks (runNone, runAdds, runAll)

	// retired keeps the chain that a ReadLineSlice result points into alive
	// until the buffer next allocates or frees a chain.
	retired *chain
	spare   *chain      // an emptied chain kept for reuse (see keepSpare)
	cache   *ChainCache // loop-local chain reuse (SetChainCache); nil: the shared pools

	ext *bufExt // limits and the callback list; nil until set
}

// bufExt is the part of a Buffer that the paths moving bytes do not read:
// the limits set by SetMaxRead and SetMaxLineLength, the registered
// callbacks (the sole enabled one is cached in Buffer.cbSole) and the
// deferral state.
type bufExt struct {
	maxRead      int // 0 means DefaultMaxRead
	maxLine      int // 0 means DefaultMaxLineLength
	cbs          []*Callback
	deferrer     Deferrer
	deferFn      func() // b.runDeferred, stored once
	deferPending bool
}

// x returns b's extension, creating it.
func (b *Buffer) x() *bufExt {
	if b.ext == nil {
		b.ext = new(bufExt)
	}
	return b.ext
}

// numCallbacks returns the number of registered callbacks, removed ones
// waiting for compaction included.
func (b *Buffer) numCallbacks() int {
	if b.ext == nil {
		return 0
	}
	return len(b.ext.cbs)
}

// noCopy makes go vet's copylocks check report copies of a Buffer: a copy
// would share chains with the original and free them twice.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

// Flags are Buffer behaviour flags set with SetFlags. A Flags value is a
// plain value, safe for concurrent use.
type Flags uint32

// FlagDrainsToFD promises that the buffer's bytes leave it only through
// WriteToFD, Drain, AddBuffer or RemoveBuffer into another such buffer, never
// by being read into memory. It lets AddFile and AddFileSegment add sendfile
// chains whose bytes never enter user space. Socket bufferevents set it on
// their output buffer.
// A constant, safe for concurrent use.
const FlagDrainsToFD Flags = 1

// FlagKeepMemory raises the bound on the spare chain a buffer keeps for
// reuse (see "Memory" in the package documentation) from 4 KiB to the largest
// pooled chain, 1 MiB: a buffer that moves big blocks (64 KiB adds, large
// reads) then reuses its chain instead of taking one from the shared pools
// each time, at the price of holding up to 1 MiB while idle. Clearing it
// gives back a spare above 4 KiB.
// A constant, safe for concurrent use.
const FlagKeepMemory Flags = 2

// FlagReleaseMemory makes the buffer give every emptied chain back to the
// shared pools instead of keeping a spare one: an empty buffer then holds no
// memory at all, which suits very many mostly idle buffers, and each
// fill-and-empty cycle costs a pool round trip (about 10 ns). Setting it
// releases the spare at once. It overrides FlagKeepMemory.
// A constant, safe for concurrent use.
const FlagReleaseMemory Flags = 4

// FlagNonblockingFD promises that every descriptor given to WriteToFD is in
// non-blocking mode, so a write never sleeps in the kernel. On Linux
// WriteToFD then makes its write(2) a raw system call, without telling the
// Go scheduler (the entersyscall/exitsyscall pair costs about 150
// instructions, a few percent of a small message's user time). Break the
// promise and a write to a full blocking descriptor stalls every goroutine
// waiting for the calling thread's P. Socket bufferevents set it on their
// output buffer. Other systems ignore it.
// A constant, safe for concurrent use.
const FlagNonblockingFD Flags = 8

// New returns a new, empty Buffer. It is equivalent to new(Buffer).
// Safe for concurrent use.
func New() *Buffer { return new(Buffer) }

// Len returns the number of readable bytes in b.
// Not safe for concurrent use.
func (b *Buffer) Len() int { return b.total }

// ContiguousSpace returns the number of readable bytes in the first chain:
// how much Pullup can return without copying. Despite the name (libevent's
// evbuffer_get_contiguous_space) this is readable data, not free space.
// Not safe for concurrent use.
func (b *Buffer) ContiguousSpace() int {
	if b.first == nil {
		return 0
	}
	return b.first.off
}

// SetFlags sets the given flags on b. Setting FlagReleaseMemory releases
// the spare chain. Not safe for concurrent use.
func (b *Buffer) SetFlags(f Flags) {
	b.flags |= f
	if f&FlagReleaseMemory != 0 {
		b.dropSpare()
	}
}

// ClearFlags clears the given flags on b. Clearing FlagKeepMemory releases
// a spare chain above the default 4 KiB bound. Not safe for concurrent use.
func (b *Buffer) ClearFlags(f Flags) {
	b.flags &^= f
	if s := b.spare; f&FlagKeepMemory != 0 && s != nil && len(s.buf) > maxAutoSize {
		b.dropSpare()
	}
}

// Shrink gives the memory b keeps for reuse back to the shared pools: the
// spare chain (see "Memory" in the package documentation), a chain kept
// alive for the last ReadLineSlice result, and the empty chains after the
// last byte (space left by Reserve, Expand, reads or AddSpace), except those
// a read in flight uses (PinRead). The bytes in b stay. Call it on buffers
// about to sit idle for long; an empty buffer without a read in flight holds
// no memory afterwards (until it is used again). Shrink is a modification:
// slices returned earlier by ReadLineSlice and extents of a Reserve become
// invalid.
// Not safe for concurrent use.
func (b *Buffer) Shrink() {
	b.dropRetired()
	b.dropSpare()
	b.freeTrailingEmpty()
}

// Flags returns b's flags. Not safe for concurrent use.
func (b *Buffer) Flags() Flags { return b.flags }

// Freeze stops changes at one end of b: at the front (front == true) nothing
// can be drained, removed, read or prepended; at the end nothing can be
// added. Operations refused by a freeze return ErrFrozen and change nothing.
// Bufferevents freeze the end of their input and the front of their output.
// Not safe for concurrent use.
func (b *Buffer) Freeze(front bool) {
	if b.pin != nil {
		b.pin.freeze(front, true)
	}
	if front {
		b.frozenFront = true
	} else {
		b.frozenEnd = true
	}
}

// Unfreeze undoes Freeze for one end. An end stays frozen while an
// operation started by PinRead (the end) or PinWrite (the front) is in
// flight. Not safe for concurrent use.
func (b *Buffer) Unfreeze(front bool) {
	if b.pin != nil {
		b.pin.freeze(front, false)
	}
	if front {
		b.frozenFront = b.pin != nil && b.pin.writing
	} else {
		b.frozenEnd = b.pin != nil && b.pin.reading
	}
}

// Frozen reports whether the front (front == true) or the end of b is
// frozen. Not safe for concurrent use.
func (b *Buffer) Frozen(front bool) bool {
	if front {
		return b.frozenFront
	}
	return b.frozenEnd
}

// ---- chain list helpers ----

// freeTrailingEmpty frees the empty, unpinned chains after the last chain
// holding data and returns the chain a new chain should follow (nil: the new
// chain becomes first).
func (b *Buffer) freeTrailingEmpty() *chain {
	var prev *chain
	cur := b.lastData
	if cur == nil {
		return nil
	}
	if cur.off != 0 || cur.pinned() {
		prev, cur = cur, cur.next
	}
	for cur != nil && cur.pinned() {
		prev, cur = cur, cur.next
	}
	if cur != nil {
		b.releaseList(cur)
		if prev == nil {
			b.first, b.last, b.lastData = nil, nil, nil
		} else {
			prev.next = nil
			b.last = prev
		}
	}
	return prev
}

// releaseList releases c and every chain after it.
func (b *Buffer) releaseList(c *chain) {
	for c != nil {
		next := c.next
		b.releaseChain(c)
		c = next
	}
}

// releaseChain drops the buffer's ownership of c, parks it in b.retired
// when a ReadLineSlice result still points into it, or keeps it as the
// spare chain.
func (b *Buffer) releaseChain(c *chain) {
	c.next = nil
	if c.flags != 0 {
		if c.flags&flagRetain != 0 {
			c.flags &^= flagRetain
			b.retired = c
			return
		}
		c.release() // not plain: no spare, no cache
		return
	}
	// A buffer with a chain cache gives plain chains to it rather than keeping
	// a spare: the cache hands the chain out again, still cached, to whichever
	// of its buffers needs one next.
	if cc := b.cache; cc != nil && c.class >= 0 && cc.put(c) {
		return
	}
	if b.flags&FlagReleaseMemory != 0 || !b.keepSpare(c) {
		c.release()
	}
}

// keepSpare makes the unlinked chain c the buffer's spare when the memory
// policy allows it: a plain chain of pooled memory (no reference, no shared
// or pinned memory), at most 4 KiB (1 MiB with FlagKeepMemory), and bigger
// than the current spare, which it replaces. It reports whether it kept c.
func (b *Buffer) keepSpare(c *chain) bool {
	if c.flags != 0 || c.class < 0 || b.flags&FlagReleaseMemory != 0 {
		return false
	}
	if len(c.buf) > maxAutoSize && b.flags&FlagKeepMemory == 0 {
		return false
	}
	s := b.spare
	if s != nil && len(s.buf) >= len(c.buf) {
		return false
	}
	c.misalign, c.off = 0, 0
	b.spare = c
	if s != nil {
		s.release()
	}
	return true
}

// insert links c at the end of b, freeing trailing empty chains first.
func (b *Buffer) insert(c *chain) {
	if b.lastData == nil {
		b.first, b.last, b.lastData = c, c, c
	} else {
		prev := b.freeTrailingEmpty()
		if prev == nil {
			b.first, b.lastData = c, c
		} else {
			prev.next = c
			if c.off > 0 {
				b.lastData = c
			}
		}
		b.last = c
	}
	b.total += c.off
}

// insertNew links a new chain with at least n bytes of space.
func (b *Buffer) insertNew(n int) *chain {
	c := b.newChain(n)
	b.insert(c)
	return c
}

// newChain returns an empty chain with at least n bytes of space: the kept
// spare chain when it is big enough, else one from the pools. A retired
// chain is let go first: this is a modification.
func (b *Buffer) newChain(n int) *chain {
	if b.retired != nil {
		b.dropRetired()
	}
	if s := b.spare; s != nil && len(s.buf) >= n {
		b.spare = nil
		return s
	}
	if cc := b.cache; cc != nil {
		if c := cc.get(n); c != nil {
			return c
		}
	}
	return newChain(n)
}

// dropSpare returns the kept spare chain to the pools.
func (b *Buffer) dropSpare() {
	if s := b.spare; s != nil {
		b.spare = nil
		s.release()
	}
}

// advanceLastData moves lastData to the last chain holding data.
func (b *Buffer) advanceLastData() {
	c := b.lastData
	if c == nil {
		return
	}
	for c = c.next; c != nil; c = c.next {
		if c.off > 0 {
			b.lastData = c
		}
	}
}

// dropRetired lets go of the chain kept for the last ReadLineSlice result:
// it becomes the spare chain, or goes back to the pools.
func (b *Buffer) dropRetired() {
	if r := b.retired; r != nil {
		b.retired = nil
		if b.flags&FlagReleaseMemory != 0 || !b.keepSpare(r) {
			r.release()
		}
	}
}

// checkGrow returns an error when adding n bytes is impossible.
func (b *Buffer) checkGrow(n int) error {
	if n < 0 {
		return ErrNegative
	}
	if n > math.MaxInt-b.total {
		return ErrTooLarge
	}
	return nil
}

// ---- adding ----

// appendData copies p to the end of b (libevent's evbuffer_add without the
// freeze check and callbacks). It counts the bytes for the callbacks.
func appendData[T string | []byte](b *Buffer, p T) {
	n := len(p)
	if n == 0 {
		return
	}
	b.nAdd += n
	c := b.lastData
	if c == nil {
		c = b.insertNew(min(n, MaxChainSize))
	}
	remain := c.space()
	if remain >= n {
		copy(c.buf[c.misalign+c.off:], p)
		c.off += n
		b.total += n
		return
	}
	if c.shouldRealign(n) {
		c.align()
		copy(c.buf[c.off:], p)
		c.off += n
		b.total += n
		return
	}
	// Fill the tail, then link a chain twice the size of the last one (up
	// to maxAutoSize) or big enough for the rest.
	toAlloc := len(c.buf)
	if toAlloc <= maxAutoSize/2 {
		toAlloc <<= 1
	}
	if n > toAlloc {
		toAlloc = n
	}
	if remain > 0 {
		copy(c.buf[c.misalign+c.off:], p[:remain])
		c.off += remain
		b.total += remain
		p = p[remain:]
	}
	// A spare chain after c (left by Expand, Reserve or a read) that holds
	// the rest is used before anything is allocated.
	if nx := c.next; nx != nil && nx.off == 0 && nx.flags&(flagImmutable|flagPinned) == 0 && len(nx.buf) >= len(p) {
		nx.misalign = 0
		nx.off = copy(nx.buf, p)
		b.total += nx.off
		b.lastData = nx
		return
	}
	for len(p) > 0 {
		nc := b.insertNew(min(toAlloc, MaxChainSize))
		k := copy(nc.buf, p)
		nc.off = k
		b.total += k
		b.lastData = nc
		p = p[k:]
	}
}

// Add appends a copy of p to b. It returns ErrFrozen if the end of b is
// frozen (even when p is empty, as in libevent). The bytes go into the free
// space of the last chain, else into the buffer's spare chain, else into new
// chains from the shared pools (see "Memory" in the package documentation).
// Not safe for concurrent use.
func (b *Buffer) Add(p []byte) error {
	// The hot case, spelled out: p fits in the free space of the last
	// chain with data, or of the spare chain of an empty buffer.
	c := b.lastData
	if c == nil {
		c = b.spare
	}
	if c != nil && len(p) <= c.space() && len(p) <= math.MaxInt-b.total && !b.frozenEnd && b.retired == nil {
		if n := len(p); n != 0 {
			if b.lastData == nil {
				b.spare = nil
				b.first, b.last, b.lastData = c, c, c
			}
			copy(c.buf[c.misalign+c.off:], p)
			c.off += n
			b.total += n
			b.nAdd += n
		}
		b.invokeCallbacks()
		return nil
	}
	if b.frozenEnd {
		return ErrFrozen
	}
	if err := b.checkGrow(len(p)); err != nil {
		return err
	}
	appendData(b, p)
	b.invokeCallbacks()
	return nil
}

// AddString appends a copy of s to b, like Add.
// Not safe for concurrent use.
func (b *Buffer) AddString(s string) error {
	// Add's hot case, for a string.
	c := b.lastData
	if c == nil {
		c = b.spare
	}
	if c != nil && len(s) <= c.space() && len(s) <= math.MaxInt-b.total && !b.frozenEnd && b.retired == nil {
		if n := len(s); n != 0 {
			if b.lastData == nil {
				b.spare = nil
				b.first, b.last, b.lastData = c, c, c
			}
			copy(c.buf[c.misalign+c.off:], s)
			c.off += n
			b.total += n
			b.nAdd += n
		}
		b.invokeCallbacks()
		return nil
	}
	if b.frozenEnd {
		return ErrFrozen
	}
	if err := b.checkGrow(len(s)); err != nil {
		return err
	}
	appendData(b, s)
	b.invokeCallbacks()
	return nil
}

// Printf appends the fmt.Sprintf-style formatting of a to b and returns the
// number of bytes added. The text is added in one step (one callback run).
// Not safe for concurrent use.
func (b *Buffer) Printf(format string, a ...any) (int, error) {
	if b.frozenEnd {
		return 0, ErrFrozen
	}
	return fmt.Fprintf((*printfWriter)(b), format, a...)
}

// printfWriter is the io.Writer Printf hands to fmt: each Write is one Add.
type printfWriter Buffer

func (w *printfWriter) Write(p []byte) (int, error) {
	b := (*Buffer)(w)
	if err := b.Add(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// AddIovec appends each slice of vecs in order and returns the number of
// bytes added. Space for the total is made first, in one chain, and the
// slices are copied into it; one callback run reports the whole add.
// Not safe for concurrent use.
func (b *Buffer) AddIovec(vecs [][]byte) (int, error) {
	if b.frozenEnd {
		return 0, ErrFrozen
	}
	total := 0
	for _, v := range vecs {
		total += len(v)
		if total < 0 {
			return 0, ErrTooLarge
		}
	}
	if err := b.checkGrow(total); err != nil {
		return 0, err
	}
	if total == 0 {
		b.invokeCallbacks()
		return 0, nil
	}
	if total > MaxChainSize {
		for _, v := range vecs {
			appendData(b, v)
		}
		b.invokeCallbacks()
		return total, nil
	}
	c, err := b.expandSingleChain(total)
	if err != nil {
		return 0, err
	}
	// c is the last chain with data or an empty chain after it.
	at := c.misalign + c.off
	for _, v := range vecs {
		at += copy(c.buf[at:], v)
	}
	c.off += total
	b.lastData = c
	b.total += total
	b.nAdd += total
	b.invokeCallbacks()
	return total, nil
}

// AddReference appends p to b without copying: the chain points at p's
// memory. cleanup, if not nil, is called exactly once with p when the last
// byte of the reference has left every buffer (drained, removed, moved and
// drained, or the buffer reset). If the add fails cleanup is not called.
// The caller must not modify p until cleanup runs; b never writes into it.
// cleanup runs on the goroutine that drops the last reference.
// Not safe for concurrent use.
func (b *Buffer) AddReference(p []byte, cleanup func(p []byte)) error {
	if b.frozenEnd {
		return ErrFrozen
	}
	if err := b.checkGrow(len(p)); err != nil {
		return err
	}
	c := newHead()
	c.buf = p[:len(p):len(p)]
	c.off = len(p)
	c.flags = flagImmutable | flagReference
	c.cleanup = cleanup
	c.ref = p
	b.insert(c)
	b.nAdd += len(p)
	b.invokeCallbacks()
	return nil
}

// AddSpace appends an empty chain over the caller's memory p to b: the adds,
// reservations and reads that follow (Add, Reserve, ReadWith, ReadFromFD,
// PinRead) fill p before b allocates memory of its own, and the bytes written
// there move between buffers like any others (AddBuffer relinks the chain).
// release, if not nil, is called exactly once with p when the chain is freed:
// when the bytes written into it have left every buffer, or an empty chain is
// let go (Reset, or the next add when nothing was written into it). It is
// never called while completion I/O uses the chain (PinRead, PinWrite): a
// pinned chain is freed at its commit. release runs on the goroutine that
// frees the chain, which need not be b's (AddBuffer may have moved the
// chain to a buffer used elsewhere). An empty p adds nothing (release is not
// called); a frozen end gives ErrFrozen. The caller must not touch p until
// release runs. Memory added this way is for callers that manage receive
// memory themselves (an arena outside the Go heap, huge pages).
// Not safe for concurrent use.
func (b *Buffer) AddSpace(p []byte, release func(p []byte)) error {
	if b.frozenEnd {
		return ErrFrozen
	}
	if len(p) == 0 {
		return nil
	}
	c := newHead()
	c.buf = p[:len(p):len(p)]
	c.flags = flagReference
	c.cleanup = release
	c.ref = p
	b.insert(c)
	return nil
}

// Prepend inserts a copy of p at the front of b, using the free space before
// the first chain's data when it can. Prepending nothing always succeeds
// (as in libevent); otherwise a frozen front gives ErrFrozen.
// Not safe for concurrent use.
func (b *Buffer) Prepend(p []byte) error {
	n := len(p)
	if n == 0 {
		return nil
	}
	if b.frozenFront {
		return ErrFrozen
	}
	if err := b.checkGrow(n); err != nil {
		return err
	}
	b.gen++
	c := b.first
	if c == nil {
		c = b.insertNew(min(n, MaxChainSize))
	}
	if c.flags&(flagImmutable|flagPinned) == 0 {
		if c.off == 0 {
			// Empty: treat it as empty at the front so the bytes sit at
			// the end and later prepends fit too.
			c.misalign = len(c.buf)
		}
		if c.misalign >= n {
			c.misalign -= n
			copy(c.buf[c.misalign:], p)
			c.off += n
			b.total += n
			b.nAdd += n
			b.invokeCallbacks()
			return nil
		}
		if m := c.misalign; m > 0 {
			copy(c.buf, p[n-m:])
			c.off += m
			b.total += m
			b.nAdd += m
			c.misalign = 0
			p = p[:n-m]
		}
	}
	for len(p) > 0 {
		k := min(len(p), MaxChainSize)
		nc := b.newChain(k)
		nc.misalign = len(nc.buf) - k
		copy(nc.buf[nc.misalign:], p[len(p)-k:])
		nc.off = k
		if b.lastData == b.first && b.first.off == 0 {
			// b.first held no data: the new chain is now the last with data.
			b.lastData = nc
		}
		nc.next = b.first
		b.first = nc
		b.total += k
		b.nAdd += k
		p = p[:len(p)-k]
	}
	b.invokeCallbacks()
	return nil
}

// ---- moving whole buffers ----

// AddBuffer moves all bytes of src to the end of b without copying: src's
// chains are linked into b. Moving from an empty buffer or from b itself does
// nothing. It fails with ErrFrozen if b's end or src's front is frozen.
// Both buffers' callbacks run.
// Not safe for concurrent use (of either buffer).
func (b *Buffer) AddBuffer(src *Buffer) error {
	if src == nil {
		return ErrNil
	}
	n := src.total
	if n == 0 || src == b {
		return nil
	}
	if b.frozenEnd || src.frozenFront {
		return ErrFrozen
	}
	if err := b.checkGrow(n); err != nil {
		return err
	}
	if b.first == nil && src.pin == nil {
		// Into a buffer without chains (an echo's empty output): take src's list.
		b.first, b.last, b.lastData, b.total = src.first, src.last, src.lastData, n
		src.first, src.last, src.lastData, src.total = nil, nil, nil, 0
		src.gen++
		src.nDel += n
		b.nAdd += n
	} else {
		b.spliceAll(src)
	}
	src.invokeCallbacks()
	b.invokeCallbacks()
	return nil
}

// spliceAll links all of src's chains at the end of b and empties src.
func (b *Buffer) spliceAll(src *Buffer) {
	if src.pinnedRead() {
		b.splicePinned(src)
		return
	}
	n := src.total
	if b.total == 0 {
		// There may be empty chains: drop them.
		if b.first != nil {
			b.releaseList(b.first)
		}
		b.first, b.last, b.lastData, b.total = src.first, src.last, src.lastData, n
	} else {
		prev := b.freeTrailingEmpty()
		prev.next = src.first // b has data, so prev is not nil
		b.lastData = src.lastData
		b.last = src.last
		b.total += n
	}
	src.first, src.last, src.lastData, src.total = nil, nil, nil, 0
	src.gen++
	src.nDel += n
	b.nAdd += n
}

// PrependBuffer moves all bytes of src to the front of b without copying.
// Moving from an empty buffer or from b itself does nothing. It fails with
// ErrFrozen if the front of either buffer is frozen.
// Not safe for concurrent use (of either buffer).
func (b *Buffer) PrependBuffer(src *Buffer) error {
	if src == nil {
		return ErrNil
	}
	n := src.total
	if n == 0 || src == b {
		return nil
	}
	if b.frozenFront || src.frozenFront {
		return ErrFrozen
	}
	if err := b.checkGrow(n); err != nil {
		return err
	}
	if src.pinnedRead() {
		return b.prependPinned(src)
	}
	if b.total == 0 && !b.pinnedRead() {
		if b.first != nil {
			b.releaseList(b.first)
		}
		b.first, b.last, b.lastData = src.first, src.last, src.lastData
	} else {
		if b.total == 0 {
			// b holds only the empty chains of a read in flight (pin.go),
			// which must follow the last chain with data directly.
			if t := src.lastData.next; t != nil {
				src.lastData.next = nil
				src.releaseList(t)
				src.last = src.lastData
			}
			b.lastData = src.lastData
		}
		src.last.next = b.first
		b.first = src.first
	}
	b.total += n
	b.gen++
	src.first, src.last, src.lastData, src.total = nil, nil, nil, 0
	src.gen++
	src.nDel += n
	b.nAdd += n
	src.invokeCallbacks()
	b.invokeCallbacks()
	return nil
}

// RemoveBuffer moves up to n bytes from the front of b to the end of dst and
// returns how many moved. Whole chains move without copying; only the one
// chain split by the boundary is copied. n larger than b.Len() moves
// everything (like dst.AddBuffer(b)). It fails with ErrFrozen if b's front
// or dst's end is frozen, and with ErrNegative for n < 0.
// Not safe for concurrent use (of either buffer).
func (b *Buffer) RemoveBuffer(dst *Buffer, n int) (int, error) {
	if dst == nil {
		return 0, ErrNil
	}
	if n < 0 {
		return 0, ErrNegative
	}
	if n == 0 || dst == b {
		return 0, nil
	}
	if dst.frozenEnd || b.frozenFront {
		return 0, ErrFrozen
	}
	if n >= b.total {
		n = b.total
		if n == 0 {
			return 0, nil
		}
		if err := dst.checkGrow(n); err != nil {
			return 0, err
		}
		dst.spliceAll(b)
		b.invokeCallbacks()
		dst.invokeCallbacks()
		return n, nil
	}
	if err := dst.checkGrow(n); err != nil {
		return 0, err
	}
	b.gen++
	moved := 0
	c := b.first
	var prev *chain
	for c.off <= n-moved {
		moved += c.off
		prev = c
		c = c.next
	}
	if prev != nil {
		// Link b.first..prev at the end of dst.
		if dst.total == 0 {
			if dst.first != nil {
				dst.releaseList(dst.first)
			}
			dst.first, dst.lastData = b.first, b.first
		} else {
			dp := dst.freeTrailingEmpty()
			dp.next = b.first
		}
		dst.last = prev
		prev.next = nil
		b.first = c
		dst.advanceLastData()
		dst.total += moved
		dst.nAdd += moved
	}
	if rest := n - moved; rest > 0 {
		if c.flags&flagSendfile != 0 {
			// Split the file range instead of reading it.
			nc := newHead()
			nc.flags = c.flags
			nc.seg = c.seg
			nc.seg.refs.Add(1)
			nc.misalign = c.misalign
			nc.off = rest
			dst.insert(nc)
			if nc.off > 0 {
				dst.lastData = nc
			}
			dst.nAdd += rest
		} else {
			appendData(dst, c.buf[c.misalign:c.misalign+rest])
		}
		c.misalign += rest
		c.off -= rest
	}
	b.total -= n
	b.nDel += n
	dst.invokeCallbacks()
	b.invokeCallbacks()
	return n, nil
}

// AddBufferReference appends src's bytes to b without copying and without
// removing them from src: b's new chains share src's memory, which becomes
// read-only for both. The shared memory is recycled once neither buffer holds
// it, whichever goroutine drops it last. Only b's callbacks run.
// It fails with ErrSameBuffer when src is b, ErrFrozen when b's end is frozen,
// and ErrNestedReference when src holds chains that are themselves shared
// (from another AddBufferReference) or file chains.
// Not safe for concurrent use (of either buffer).
func (b *Buffer) AddBufferReference(src *Buffer) error {
	if src == nil {
		return ErrNil
	}
	n := src.total
	if n == 0 {
		return nil
	}
	if src == b {
		return ErrSameBuffer
	}
	if b.frozenEnd {
		return ErrFrozen
	}
	for c := src.first; c != nil; c = c.next {
		if c.flags&(flagMulticast|flagFile|flagSendfile) != 0 {
			return ErrNestedReference
		}
	}
	if err := b.checkGrow(n); err != nil {
		return err
	}
	if b.total == 0 && b.first != nil {
		b.releaseList(b.first)
		b.first, b.last, b.lastData = nil, nil, nil
	}
	for c := src.first; c != nil; c = c.next {
		if c.off == 0 {
			continue
		}
		c.share()
		m := newHead()
		m.buf = c.buf[: c.misalign+c.off : c.misalign+c.off]
		m.misalign = c.misalign
		m.off = c.off
		m.flags = flagImmutable | flagMulticast
		m.parent = c
		b.insert(m)
	}
	b.nAdd += n
	b.invokeCallbacks()
	return nil
}

// ---- removing ----

// Drain discards n bytes from the front of b (all of them if n >= Len()).
// Emptied chains go back to the shared pools, except one kept as the spare
// (see "Memory" in the package documentation).
// Draining an empty buffer succeeds even when frozen (as in libevent);
// otherwise a frozen front gives ErrFrozen. n < 0 gives ErrNegative.
// Not safe for concurrent use.
func (b *Buffer) Drain(n int) error {
	if n < 0 {
		return ErrNegative
	}
	if b.total == 0 {
		return nil
	}
	if b.frozenFront {
		return ErrFrozen
	}
	n = min(n, b.total)
	b.drain(n)
	b.nDel += n
	b.invokeCallbacks()
	return nil
}

// drain discards n <= b.total bytes without callbacks or counters.
func (b *Buffer) drain(n int) {
	if b.retired != nil {
		b.dropRetired()
	}
	b.gen++
	if n >= b.total && !b.hasPinnedR() {
		c := b.first
		b.first, b.last, b.lastData, b.total = nil, nil, nil, 0
		if c.next == nil {
			b.releaseChain(c)
		} else {
			b.releaseList(c)
		}
		return
	}
	b.total -= n
	rem := n
	c := b.first
	lostLast := false
	for c != nil && rem >= c.off {
		next := c.next
		rem -= c.off
		if c == b.lastData {
			lostLast = true
		}
		if c.flags&flagPinnedR != 0 {
			c.misalign += c.off
			c.off = 0
			break
		}
		b.releaseChain(c)
		c = next
	}
	b.first = c
	if c == nil {
		b.last, b.lastData = nil, nil
		return
	}
	c.misalign += rem
	c.off -= rem
	if lostLast {
		b.lastData = b.first
	}
}

func (b *Buffer) hasPinnedR() bool { return b.pinnedRead() }

// Remove copies up to len(p) bytes from the front of b into p, drains them,
// and returns how many. Emptied chains are recycled as Drain does. An empty b gives (0, nil); a frozen front gives
// ErrFrozen (unless b is empty).
// Not safe for concurrent use.
func (b *Buffer) Remove(p []byte) (int, error) {
	if b.total == 0 || len(p) == 0 {
		return 0, nil
	}
	if b.frozenFront {
		return 0, ErrFrozen
	}
	if c := b.first; c.buf != nil {
		if c.off > len(p) {
			// Within the first chain, which stays.
			n := copy(p, c.buf[c.misalign:c.misalign+c.off])
			b.consumeFirst(n)
			return n, nil
		}
		if c.off == b.total && c == b.last && c.flags == 0 && b.retired == nil {
			// All of a one-chain buffer: empty it.
			n := copy(p, c.buf[c.misalign:c.misalign+c.off])
			b.first, b.last, b.lastData, b.total = nil, nil, nil, 0
			b.gen++
			if b.spare == nil && len(c.buf) <= maxAutoSize && c.class >= 0 && b.flags&FlagReleaseMemory == 0 {
				// keepSpare's common case, spelled out.
				c.next, c.misalign, c.off = nil, 0, 0
				b.spare = c
			} else {
				b.releaseChain(c)
			}
			b.nDel += n
			b.invokeCallbacks()
			return n, nil
		}
	}
	n, err := copyResult(b.copyOut(b.first, 0, p))
	if err != nil {
		return 0, err
	}
	b.drain(n)
	b.nDel += n
	b.invokeCallbacks()
	return n, nil
}

// copyOut copies from chain c at offset off (into its readable bytes) into
// p, returning the count. It stops early at a sendfile chain, whose bytes are
// not in memory, and then reports blocked.
func (b *Buffer) copyOut(c *chain, off int, p []byte) (n int, blocked bool) {
	for c != nil && n < len(p) {
		if c.off > off {
			if c.buf == nil {
				return n, true
			}
			n += copy(p[n:], c.buf[c.misalign+off:c.misalign+c.off])
		}
		off = 0
		c = c.next
	}
	return n, false
}

// CopyOut copies up to len(p) bytes from the front of b into p without
// draining them, and returns how many. It copies fewer than len(p) bytes
// only when b holds fewer, or when it reaches a sendfile chain (see
// FlagDrainsToFD), which gives ErrNotInMemory if nothing could be copied.
//
// Unlike libevent, CopyOut works on a buffer whose front is frozen: it does
// not change the buffer, and a frozen output buffer should still be
// inspectable.
// Not safe for concurrent use.
func (b *Buffer) CopyOut(p []byte) (int, error) {
	return copyResult(b.copyOut(b.first, 0, p))
}

func copyResult(n int, blocked bool) (int, error) {
	if n == 0 && blocked {
		return 0, ErrNotInMemory
	}
	return n, nil
}

// CopyOutFrom is CopyOut starting at pos (nil: the front). It returns
// ErrInvalidPtr if pos is not a valid position in b.
// Not safe for concurrent use.
func (b *Buffer) CopyOutFrom(pos *Ptr, p []byte) (int, error) {
	if pos == nil {
		return b.CopyOut(p)
	}
	c, off, err := b.resolve(pos)
	if err != nil {
		return 0, err
	}
	return copyResult(b.copyOut(c, off, p))
}

// Pullup makes the first n bytes of b contiguous (n < 0: all of them) and
// returns them. It copies only when the first chain holds fewer than n bytes.
// It returns (nil, nil) for n == 0 or an empty buffer and ErrShort when n
// exceeds Len(). While a write is in flight (PinWrite) it fails with
// ErrPinned when it would have to copy from, or into, the chains being sent;
// bytes of a chain that a read in flight (PinRead) fills are copied and the
// chain stays, emptied, for the read.
//
// The slice aliases b's memory: it stays valid until the next call that
// modifies b; do not write to it (it may be shared memory).
// Not safe for concurrent use.
func (b *Buffer) Pullup(n int) ([]byte, error) {
	if n < 0 {
		n = b.total
	}
	if n == 0 {
		return nil, nil
	}
	if n > b.total {
		return nil, ErrShort
	}
	c := b.first
	if c.buf == nil {
		return nil, ErrNotInMemory
	}
	if c.off >= n {
		return c.buf[c.misalign : c.misalign+n], nil
	}
	// Chains we would copy from must be in memory and not sent from by a
	// write in flight (a read in flight only writes after their bytes).
	rem := n - c.off
	for t := c.next; t != nil; t = t.next {
		if t.flags&flagPinnedW != 0 {
			return nil, ErrPinned
		}
		if t.buf == nil && t.off > 0 {
			return nil, ErrNotInMemory
		}
		if t.off >= rem {
			break
		}
		rem -= t.off
	}
	b.gen++
	var dst *chain
	size := n
	var pos int // write offset into dst.buf
	if c.flags&(flagImmutable|flagPinnedR) == 0 && len(c.buf)-c.misalign >= n {
		// Room after the first chain's data.
		dst = c
		pos = c.misalign + c.off
		size -= c.off
		c.off = n
		c = c.next
	} else if c.flags&flagPinnedW != 0 {
		return nil, ErrPinned
	} else {
		if n > MaxChainSize {
			return nil, ErrTooLarge
		}
		dst = b.newChain(n)
		dst.off = n
		b.first = dst
	}
	lostLast := false
	for c != nil && size >= c.off {
		next := c.next
		pos += copy(dst.buf[pos:], c.data())
		size -= c.off
		if c == b.lastData {
			lostLast = true
		}
		if c.flags&flagPinnedR != 0 {
			// A read in flight lands after its bytes: empty it, keep it.
			c.misalign += c.off
			c.off = 0
			break
		}
		b.releaseChain(c)
		c = next
	}
	if c != nil {
		copy(dst.buf[pos:], c.buf[c.misalign:c.misalign+size])
		c.misalign += size
		c.off -= size
	} else {
		b.last = dst
	}
	dst.next = c
	if lostLast {
		b.lastData = dst
	}
	return dst.buf[dst.misalign : dst.misalign+n], nil
}

// sliceData returns the address of a slice's backing array (used to match
// committed extents with reserved space).
func sliceData(p []byte) *byte { return unsafe.SliceData(p) }

// Reset discards every byte and chain of b, as libevent's evbuffer_free does:
// reference cleanups run, shared memory and file segments are released, and
// pooled memory is recycled. Reset ignores freezes and runs no callbacks (the
// pending change counts are cleared). It also gives back the spare chain
// (see Shrink), so b holds no memory afterwards. b stays usable.
//
// With operations in flight (PinRead, PinWrite) Reset still discards every
// byte, but the chains of a read in flight stay in b, empty, for the read to
// land in, and the memory of a write in flight is freed only by CommitWrite.
//
// Dropping a Buffer without Reset is safe, but its reference cleanups never
// run and its memory returns to the garbage collector instead of the pools.
// Not safe for concurrent use.
func (b *Buffer) Reset() {
	if b.pin != nil && (b.pin.reading || b.pin.writing) {
		b.resetPinned()
		return
	}
	c := b.first
	b.first, b.last, b.lastData, b.total = nil, nil, nil, 0
	b.nAdd, b.nDel = 0, 0
	b.gen++
	b.releaseList(c)
	b.dropRetired()
	b.dropSpare()
}
