package evbuffer

import "math/bits"

// cacheClasses is the number of pooled size classes (1 KiB ... 1 MiB), as a
// constant for ChainCache's array; TestChainCacheClasses checks it against
// numClasses.
const cacheClasses = 11

// ChainCacheMaxBytes bounds the memory a ChainCache holds: chains freed
// beyond it go to the shared pools.
// A constant, safe for concurrent use.
const ChainCacheMaxBytes = 1 << 20

// A ChainCache keeps the chains its buffers free for their next
// allocations: a last-in, first-out list per size class, without the atomic
// operations and processor pinning of the shared pools, so that the chain a
// buffer just freed (still in the processor's cache) is the next one handed
// out, for about 100 fewer instructions per allocation and release. A
// buffer uses a cache after SetChainCache. Only plain chains enter it (no
// references, no shared, pinned or file memory); it holds at most
// ChainCacheMaxBytes and gives nothing back to the shared pools until it is
// garbage collected. Buffers that trade chains (AddBuffer, RemoveBuffer)
// may use different caches or none: a chain goes to the cache of the buffer
// that frees it.
//
// Loop-confined: every buffer attached to a cache must be used from one
// goroutine, the same for all of them (an event loop's). bufferevent
// attaches the buffers of its bufferevents without ThreadSafe to one cache
// per event base. The zero ChainCache is ready to use.
type ChainCache struct {
	free  [cacheClasses]*chain
	bytes int
}

// NewChainCache returns an empty ChainCache.
// Safe for concurrent use.
func NewChainCache() *ChainCache { return new(ChainCache) }

// Bytes returns the memory the cache holds for reuse.
// Loop-confined, as the cache.
func (cc *ChainCache) Bytes() int { return cc.bytes }

// get returns an empty cached chain with at least n bytes of space, or nil.
func (cc *ChainCache) get(n int) *chain {
	class := 0
	if n > minChainSize {
		if n > maxPooledSize {
			return nil
		}
		class = bits.Len(uint(n-1)) - classBase
	}
	c := cc.free[class]
	if c == nil {
		return nil
	}
	cc.free[class] = c.next
	c.next = nil
	cc.bytes -= len(c.buf)
	return c
}

// put keeps the unlinked plain chain c (flags 0, pooled class) if the bound
// allows, and reports whether it did.
func (cc *ChainCache) put(c *chain) bool {
	if cc.bytes+len(c.buf) > ChainCacheMaxBytes {
		return false
	}
	cc.bytes += len(c.buf)
	c.misalign, c.off = 0, 0
	c.next = cc.free[c.class]
	cc.free[c.class] = c
	return true
}

// SetChainCache makes b take new chains from cc first and give the plain
// chains it frees to cc (see ChainCache for the rules); nil returns b to the
// shared pools alone. The chains b holds stay.
// Not safe for concurrent use; b then shares cc's confinement.
func (b *Buffer) SetChainCache(cc *ChainCache) { b.cache = cc }

// ChainCache returns the cache set by SetChainCache, or nil.
// Not safe for concurrent use.
func (b *Buffer) ChainCache() *ChainCache { return b.cache }
