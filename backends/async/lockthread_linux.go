//go:build linux

package async

import (
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// The loop goroutine locked to its thread while the ring's receives carry the traffic
// (see "Threads" in doc.go). The kernel queues a ring receive's task work on the thread
// that submitted it, so a loop goroutine that moves between threads makes the kernel
// signal one thread and the loop wait on another (measured unlocked: 37% more CPU per
// message at 50 ping-pong connections, 40% at 1000, 14% streaming). Receiving by
// readiness has no such tie, and there a locked goroutine costs (the runtime switches
// threads around its blocking epoll_wait: about 24% more per message with one
// connection across CPUs). The user cannot know in advance how many connections a loop
// will serve, so the ring locks its loop goroutine on entering ring-receive mode and
// unlocks it on leaving it.

// autoLock: the ring locks its loop goroutine to its thread in ring-receive mode.
// ASYNC_NOLOCK=1 in the environment turns it off (for comparisons).
var autoLock = os.Getenv("ASYNC_NOLOCK") == ""

// holdThread brings the lock of the loop goroutine to the ring's mode: locked (counted
// once, nested in any lock of the user's) while the ring is in ring-receive mode,
// unlocked otherwise. It runs on the loop goroutine only (the flush, the ring's wait,
// the ring's event callback): the switches themselves may run in a constructor called
// before Dispatch, from another goroutine. check compares the current thread with the
// one locked (a system call, gettid): a goroutine that runs Dispatch after the one the
// ring locked returned is then locked too. The ring's wait checks every 64th time (a
// new loop goroutine is locked within 64 waits); without that wait (another poller,
// ASYNC_NOWAIT) the flush and the ring's event callback do. Without check, an unlocked
// ring in ring mode is locked, and a locked one in readiness mode unlocked (no system
// call when nothing changes).
func (lr *loopRing) holdThread(check bool) {
	if lr.ready || lr.closed || !autoLock {
		if lr.lockTid != 0 {
			lr.releaseThread(true)
		}
		return
	}
	if lr.lockTid != 0 && !check {
		return
	}
	tid := unix.Gettid()
	if tid == lr.lockTid {
		return
	}
	// Not locked, or locked by a goroutine that has left the loop (another goroutine
	// runs Dispatch now; the first keeps its lock until it ends or releases the base:
	// only the locked goroutine itself can undo it).
	runtime.LockOSThread()
	lr.lockTid = tid
	lr.locks++
}

// releaseThread undoes holdThread's lock if the calling goroutine is the one locked: a
// locked goroutine owns its thread, so the same thread id means the same goroutine. A
// different goroutine (a switch to readiness in a constructor run off the loop,
// Base.Close from another goroutine) must not call UnlockOSThread, which would undo a
// lock of its own user's: the lock is then left to the loop's next holdThread or, when
// the loop runs on another goroutine now (onLoop) or the ring is torn down, to the
// locked goroutine's end (Go then ends its thread).
func (lr *loopRing) releaseThread(onLoop bool) {
	if lr.lockTid == 0 {
		return
	}
	if unix.Gettid() == lr.lockTid {
		runtime.UnlockOSThread()
		lr.lockTid = 0
		lr.unlocks++
		return
	}
	if onLoop || lr.closed {
		lr.lockTid = 0 // the locked goroutine left the loop, or the ring is gone
	}
}
