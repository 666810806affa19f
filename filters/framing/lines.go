package framing

import (
	"bytes"
	"fmt"

	"github.com/bufev/bufev/backends/filter"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
)

// Lines frames a stream as lines ended by one of evbuffer's end-of-line
// styles, with a maximum line length.
//
// Input side (In): the filter moves only whole lines, end-of-line marker
// included, to the filter bufferevent's input, so a read callback reads
// them with bev.Input().ReadLine(style) or ReadLineSlice (no allocation)
// until ErrNoLine. A line longer than the maximum, or that many bytes
// without an end of line, is filter.Error with ErrLineTooLong: a peer
// cannot make the connection buffer without bound. A partial line waits
// inside the filter, and each byte is scanned once.
//
// Output side (Out): complete lines pass through without copying (longer
// than the maximum: ErrLineTooLong); a trailing partial line stays in the
// output buffer until its end of line is written, or until Flush or
// Finished, which end it with the style's marker ("\n"; "\r\n" for the CRLF
// styles; NUL for EOLNUL). So bev.Write("PING"); bev.Flush(Write, Flush)
// sends "PING\r\n" with EOLCRLF.
//
// With EOLAny a CR now and an LF later are two line ends (the second
// delivers an empty line), as in evbuffer; prefer EOLCRLF for network
// protocols.
//
// One Lines serves one connection (the input side keeps the partial
// line). Not safe for concurrent use: the filter bufferevent calls In and
// Out on its loop goroutine.
type Lines struct {
	style evbuffer.EOLStyle
	max   int
	eol   []byte
	stage evbuffer.Buffer // a partial line taken from src
	err   error
}

// NewLines returns a line framer for style with the given maximum line
// length, not counting the end-of-line marker (max <= 0:
// DefaultMaxFrame). Safe for concurrent use (the function).
func NewLines(style evbuffer.EOLStyle, max int) (*Lines, error) {
	l := &Lines{style: style, max: max}
	switch style {
	case evbuffer.EOLAny, evbuffer.EOLLF:
		l.eol = []byte("\n")
	case evbuffer.EOLCRLF, evbuffer.EOLCRLFStrict:
		l.eol = []byte("\r\n")
	case evbuffer.EOLNUL:
		l.eol = []byte{0}
	default:
		return nil, fmt.Errorf("%w: end-of-line style %d", ErrInvalid, int(style))
	}
	if l.max <= 0 {
		l.max = DefaultMaxFrame
	}
	return l, nil
}

// Style returns the end-of-line style. Safe for concurrent use.
func (l *Lines) Style() evbuffer.EOLStyle { return l.style }

// Max returns the maximum line length. Safe for concurrent use.
func (l *Lines) Max() int { return l.max }

// Err returns the error that made In or Out return filter.Error, or nil.
// Not safe for concurrent use.
func (l *Lines) Err() error { return l.err }

func (l *Lines) fail(err error) filter.Result {
	if l.err == nil {
		l.err = err
	}
	return filter.Error
}

// partialOK reports whether n bytes without a complete end of line may
// still become a line within the maximum: up to max bytes, plus one when
// the last byte is a CR that may start a CRLF.
func (l *Lines) partialOK(b *evbuffer.Buffer, n int) bool {
	if n <= l.max {
		return true
	}
	if n == l.max+1 && (l.style == evbuffer.EOLCRLF || l.style == evbuffer.EOLCRLFStrict) {
		var p evbuffer.Ptr
		if b.SetPtr(&p, b.Len()-1) == nil {
			var c [1]byte
			if k, _ := b.CopyOutFrom(&p, c[:]); k == 1 && c[0] == '\r' {
				return true
			}
		}
	}
	return false
}

func (l *Lines) tooLong(n int) error {
	return fmt.Errorf("%w: %d bytes, maximum %d", ErrLineTooLong, n, l.max)
}

// completeStaged looks in src for the end of the staged partial line. It
// returns how many bytes of src finish the line (0: not found) and the
// length of the line's content.
func (l *Lines) completeStaged(src *evbuffer.Buffer) (take, content int) {
	staged := l.stage.Len()
	if l.style == evbuffer.EOLCRLFStrict && src.Len() > 0 {
		// A CR at the end of the stage and an LF at the front of src.
		var c [1]byte
		var p evbuffer.Ptr
		_ = l.stage.SetPtr(&p, staged-1)
		if k, _ := l.stage.CopyOutFrom(&p, c[:]); k == 1 && c[0] == '\r' {
			if k, _ := src.CopyOut(c[:]); k == 1 && c[0] == '\n' {
				return 1, staged - 1
			}
		}
	}
	pos, n := src.SearchEOL(nil, l.style)
	if pos.Pos < 0 {
		return 0, 0
	}
	content = staged + pos.Pos
	if l.style == evbuffer.EOLCRLF && pos.Pos == 0 && n == 1 {
		// LF at the front of src: a CR at the end of the stage belongs to
		// the marker.
		var c [1]byte
		var p evbuffer.Ptr
		_ = l.stage.SetPtr(&p, staged-1)
		if k, _ := l.stage.CopyOutFrom(&p, c[:]); k == 1 && c[0] == '\r' {
			content--
		}
	}
	return pos.Pos + n, content
}

// scan walks the whole lines at the front of src and returns the bytes
// they take (markers included), stopping before a line that would take
// delivered past budget (unless none was delivered yet). partial reports
// that src ends with an incomplete line, which then is all that follows
// total. A complete line above the maximum is an error.
func (l *Lines) scan(src *evbuffer.Buffer, delivered, budget int) (total int, partial bool, err error) {
	switch l.style {
	case evbuffer.EOLLF, evbuffer.EOLCRLF:
		return l.scanByte(src, '\n', delivered, budget)
	case evbuffer.EOLNUL:
		return l.scanByte(src, 0, delivered, budget)
	}
	return l.scanEOL(src, delivered, budget)
}

// scanByte is scan for the styles whose line ends at one byte value c
// (LF, with an optional CR before it for EOLCRLF; NUL): it searches the
// peeked chains in place with bytes.IndexByte.
func (l *Lines) scanByte(src *evbuffer.Buffer, c byte, delivered, budget int) (total int, partial bool, err error) {
	crlf := l.style == evbuffer.EOLCRLF
	var vecs [16][]byte
	nv := min(src.Peek(-1, nil, vecs[:]), len(vecs))
	base := 0     // offset in src of vecs[0]
	var prev byte // the byte before the extent being searched
	for ei := 0; ; ei++ {
		if ei == nv {
			if base >= src.Len() {
				break
			}
			var p evbuffer.Ptr
			if err := src.SetPtr(&p, base); err != nil {
				return total, false, err
			}
			nv = min(src.Peek(-1, &p, vecs[:]), len(vecs))
			ei = 0
			n := 0
			for _, v := range vecs[:nv] {
				n += len(v)
			}
			if n == 0 {
				// Only empty chains ahead: let SearchEOL do it all.
				return l.scanEOL(src, delivered, budget)
			}
		}
		ext := vecs[ei]
		for i := 0; ; {
			j := bytes.IndexByte(ext[i:], c)
			if j < 0 {
				break
			}
			end := base + i + j // offset of the marker byte
			content := end - total
			if crlf && content > 0 {
				before := prev
				if i+j > 0 {
					before = ext[i+j-1]
				}
				if before == '\r' {
					content--
				}
			}
			if content > l.max {
				return total, false, l.tooLong(content)
			}
			if delivered+total > 0 && delivered+end+1 > budget {
				return total, false, nil
			}
			total = end + 1
			i += j + 1
			if delivered+total >= budget {
				return total, false, nil
			}
		}
		if len(ext) > 0 {
			prev = ext[len(ext)-1]
		}
		base += len(ext)
	}
	return total, total < src.Len(), nil
}

// scanEOL is scan for any style, through evbuffer's SearchEOL.
func (l *Lines) scanEOL(src *evbuffer.Buffer, delivered, budget int) (total int, partial bool, err error) {
	var p evbuffer.Ptr
	if err := src.SetPtr(&p, 0); err != nil {
		return 0, false, err
	}
	for total < src.Len() {
		if delivered+total > 0 && delivered+total >= budget {
			return total, false, nil
		}
		pos, n := src.SearchEOL(&p, l.style)
		if pos.Pos < 0 {
			return total, true, nil
		}
		if pos.Pos-total > l.max {
			return total, false, l.tooLong(pos.Pos - total)
		}
		end := pos.Pos + n
		if delivered+total > 0 && delivered+end > budget {
			return total, false, nil
		}
		total = end
		if total < src.Len() {
			if err := src.AdvancePtr(&pos, n); err != nil {
				return total, false, err
			}
			p = pos
		}
	}
	return total, false, nil
}

// In is the input filter: it moves whole lines (with their end-of-line
// markers) from src to dst, stopping before a line that would take dst
// past limit while src holds more (it always moves at least one). A
// partial line is taken into the filter and completed by later calls;
// Finished with a partial line is ErrTruncated. It has the filter.Func
// signature. Not safe for concurrent use.
func (l *Lines) In(src, dst *evbuffer.Buffer, limit int, mode bufferevent.FlushMode) filter.Result {
	if l.err != nil {
		return filter.Error
	}
	budget := budgetOf(limit)
	delivered, progress := 0, false
	if l.stage.Len() > 0 && src.Len() > 0 {
		take, content := l.completeStaged(src)
		if take == 0 {
			n := l.stage.Len() + src.Len()
			if err := l.stage.AddBuffer(src); err != nil {
				return l.fail(err)
			}
			if !l.partialOK(&l.stage, n) {
				return l.fail(l.tooLong(n))
			}
			progress = true
		} else {
			if content > l.max {
				return l.fail(l.tooLong(content))
			}
			if err := moveTo(src, &l.stage, take); err != nil {
				return l.fail(err)
			}
			delivered += l.stage.Len()
			if err := dst.AddBuffer(&l.stage); err != nil {
				return l.fail(err)
			}
		}
	}
	if src.Len() > 0 {
		// Whole lines at the front of src: find how many fit, then move
		// them with one RemoveBuffer.
		total, partial, lerr := l.scan(src, delivered, budget)
		if total > 0 {
			if err := moveTo(src, dst, total); err != nil {
				return l.fail(err)
			}
			delivered += total
		}
		if lerr != nil {
			return l.fail(lerr)
		}
		if partial {
			if !l.partialOK(src, src.Len()) {
				return l.fail(l.tooLong(src.Len()))
			}
			if err := l.stage.AddBuffer(src); err != nil {
				return l.fail(err)
			}
			progress = true
		}
	}
	if mode == bufferevent.Finished && l.stage.Len() > 0 {
		return l.fail(fmt.Errorf("%w: %d bytes of a line", ErrTruncated, l.stage.Len()))
	}
	return result(progress || delivered > 0, mode)
}

// Out is the output filter: it passes complete lines from src to dst
// without copying (up to about limit bytes while more remain) and, in
// Flush and Finished mode, ends a trailing partial line with the style's
// marker. It has the filter.Func signature. Not safe for concurrent use.
func (l *Lines) Out(src, dst *evbuffer.Buffer, limit int, mode bufferevent.FlushMode) filter.Result {
	if l.err != nil {
		return filter.Error
	}
	budget := budgetOf(limit)
	if isFlush(mode) {
		budget = int(^uint(0) >> 1)
	}
	delivered, partial := 0, false
	if src.Len() > 0 {
		var total int
		var lerr error
		total, partial, lerr = l.scan(src, 0, budget)
		if total > 0 {
			if err := moveTo(src, dst, total); err != nil {
				return l.fail(err)
			}
			delivered += total
		}
		if lerr != nil {
			return l.fail(lerr)
		}
	}
	if rest := src.Len(); partial {
		// What is left has no end of line.
		if !l.partialOK(src, rest) || (isFlush(mode) && rest > l.max) {
			return l.fail(l.tooLong(rest))
		}
		if isFlush(mode) {
			if err := moveTo(src, dst, rest); err != nil {
				return l.fail(err)
			}
			if err := dst.Add(l.eol); err != nil {
				return l.fail(err)
			}
			delivered += rest
		}
	}
	return result(delivered > 0, mode)
}
