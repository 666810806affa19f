//go:build linux

package async

import (
	"os"
	"sync"
)

// The bulk receive pool (see "Bulk receive pool" in doc.go). A bulk receive (more
// than half of maxReadSize) into an empty input lands in a block of this pool, linked
// into the input with evbuffer.Buffer.AddSpace, instead of a chain of evbuffer's
// pools; the block comes back here when evbuffer frees the chain (AddSpace's release),
// which is never while the kernel may still write into it (a pinned chain is freed
// at its commit), on whichever goroutine frees it.
//
// The pool is process-wide and keeps what comes back, at most poolMax blocks, last
// released first out (the block a send just freed, still in the cache, is the next
// receive's): memory a connection, a bufferevent or a whole event base gave back is
// reused by the next one already mapped and faulted in, where evbuffer's shared pools
// are emptied by every garbage collection and what the collector frees goes back to
// the system and is faulted in again on its next use. The blocks are ordinary Go
// memory: one that never comes back (its bytes left in a buffer that is dropped
// without being drained) is collected like any other, and a slice of it the program
// still holds keeps it alive and out of the pool.
const (
	poolBlock = maxReadSize // one bulk receive
	poolMax   = 128         // blocks kept: 32 MiB
)

// poolOn is off with ASYNC_NOPOOL=1 in the environment (for comparisons).
var poolOn = os.Getenv("ASYNC_NOPOOL") == ""

var recvPool = struct {
	mu         sync.Mutex // blocks come back on any goroutine
	free       [][]byte   // released blocks, the last released last
	gets, puts int        // blocks handed out and taken back (tests)
}{free: make([][]byte, 0, poolMax)}

// poolGet returns a block of poolBlock bytes: the last one released, or a new one.
// Safe for concurrent use.
func poolGet() []byte {
	recvPool.mu.Lock()
	recvPool.gets++
	var p []byte
	if n := len(recvPool.free); n > 0 {
		p = recvPool.free[n-1]
		recvPool.free[n-1] = nil
		recvPool.free = recvPool.free[:n-1]
	}
	recvPool.mu.Unlock()
	if p == nil {
		p = make([]byte, poolBlock)
	}
	return p
}

// poolPut takes a block back (the release function of the chains over blocks); beyond
// poolMax it is left to the garbage collector. Safe for concurrent use.
func poolPut(p []byte) {
	recvPool.mu.Lock()
	recvPool.puts++
	if len(recvPool.free) < poolMax {
		recvPool.free = append(recvPool.free, p[:poolBlock:poolBlock])
	}
	recvPool.mu.Unlock()
}

// poolCounts returns the blocks handed out and taken back so far (tests). Safe for
// concurrent use.
func poolCounts() (gets, puts int) {
	recvPool.mu.Lock()
	defer recvPool.mu.Unlock()
	return recvPool.gets, recvPool.puts
}
