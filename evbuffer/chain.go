package evbuffer

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// Chain sizing. A chain's capacity is a power of two between minChainSize and
// maxPooledSize (pooled), or an exact size above that (garbage collected).
// Constants, safe for concurrent use.
const (
	// minChainSize is the smallest chain capacity (libevent's MIN_BUFFER_SIZE).
	minChainSize = 1024
	// maxAutoSize caps the doubling of chain sizes done by Add: a new chain is
	// twice the previous one while that one is at most maxAutoSize/2.
	maxAutoSize = 4096
	// maxToRealign is the most bytes Add/Expand move to the front of a chain
	// to reuse its misalign space (libevent's MAX_TO_REALIGN_IN_EXPAND).
	maxToRealign = 2048
	// maxToCopyInExpand is the most bytes Expand copies into a bigger chain
	// (libevent's MAX_TO_COPY_IN_EXPAND).
	maxToCopyInExpand = 4096
	// maxPooledSize is the largest capacity kept in the memory pools.
	maxPooledSize = 1 << 20
	// MaxChainSize is the largest single allocation a Buffer makes for one
	// chain; Expand and Reserve reject larger requests with ErrTooLarge.
	MaxChainSize = 1 << 30
)

// numClasses is the number of pooled size classes: 1 KiB, 2 KiB, ... 1 MiB.
var numClasses = bits.Len(maxPooledSize) - bits.Len(minChainSize) + 1

// chain flags.
const (
	flagImmutable uint16 = 1 << iota // never write into buf (references, shared memory)
	flagReference                    // buf is caller memory; cleanup runs when freed
	flagMulticast                    // buf is shared with parent (AddBufferReference)
	flagFile                         // bytes come from a file segment (materialised)
	flagSendfile                     // bytes are not in memory: written with sendfile
	flagPinnedR                      // kernel reads into this chain (completion I/O)
	flagPinnedW                      // kernel writes from this chain (completion I/O)
	flagDangling                     // freed while pinned; release on unpin
	flagShared                       // memory shared with multicast chains; refs counts owners
)

// flagRetain makes a drain retire the chain (Buffer.retired) instead of
// releasing it: readLineSlice's result points into it. After flagPinRef.
const flagRetain = flagPinRef << 1

const flagPinned = flagPinnedR | flagPinnedW

// A chain is one contiguous extent of a Buffer. Readable bytes are
// buf[misalign:misalign+off]; writable tail space is buf[misalign+off:] unless
// the chain is immutable. For sendfile chains buf is nil and misalign is the
// offset inside the file segment window.
type chain struct {
	buf      []byte
	misalign int
	off      int
	next     *chain
	flags    uint16
	class    int8 // pool class of buf, -1 when buf is not pooled memory

	// refs counts the owners of a shared chain's memory (flagShared): the
	// buffer that links it plus every multicast chain pointing at it.
	// Atomic because a multicast child may live in a buffer confined to
	// another goroutine. Unshared chains (the common case) have one owner
	// and never touch it.
	refs atomic.Int32

	parent  *chain       // multicast: the chain whose memory is shared
	cleanup func([]byte) // reference: called once with ref when freed
	ref     []byte       // reference: the slice given to AddReference
	seg     *FileSegment // file chains: the segment kept alive
}

// data returns the readable bytes of c (nil for sendfile chains).
func (c *chain) data() []byte {
	if c.buf == nil {
		return nil
	}
	return c.buf[c.misalign : c.misalign+c.off]
}

// space returns the writable tail capacity of c.
func (c *chain) space() int {
	if c.flags&flagImmutable != 0 {
		return 0
	}
	return len(c.buf) - c.misalign - c.off
}

// spaceSlice returns the writable tail of c.
func (c *chain) spaceSlice() []byte {
	if c.flags&flagImmutable != 0 {
		return nil
	}
	return c.buf[c.misalign+c.off:]
}

// pinned reports whether completion I/O owns c's memory.
func (c *chain) pinned() bool { return c.flags&flagPinned != 0 }

// align moves the readable bytes to the front of the chain.
func (c *chain) align() {
	copy(c.buf, c.buf[c.misalign:c.misalign+c.off])
	c.misalign = 0
}

// shouldRealign reports whether moving c's bytes to the front is worth it
// to fit n more bytes (libevent's evbuffer_chain_should_realign).
func (c *chain) shouldRealign(n int) bool {
	return c.flags&(flagImmutable|flagPinned) == 0 &&
		len(c.buf)-c.off >= n && c.off < len(c.buf)/2 && c.off <= maxToRealign
}

var (
	memPools  = make([]sync.Pool, numClasses) // *chain with buf of the class size
	headPool  = sync.Pool{New: func() any { return &chain{class: -1} }}
	classBase = bits.Len(minChainSize) - 1
)

// chainSize returns the capacity and class a request for n bytes gets.
func chainSize(n int) (int, int8) {
	if n <= minChainSize {
		return minChainSize, 0
	}
	if n <= maxPooledSize {
		l := bits.Len(uint(n - 1))
		return 1 << l, int8(l - classBase)
	}
	// Above the pools: round up to 4 KiB (the GC's size classes stop here).
	return (n + 4095) &^ 4095, -1
}

// newChain returns an empty chain with at least n bytes of capacity.
// The caller has checked n <= MaxChainSize.
func newChain(n int) *chain {
	size, class := chainSize(n)
	if class >= 0 {
		if v := memPools[class].Get(); v != nil {
			return v.(*chain)
		}
	}
	return &chain{buf: make([]byte, size), class: class}
}

// newHead returns a chain without memory of its own.
func newHead() *chain {
	return headPool.Get().(*chain)
}

// share records one more owner of c's memory (a multicast chain). Only the
// goroutine of the buffer holding c calls it.
func (c *chain) share() {
	if c.flags&flagShared == 0 {
		c.flags |= flagShared | flagImmutable
		c.refs.Store(2)
		if c.flags&flagPinned != 0 {
			// In-flight I/O holds a reference too (see pinChain).
			c.flags |= flagPinRef
			c.refs.Add(1)
		}
		return
	}
	c.refs.Add(1)
}

// release drops one owner of c; the last owner frees it: runs the reference
// cleanup, releases the multicast parent or the file segment, and recycles
// the chain and its memory.
func (c *chain) release() {
	if c.flags&flagShared != 0 {
		c.releaseShared()
		return
	}
	c.free()
}

// releaseShared drops one owner of a shared chain; the last one frees it.
// Multicast children call it from their own buffer's goroutine, so it reads
// nothing but the atomic count before the count says it is the last owner.
func (c *chain) releaseShared() {
	if c.refs.Add(-1) > 0 {
		return
	}
	c.free()
}

// free recycles c: runs the reference cleanup, releases the multicast parent
// or the file segment, and returns the chain and its memory to the pools.
func (c *chain) free() {
	if c.flags&flagPinned != 0 {
		// Completion I/O still owns the memory: the unpin frees it.
		c.flags |= flagDangling
		return
	}
	cleanup, ref, parent, seg := c.cleanup, c.ref, c.parent, c.seg
	class := c.class
	c.next, c.parent, c.cleanup, c.ref, c.seg = nil, nil, nil, nil, nil
	c.misalign, c.off, c.flags = 0, 0, 0
	if class >= 0 {
		memPools[class].Put(c)
	} else {
		c.buf = nil
		headPool.Put(c)
	}
	if parent != nil {
		parent.releaseShared()
	}
	if seg != nil {
		seg.release()
	}
	if cleanup != nil {
		cleanup(ref)
	}
}
