// Package bevtest is the conformance suite for bufferevent types, modelled on
// golang.org/x/net/nettest.TestConn: a backend's tests call
//
//	func TestConformance(t *testing.T) {
//		bevtest.Run(t, func(base *eventbase.Base, opts bufferevent.Options) (a, b *bufferevent.BufferEvent, caps bevtest.Caps, err error) {
//			a, b, err = mytype.NewPair(base, opts)
//			return a, b, bevtest.Caps{NoFD: true}, err
//		})
//	}
//
// and get named subtests covering basic I/O both ways, large transfers
// (4 MiB), ping-pong, watermarks (read high bounds the input, read low gates
// the read callback, write low gates the write callback), read and write
// timeouts, flush modes, closing inside every callback, EOF and error
// delivery, enable/disable churn, deferred callback order, Trigger, callbacks
// calling every method, FD, bad input and methods after Close, and -race
// stresses of ThreadSafe bufferevents: many writer goroutines while the loop
// echoes, Close racing writers, and random method calls from goroutines and
// callbacks at once, after which the pair must still carry data. Each check names the libevent
// regression case it mirrors where there is one. Most checks run under several
// option sets (plain, DeferCallbacks, ThreadSafe, ThreadSafe with deferred
// unlocked callbacks).
//
// Each check builds a fresh base and pair with the MakePair function, runs
// the base's loop on the test goroutine and fails — never hangs — if it has
// not finished within Caps.Timeout (DefaultTimeout unless set).
//
// A backend that cannot do something declares it in Caps (no fd, no EOF on
// close, no half-close through Flush(Write, Finished), no ThreadSafe, read
// overrun past the high watermark); the affected checks then log "not
// applicable" with t.Log. Nothing is skipped silently and no failure is
// turned into a skip.
//
// Layered types (filters, TLS) can run the suite over the in-memory test
// pipe of package bufferevent/bevtest/pipe, which needs no sockets and
// delivers EOF on close like a socket peer; pipe.Break fits Caps.Break.
//
// All functions here are meant for tests; Run is not safe for concurrent use
// with other users of the MakePair's resources.
package bevtest
