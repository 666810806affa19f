package framing

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/bufev/bufev/backends/filter"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
)

// LengthSize is the encoding of a frame's length header. It is a plain
// value: safe for concurrent use.
type LengthSize int

// Length header encodings: big-endian unsigned integers of 1, 2, 4 or 8
// bytes, or an unsigned LEB128 varint (encoding/binary's Uvarint, as in
// protobuf's length-delimited streams).
// Constants, safe for concurrent use.
const (
	Uint8   LengthSize = 1
	Uint16  LengthSize = 2
	Uint32  LengthSize = 4
	Uint64  LengthSize = 8
	Uvarint LengthSize = -1
)

// String returns "uint8", "uint16", "uint32", "uint64", "uvarint" or
// "LengthSize(n)". Safe for concurrent use.
func (s LengthSize) String() string {
	switch s {
	case Uint8, Uint16, Uint32, Uint64:
		return "uint" + strconv.Itoa(8*int(s))
	case Uvarint:
		return "uvarint"
	}
	return "LengthSize(" + strconv.Itoa(int(s)) + ")"
}

// maxHeader is the longest header of any encoding.
const maxHeader = binary.MaxVarintLen64

// LengthPrefix frames messages with a length header: each frame is the
// payload's length (not counting the header) followed by the payload.
//
// Input side (In): the filter checks every header, refuses a frame above
// the maximum (filter.Error with ErrFrameTooLarge) and moves only whole
// frames, header included, to the filter bufferevent's input: the input
// buffer always holds complete frames, so a read callback takes them with
// ReadFrame, ReadFrameBuffer or PeekFrame until they return ErrIncomplete.
// A partial frame waits inside the filter (it takes the bytes out of the
// underlying bufferevent, so a watermark there cannot stall a large frame).
//
// Output side (Out): a message is everything written between two flushes.
// In Normal mode the bytes wait in the output buffer (Out returns
// filter.NeedMore); bev.Flush(bufferevent.Write, bufferevent.Flush) (or
// Finished) frames all of it as one frame, moving the payload without
// copying. A protocol engineer gets one frame per explicit message
// boundary, never a frame cut where the network happened to be slow.
// To make each write a frame instead, use a nil (pass-through) output
// filter and write with WriteFrame or WriteFrameBuffer.
//
// One LengthPrefix serves one connection (the input side keeps the
// partial frame). Not safe for concurrent use: the filter bufferevent calls
// In and Out on its loop goroutine.
type LengthPrefix struct {
	size  LengthSize
	max   int
	stage evbuffer.Buffer // a partial frame taken from src
	err   error
}

// NewLengthPrefix returns a framer with the given header encoding and
// maximum payload length (max <= 0: DefaultMaxFrame; a max above what the
// header can express is lowered to that, and for Uint64 and Uvarint to
// math.MaxInt minus the longest header, so a whole frame's length is
// always an int). Safe for concurrent use (the function).
func NewLengthPrefix(size LengthSize, max int) (*LengthPrefix, error) {
	var limit uint64
	switch size {
	case Uint8, Uint16, Uint32:
		limit = 1<<(8*uint(size)) - 1
	case Uint64, Uvarint:
		// A header plus payload must fit in an int: with MaxInt itself a
		// peer's header of MaxInt made hl+n overflow, so In stalled on it
		// and FrameLen called it complete (ReadFrame then panicked).
		limit = math.MaxInt - maxHeader
	default:
		return nil, fmt.Errorf("%w: length size %d", ErrInvalid, int(size))
	}
	if max <= 0 {
		max = DefaultMaxFrame
	}
	if uint64(max) > limit {
		max = int(limit)
	}
	return &LengthPrefix{size: size, max: max}, nil
}

// Max returns the largest payload the framer accepts. Safe for concurrent
// use.
func (f *LengthPrefix) Max() int { return f.max }

// Size returns the header encoding. Safe for concurrent use.
func (f *LengthPrefix) Size() LengthSize { return f.size }

// Err returns the error that made In or Out return filter.Error, or nil.
// Not safe for concurrent use.
func (f *LengthPrefix) Err() error { return f.err }

func (f *LengthPrefix) fail(err error) filter.Result {
	if f.err == nil {
		f.err = err
	}
	return filter.Error
}

// decode parses a header from p. It returns the header length and the
// payload length, or hl == 0 when p holds only part of a header.
func (f *LengthPrefix) decode(p []byte) (hl, n int, err error) {
	var v uint64
	switch f.size {
	case Uint8:
		if len(p) < 1 {
			return 0, 0, nil
		}
		v, hl = uint64(p[0]), 1
	case Uint16:
		if len(p) < 2 {
			return 0, 0, nil
		}
		v, hl = uint64(binary.BigEndian.Uint16(p)), 2
	case Uint32:
		if len(p) < 4 {
			return 0, 0, nil
		}
		v, hl = uint64(binary.BigEndian.Uint32(p)), 4
	case Uint64:
		if len(p) < 8 {
			return 0, 0, nil
		}
		v, hl = binary.BigEndian.Uint64(p), 8
	case Uvarint:
		v, hl = binary.Uvarint(p)
		if hl < 0 {
			return 0, 0, fmt.Errorf("%w: uvarint overflows 64 bits", ErrBadHeader)
		}
		if hl == 0 {
			if len(p) >= maxHeader {
				return 0, 0, fmt.Errorf("%w: uvarint longer than %d bytes", ErrBadHeader, maxHeader)
			}
			return 0, 0, nil
		}
	}
	if v > uint64(f.max) {
		return 0, 0, fmt.Errorf("%w: %d bytes, maximum %d", ErrFrameTooLarge, v, f.max)
	}
	return hl, int(v), nil
}

// header reads the header at the front of a followed by b (a may be nil).
func (f *LengthPrefix) header(a, b *evbuffer.Buffer) (hl, n int, err error) {
	var tmp [maxHeader]byte
	k := 0
	if a != nil {
		k, _ = a.CopyOut(tmp[:])
	}
	m, _ := b.CopyOut(tmp[k:])
	return f.decode(tmp[:k+m])
}

// scan walks the whole frames at the front of src and returns the bytes
// they take, stopping before a frame that would take delivered past budget
// (unless none was delivered yet). partial reports that src ends with an
// incomplete frame, which then is all that follows total. Headers are read
// in place from src's chains; only a header split across two chains is
// copied.
func (f *LengthPrefix) scan(src *evbuffer.Buffer, delivered, budget int) (total int, partial bool, err error) {
	var vecs [16][]byte
	nv := min(src.Peek(-1, nil, vecs[:]), len(vecs))
	ei, off := 0, 0 // position of byte total within vecs
	var tmp [maxHeader]byte
	for left := src.Len(); left > 0; {
		if delivered+total > 0 && delivered+total >= budget {
			return total, false, nil
		}
		if ei >= nv {
			// Past the extents peeked so far: peek again from here.
			var p evbuffer.Ptr
			if err := src.SetPtr(&p, total); err != nil {
				return total, false, err
			}
			nv = min(src.Peek(-1, &p, vecs[:]), len(vecs))
			ei, off = 0, 0
		}
		h := vecs[ei][off:]
		if len(h) < maxHeader && len(h) < left {
			// The header may continue in the next chain.
			var p evbuffer.Ptr
			if err := src.SetPtr(&p, total); err != nil {
				return total, false, err
			}
			k, _ := src.CopyOutFrom(&p, tmp[:])
			h = tmp[:k]
		}
		hl, n, err := f.decode(h)
		if err != nil {
			return total, false, err
		}
		if hl == 0 || left < hl+n {
			return total, true, nil
		}
		if delivered+total > 0 && delivered+total+hl+n > budget {
			return total, false, nil
		}
		total += hl + n
		left -= hl + n
		for skip := hl + n; skip > 0 && ei < nv; {
			if r := len(vecs[ei]) - off; skip < r {
				off += skip
				skip = 0
			} else {
				skip -= r
				ei++
				off = 0
			}
		}
	}
	return total, false, nil
}

// appendHeader appends the header for an n-byte payload to p.
func (f *LengthPrefix) appendHeader(p []byte, n int) []byte {
	switch f.size {
	case Uint8:
		return append(p, byte(n))
	case Uint16:
		return binary.BigEndian.AppendUint16(p, uint16(n))
	case Uint32:
		return binary.BigEndian.AppendUint32(p, uint32(n))
	case Uint64:
		return binary.BigEndian.AppendUint64(p, uint64(n))
	}
	return binary.AppendUvarint(p, uint64(n))
}

// In is the input filter: it moves whole, checked frames (header
// included) from src to dst. While src holds more it stops before a frame
// that would take dst past limit (it always moves at least one). A partial
// frame at the end of src is moved into the filter and completed by later
// calls. Finished with a partial frame is ErrTruncated. It has the
// filter.Func signature. Not safe for concurrent use.
func (f *LengthPrefix) In(src, dst *evbuffer.Buffer, limit int, mode bufferevent.FlushMode) filter.Result {
	if f.err != nil {
		return filter.Error
	}
	budget := budgetOf(limit)
	delivered, progress := 0, false
	for {
		if f.stage.Len() > 0 {
			hl, n, err := f.header(&f.stage, src)
			if err != nil {
				return f.fail(err)
			}
			if hl == 0 {
				// Still no whole header: keep what there is.
				if src.Len() > 0 {
					progress = true
				}
				if err := f.stage.AddBuffer(src); err != nil {
					return f.fail(err)
				}
				break
			}
			need := hl + n - f.stage.Len()
			take := min(need, src.Len())
			if take > 0 {
				if err := moveTo(src, &f.stage, take); err != nil {
					return f.fail(err)
				}
				progress = true
			}
			if take < need {
				break
			}
			if err := dst.AddBuffer(&f.stage); err != nil {
				return f.fail(err)
			}
			delivered += hl + n
			continue
		}
		// Whole frames at the front of src: find how many fit, then move
		// them with one RemoveBuffer (whole chains move without copying).
		total, partial, ferr := f.scan(src, delivered, budget)
		if total > 0 {
			if err := moveTo(src, dst, total); err != nil {
				return f.fail(err)
			}
			delivered += total
		}
		if ferr != nil {
			return f.fail(ferr)
		}
		if partial {
			// A partial frame: take it in so the underlying buffer is free.
			if err := f.stage.AddBuffer(src); err != nil {
				return f.fail(err)
			}
			progress = true
		}
		break
	}
	if mode == bufferevent.Finished && f.stage.Len() > 0 {
		return f.fail(fmt.Errorf("%w: %d bytes of a frame", ErrTruncated, f.stage.Len()))
	}
	return result(progress || delivered > 0, mode)
}

// Out is the output filter: in Flush and Finished mode it frames all of
// src as one frame (a header, then the payload moved without copying);
// in Normal mode it leaves src alone and returns filter.NeedMore (a message
// ends at a flush). An empty src makes no frame. A message above the
// maximum is filter.Error with ErrFrameTooLarge, noticed as soon as src
// grows past it. It has the filter.Func signature. Not safe for concurrent
// use.
func (f *LengthPrefix) Out(src, dst *evbuffer.Buffer, limit int, mode bufferevent.FlushMode) filter.Result {
	if f.err != nil {
		return filter.Error
	}
	n := src.Len()
	if n > f.max {
		return f.fail(fmt.Errorf("%w: message of %d bytes, maximum %d", ErrFrameTooLarge, n, f.max))
	}
	if !isFlush(mode) {
		return filter.NeedMore
	}
	if n == 0 {
		return filter.OK
	}
	var tmp [maxHeader]byte
	if err := dst.Add(f.appendHeader(tmp[:0], n)); err != nil {
		return f.fail(err)
	}
	if err := moveTo(src, dst, n); err != nil {
		return f.fail(err)
	}
	return filter.OK
}

// WriteFrame appends one frame holding payload to buf. It fails with
// ErrFrameTooLarge above the maximum. Not safe for concurrent use (of
// buf).
func (f *LengthPrefix) WriteFrame(buf *evbuffer.Buffer, payload []byte) error {
	if len(payload) > f.max {
		return fmt.Errorf("%w: message of %d bytes, maximum %d", ErrFrameTooLarge, len(payload), f.max)
	}
	var tmp [maxHeader]byte
	if _, err := buf.AddIovec([][]byte{f.appendHeader(tmp[:0], len(payload)), payload}); err != nil {
		return err
	}
	return nil
}

// WriteFrameBuffer appends one frame holding all of payload's bytes to
// buf, moving them without copying (payload is left empty). Not safe for
// concurrent use (of either buffer).
func (f *LengthPrefix) WriteFrameBuffer(buf, payload *evbuffer.Buffer) error {
	n := payload.Len()
	if n > f.max {
		return fmt.Errorf("%w: message of %d bytes, maximum %d", ErrFrameTooLarge, n, f.max)
	}
	var tmp [maxHeader]byte
	if err := buf.Add(f.appendHeader(tmp[:0], n)); err != nil {
		return err
	}
	return buf.AddBuffer(payload)
}

// FrameLen reports the frame at the front of buf: its header length and
// payload length if the whole frame is buffered, ErrIncomplete if not,
// or the header's error. It removes nothing. Not safe for concurrent use
// (of buf).
func (f *LengthPrefix) FrameLen(buf *evbuffer.Buffer) (header, payload int, err error) {
	hl, n, err := f.header(nil, buf)
	if err != nil {
		return 0, 0, err
	}
	if hl == 0 || buf.Len() < hl+n {
		return 0, 0, ErrIncomplete
	}
	return hl, n, nil
}

// ReadFrame removes the frame at the front of buf and returns its payload
// appended to p[:0] (pass the previous result back in to read without
// allocating). It returns ErrIncomplete, removing nothing, if buf does not
// hold a whole frame. Not safe for concurrent use (of buf).
func (f *LengthPrefix) ReadFrame(buf *evbuffer.Buffer, p []byte) ([]byte, error) {
	// Fast path: the whole frame sits in the first chain.
	var vec [1][]byte
	if buf.Peek(1, nil, vec[:]) > 0 {
		if hl, n, err := f.decode(vec[0]); err == nil && hl > 0 && hl+n <= len(vec[0]) {
			p = append(p[:0], vec[0][hl:hl+n]...)
			if err := buf.Drain(hl + n); err != nil {
				return p[:0], err
			}
			return p, nil
		}
	}
	hl, n, err := f.FrameLen(buf)
	if err != nil {
		return p[:0], err
	}
	if err := buf.Drain(hl); err != nil {
		return p[:0], err
	}
	if cap(p) < n {
		p = make([]byte, n)
	}
	p = p[:n]
	if _, err := buf.Remove(p); err != nil {
		return p[:0], err
	}
	return p, nil
}

// ReadFrameBuffer moves the payload of the frame at the front of buf to
// dst without copying (the header is dropped) and returns its length.
// It returns ErrIncomplete, removing nothing, if buf does not hold a whole
// frame. Not safe for concurrent use (of either buffer).
func (f *LengthPrefix) ReadFrameBuffer(buf, dst *evbuffer.Buffer) (int, error) {
	hl, n, err := f.FrameLen(buf)
	if err != nil {
		return 0, err
	}
	if err := buf.Drain(hl); err != nil {
		return 0, err
	}
	return n, moveTo(buf, dst, n)
}

// PeekFrame returns the payload of the frame at the front of buf as one
// slice without removing it (copying only when the frame spans chains),
// and the frame's total length, for buf.Drain once the payload is used.
// The slice aliases buf and is valid until buf changes. It returns
// ErrIncomplete if buf does not hold a whole frame. Not safe for
// concurrent use (of buf).
func (f *LengthPrefix) PeekFrame(buf *evbuffer.Buffer) (payload []byte, total int, err error) {
	hl, n, err := f.FrameLen(buf)
	if err != nil {
		return nil, 0, err
	}
	p, err := buf.Pullup(hl + n)
	if err != nil {
		return nil, 0, err
	}
	return p[hl:], hl + n, nil
}
