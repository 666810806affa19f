package ssl

import (
	"net"
	"sync"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
)

// wouldBlock is what the adapter returns from Read when no ciphertext is
// buffered while the loop drives the connection. crypto/tls
// (conn.go, readRecordOrCCS) keeps the partial record in its raw input and
// does not make the error sticky when the error is a net.Error whose
// Temporary method reports true, so the next Read resumes where it stopped.
type wouldBlock struct{}

func (wouldBlock) Error() string   { return "ssl: no ciphertext buffered (would block)" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

var errWouldBlock net.Error = wouldBlock{}

// renegRequest is returned by the adapter's Read, on the loop, when the next
// record is a handshake record on a TLS 1.2 client that may renegotiate:
// the engine then lets a goroutine run the renegotiation (crypto/tls runs
// it inside Read, which must be able to block). Temporary, so crypto/tls
// keeps its state.
type renegRequest struct{}

func (renegRequest) Error() string   { return "ssl: renegotiation requested by the peer" }
func (renegRequest) Timeout() bool   { return false }
func (renegRequest) Temporary() bool { return true }

var errRenegotiate net.Error = renegRequest{}

// hsInputCap bounds the ciphertext the adapter holds for the handshake
// goroutine; beyond it the rest stays in the underlying bufferevent, whose
// reading is suspended until the goroutine has consumed what it has.
const hsInputCap = 64 << 10

// adapter is the in-memory net.Conn crypto/tls talks to. During the
// handshake (hs true) a short-lived goroutine runs tls.Conn.Handshake: its
// Reads block on the condition variable until the loop feeds ciphertext,
// its Writes queue ciphertext that the loop sends. After the handshake the
// loop calls tls.Conn.Read and Write itself: Reads take ciphertext from the
// leftover buffer, then from the underlying bufferevent's input, and answer
// errWouldBlock when there is none; Writes append to the underlying's
// output. The adapter survives its bufferevent when a session is released
// for re-wrapping (state Open), so it is rebound with bind.
type adapter struct {
	mu   sync.Mutex
	cond sync.Cond

	// Guarded by mu while hs is true; loop-confined afterwards.
	hs       bool
	rbuf     []byte // ciphertext not yet given to crypto/tls
	roff     int
	rerr     error // terminal read error for the handshake goroutine
	wq       []byte
	wqQueued bool
	more     bool // the loop left ciphertext in the underlying (rbuf was full)
	closed   bool
	kickW    func() // hands wq to the loop (set by the engine)
	kickR    func() // asks the loop for more input (set by the engine)

	// Loop-confined (the engine's transport).
	u      *bufferevent.BufferEvent
	stage  *evbuffer.Buffer // records produced on the loop, sent together by flush
	ueof   bool
	nread  int64 // ciphertext bytes handed to crypto/tls
	nwrite int64 // ciphertext bytes produced by crypto/tls
	werr   error

	// Record framing of what was handed to crypto/tls, to tell a stream
	// that ends between records (dirty shutdown) from one cut inside a
	// record (truncation), and to hand crypto/tls one record at a time.
	// Touched only by whoever calls Read.
	hdr     [5]byte
	hdrN    int
	recLeft int

	// What crypto/tls may hold, so that the loop calls tls.Conn.Read only
	// when it can return something (see mayProgress). ahead: the handshake
	// goroutine handed ciphertext without stopping at record boundaries,
	// so crypto/tls may hold complete records beyond the one it returned.
	// held: complete records handed in loop mode that no Read is known to
	// have consumed (an upper bound: each Read that returns a record's last
	// plaintext consumed at least one). idle: crypto/tls holds neither
	// decrypted plaintext nor a complete record. Same guard as hs.
	ahead bool
	held  int
	idle  bool

	// Renegotiation (TLS 1.2 clients whose config allows it). careful makes
	// loop-mode reads stop at record boundaries and report a handshake
	// record with errRenegotiate; reneg is set while the goroutine runs
	// the renegotiation; sawCCS, finPending and renegDone follow the
	// server's ChangeCipherSpec and Finished, after which a read with
	// nothing buffered returns errWouldBlock instead of blocking.
	careful    bool
	reneg      bool
	sawCCS     bool
	finPending bool
	renegDone  bool
}

// track follows TLS record boundaries over the bytes handed to crypto/tls.
func (a *adapter) track(p []byte) {
	for len(p) > 0 {
		if a.hdrN < len(a.hdr) {
			k := copy(a.hdr[a.hdrN:], p)
			a.hdrN += k
			p = p[k:]
			if a.hdrN == len(a.hdr) {
				a.recLeft = int(a.hdr[3])<<8 | int(a.hdr[4])
				if a.reneg {
					switch a.hdr[0] {
					case 20: // ChangeCipherSpec
						a.sawCCS = true
					case 22: // handshake: the Finished once CCS was seen
						a.finPending = a.sawCCS
					}
				}
				if a.recLeft == 0 {
					a.recordDone()
				}
			}
			continue
		}
		k := min(a.recLeft, len(p))
		a.recLeft -= k
		p = p[k:]
		if a.recLeft == 0 {
			a.recordDone()
		}
	}
}

func (a *adapter) recordDone() {
	a.hdrN = 0
	if !a.hs {
		a.held++
	}
	if a.finPending {
		a.finPending = false
		a.renegDone = true
	}
}

// recordLimit bounds a loop-mode read to the end of the TLS record that
// crypto/tls is reading, header included, for the reads that go one
// record at a time (leftovers of the handshake goroutine, careful mode).
// In careful mode a handshake record at a boundary is reported with
// errRenegotiate instead.
func (a *adapter) recordLimit(p []byte) ([]byte, error) {
	need := a.recLeft
	if a.hdrN < len(a.hdr) {
		// Peek the rest of the header to learn the record's length.
		var h [5]byte
		copy(h[:], a.hdr[:a.hdrN])
		got := a.hdrN + a.peek(h[a.hdrN:])
		if a.careful && a.hdrN == 0 && got > 0 && h[0] == 22 {
			return p, errRenegotiate
		}
		need = got - a.hdrN
		if got == len(h) {
			need += int(h[3])<<8 | int(h[4])
		}
	}
	if need > 0 && len(p) > need {
		p = p[:need]
	}
	return p, nil
}

// peek copies buffered ciphertext (leftover first, then the underlying's
// input) into dst without consuming it.
func (a *adapter) peek(dst []byte) int {
	n := copy(dst, a.rbuf[a.roff:])
	if n < len(dst) && a.u != nil {
		k, _ := a.u.Input().CopyOut(dst[n:])
		n += k
	}
	return n
}

// readDone records what a loop-mode tls.Conn.Read of len(p) bytes that
// returned n and err leaves in crypto/tls. tls.Conn.Read returns the
// plaintext of one record; n < len(p) (or a full record's worth) means it
// returned the rest of that record, which it had then received whole, so
// it consumed at least one of the complete records counted in held. It
// holds nothing once held is back to zero — unless the handshake goroutine
// handed it records (ahead), which only an errWouldBlock settles: that
// means crypto/tls lacked a complete record.
func (a *adapter) readDone(p []byte, n int, err error) {
	switch {
	case err == errWouldBlock:
		a.idle, a.ahead, a.held = true, false, 0
	case err != nil:
		a.idle = false
	case n < len(p) || n == maxPlaintext:
		// The Read consumed at least the record it returned the end of.
		a.held = max(a.held-1, 0)
		a.idle = !a.ahead && a.held == 0
	default:
		a.idle = false
	}
}

// maxPlaintext is the most plaintext a TLS record carries (crypto/tls
// rejects larger ones): a Read that returned that much left nothing of its
// record behind, even though it filled p.
const maxPlaintext = 16 << 10

// maxCiphertext is the longest record payload any TLS version allows
// (TLS 1.2's 2^14 + 2048; crypto/tls's maxCiphertext): a header announcing
// more is an error crypto/tls reports as soon as it reads the header.
const maxCiphertext = 16<<10 + 2048

// mayProgress reports whether a loop-mode tls.Conn.Read can return
// something now: crypto/tls may hold plaintext or a complete record, the
// rest of the record it reads next is buffered, or the transport ended
// (Read then reports how). When it reports false, tls.Conn.Read would only
// answer errWouldBlock — after costing crypto/tls an allocation, and a
// second one when the rest of a record it was handed in part arrives.
func (a *adapter) mayProgress() bool {
	if !a.idle || a.ueof || a.u == nil {
		return true
	}
	uin := a.u.Input().Len()
	avail := len(a.rbuf) - a.roff + uin
	if avail == 0 {
		return false
	}
	need := a.recLeft // the rest of the current record
	if a.hdrN < len(a.hdr) {
		var h [5]byte
		copy(h[:], a.hdr[:a.hdrN])
		got := a.hdrN + a.peek(h[a.hdrN:])
		need = len(h) - a.hdrN
		if got == len(h) {
			n := int(h[3])<<8 | int(h[4])
			if n > maxCiphertext {
				// No TLS version allows it: let crypto/tls read the
				// header and report the overflow now rather than after
				// up to 64 KiB more.
				return true
			}
			need += n
		}
	}
	if avail >= need {
		return true
	}
	// Part of a record: wait for the rest, unless the underlying cannot
	// hold it (its reading stops at its read high watermark or, without
	// one, at its maximum input); then hand crypto/tls what there is, so
	// the underlying's input drains.
	_, high, _ := a.u.Watermark(bufferevent.Read)
	if high <= 0 {
		high = a.u.MaxInput()
	}
	return high > 0 && uin+need-avail > high
}

// endErr is what Read returns once the transport has ended.
func (a *adapter) endErr() error {
	if a.hdrN > 0 {
		return errTruncated
	}
	return errPeerClosed
}

func newAdapter() *adapter {
	a := &adapter{hs: true, stage: evbuffer.New()}
	a.cond.L = &a.mu
	return a
}

// Read implements net.Conn for crypto/tls.
func (a *adapter) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	a.mu.Lock()
	if a.hs {
		for a.roff == len(a.rbuf) && a.rerr == nil {
			if a.renegDone {
				// The renegotiation is over; let tls.Conn.Read return
				// instead of waiting for application data.
				a.mu.Unlock()
				return 0, errWouldBlock
			}
			if a.more && a.kickR != nil {
				a.more = false
				a.kickR()
			}
			a.cond.Wait()
		}
		if a.roff < len(a.rbuf) {
			n := a.take(p)
			a.track(p[:n])
			a.ahead, a.idle = true, false
			if a.roff == len(a.rbuf) && a.more && a.kickR != nil {
				a.more = false
				a.kickR()
			}
			a.mu.Unlock()
			return n, nil
		}
		err := a.rerr
		if err == errPeerClosed {
			err = a.endErr()
		}
		a.mu.Unlock()
		return 0, err
	}
	a.mu.Unlock()
	// Loop mode. p is the free room of crypto/tls's input buffer (at
	// least the rest of the record it reads): hand it as much ciphertext
	// as there is, as a socket read would. crypto/tls keeps what it does
	// not need yet and reads those records without asking again, so one
	// read (one allocation in crypto/tls) can serve several records;
	// track counts them (held) so that the loop keeps calling
	// tls.Conn.Read until they are consumed. Leftovers of the handshake
	// goroutine, and careful mode, go one record at a time.
	if a.careful || a.roff < len(a.rbuf) {
		var err error
		if p, err = a.recordLimit(p); err != nil {
			return 0, err
		}
	}
	if a.roff < len(a.rbuf) {
		n := a.take(p)
		a.track(p[:n])
		return n, nil
	}
	if a.u != nil {
		if n, _ := a.u.Read(p); n > 0 {
			a.nread += int64(n)
			a.track(p[:n])
			return n, nil
		}
	}
	if a.ueof || a.u == nil {
		return 0, a.endErr()
	}
	return 0, errWouldBlock
}

// take copies buffered ciphertext into p.
func (a *adapter) take(p []byte) int {
	n := copy(p, a.rbuf[a.roff:])
	a.roff += n
	if a.roff == len(a.rbuf) {
		a.rbuf = a.rbuf[:0]
		a.roff = 0
	}
	return n
}

// Write implements net.Conn for crypto/tls. It never fails short: crypto/tls
// makes any write error permanent, so what the transport cannot take now is
// queued (in the underlying's output, or for the loop).
func (a *adapter) Write(p []byte) (int, error) {
	a.mu.Lock()
	if a.hs {
		if a.closed {
			a.mu.Unlock()
			return 0, net.ErrClosed
		}
		a.wq = append(a.wq, p...)
		kick := !a.wqQueued && a.kickW != nil
		a.wqQueued = true
		a.mu.Unlock()
		if kick {
			a.kickW()
		}
		return len(p), nil
	}
	a.mu.Unlock()
	if a.werr != nil {
		return 0, a.werr
	}
	if a.u == nil {
		return 0, net.ErrClosed
	}
	if err := a.stage.Add(p); err != nil {
		a.werr = err
		return 0, err
	}
	a.nwrite += int64(len(p))
	return len(p), nil
}

// flush hands the staged records to the underlying in one piece (one
// write system call in socket mode instead of one per record).
func (a *adapter) flush() {
	if a.stage.Len() == 0 || a.u == nil {
		return
	}
	if err := a.u.WriteBuffer(a.stage); err != nil && a.werr == nil {
		a.werr = err
	}
}

// feed moves ciphertext from the underlying's input into rbuf for the
// handshake goroutine (loop side). It reports whether data was left behind.
func (a *adapter) feed() (left bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.u == nil {
		return false
	}
	// Wake the goroutine whatever happens below (it may be waiting for
	// exactly what this call moves).
	defer a.cond.Broadcast()
	for {
		have := len(a.rbuf) - a.roff
		room := hsInputCap - have
		avail := a.u.Input().Len()
		if avail == 0 {
			break
		}
		if room <= 0 {
			a.more = true
			return true
		}
		n := min(room, avail)
		if a.roff > 0 && cap(a.rbuf)-len(a.rbuf) < n {
			// compact
			k := copy(a.rbuf, a.rbuf[a.roff:])
			a.rbuf = a.rbuf[:k]
			a.roff = 0
		}
		start := len(a.rbuf)
		a.rbuf = append(a.rbuf, make([]byte, n)...)
		k, _ := a.u.Read(a.rbuf[start:])
		a.rbuf = a.rbuf[:start+k]
		a.nread += int64(k)
		if k == 0 {
			break
		}
	}
	return false
}

// takeWQ returns (and clears) the ciphertext the handshake goroutine wrote.
func (a *adapter) takeWQ() []byte {
	a.mu.Lock()
	q := a.wq
	a.wq = nil
	a.wqQueued = false
	a.mu.Unlock()
	return q
}

// fail ends the handshake goroutine's reads with err.
func (a *adapter) fail(err error, closed bool) {
	a.mu.Lock()
	if a.rerr == nil {
		a.rerr = err
	}
	if closed {
		a.closed = true
	}
	a.cond.Broadcast()
	a.mu.Unlock()
}

// Close implements net.Conn. crypto/tls calls it only from tls.Conn.Close,
// which this package never calls; it stops a handshake goroutine.
func (a *adapter) Close() error {
	a.fail(net.ErrClosed, true)
	return nil
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "bufferevent" }
func (pipeAddr) String() string  { return "bufferevent" }

func (a *adapter) LocalAddr() net.Addr  { return pipeAddr{} }
func (a *adapter) RemoteAddr() net.Addr { return pipeAddr{} }

// Deadlines are not used: the handshake timeout is a loop timer that fails
// the adapter, and after the handshake nothing blocks.
func (a *adapter) SetDeadline(time.Time) error      { return nil }
func (a *adapter) SetReadDeadline(time.Time) error  { return nil }
func (a *adapter) SetWriteDeadline(time.Time) error { return nil }
