package eventbase

import (
	"os"
	"sync/atomic"
)

// poller is the backend interface (libevent's struct eventop). All methods
// except wake are called only from the loop goroutine.
//
// ctl is called only when the aggregate interest on fd changes, with the
// old and new interest (Read, Write, Closed, and ET when the fd is
// edge-triggered); old == 0 means the fd is new to the poller, new == 0 that
// it must be removed. fi carries per-fd scratch space for the poller.
//
// wait blocks for at most timeout nanoseconds (-1: no limit, 0: do not
// block), reports every ready fd with b.ioReady, and returns early when wake
// is called. A completion-based source (IOCP, io_uring) plugs in at the same
// place: its wait dequeues completions and runs their handlers on the loop
// goroutine, and b.AddVirtual keeps the loop alive while operations are in
// flight.
//
// wake is safe for concurrent use; close releases every kernel object.
type poller interface {
	ctl(fd int, old, new What, fi *fdInfo) error
	wait(b *Base, timeout int64) error
	wake() error
	close() error
}

// pollerInfo describes one compiled-in poller.
type pollerInfo struct {
	name     string
	features Feature
	create   func() (poller, error)
}

// msTimeout converts a timeout in ns to poll-style milliseconds, rounding up
// so the loop never wakes before a timer is due.
func msTimeout(ns int64) int {
	if ns < 0 {
		return -1
	}
	ms := (ns + 999_999) / 1_000_000
	if ms > 1<<31-1 {
		ms = 1<<31 - 1
	}
	return int(ms)
}

func wrapSys(name string, err error) error {
	if err == nil {
		return nil
	}
	return os.NewSyscallError(name, err)
}

// closeGuard makes a poller's close idempotent: Close and the cleanup that
// runs when an unclosed Base is garbage-collected may both call it.
type closeGuard struct{ done atomic.Bool }

// first reports whether this is the first close.
func (g *closeGuard) first() bool { return g.done.CompareAndSwap(false, true) }
