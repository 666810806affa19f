package evbuffer

import (
	"bytes"
	"math"
	"unsafe"
)

// EOLStyle selects what ends a line for ReadLine and SearchEOL. It is a
// plain value, safe for concurrent use.
type EOLStyle int

// End-of-line styles, with libevent's meanings and values.
// Constants, safe for concurrent use.
const (
	// EOLAny: any run of CR and LF characters ends the line. Ambiguous
	// across reads ("\r" now and "\n" later are two ends) and collapses
	// blank lines; prefer EOLCRLF for network protocols.
	EOLAny EOLStyle = iota
	// EOLCRLF: an LF, optionally preceded by a CR. A lone CR is data.
	EOLCRLF
	// EOLCRLFStrict: exactly CR LF. A lone CR or LF is data.
	EOLCRLFStrict
	// EOLLF: a single LF. CR is data.
	EOLLF
	// EOLNUL: a single NUL byte.
	EOLNUL
)

// String returns the style's name. Safe for concurrent use.
func (s EOLStyle) String() string {
	switch s {
	case EOLAny:
		return "Any"
	case EOLCRLF:
		return "CRLF"
	case EOLCRLFStrict:
		return "CRLFStrict"
	case EOLLF:
		return "LF"
	case EOLNUL:
		return "NUL"
	}
	return "EOLStyle(invalid)"
}

// DefaultMaxLineLength is the longest line ReadLine and ReadLineSlice
// return unless changed with SetMaxLineLength.
// A constant, safe for concurrent use.
const DefaultMaxLineLength = 64 << 10

// SetMaxLineLength sets the longest line (without its end-of-line marker)
// that ReadLine and ReadLineSlice accept; longer lines give ErrLineTooLong
// instead of growing without bound. n must be positive.
// Not safe for concurrent use.
func (b *Buffer) SetMaxLineLength(n int) error {
	if n <= 0 {
		return ErrNegative
	}
	if n > math.MaxInt-2 {
		return ErrTooLarge
	}
	b.x().maxLine = n
	return nil
}

// MaxLineLength returns the longest line ReadLine accepts.
// Not safe for concurrent use.
func (b *Buffer) MaxLineLength() int {
	if b.ext == nil || b.ext.maxLine == 0 {
		return DefaultMaxLineLength
	}
	return b.ext.maxLine
}

// cursor is a resolved position: chain c, offset off in its readable bytes,
// absolute position pos. c == nil means the end of the buffer.
type cursor struct {
	c   *chain
	off int
	pos int
}

func (b *Buffer) startCursor(start *Ptr) (cursor, bool) {
	if start == nil {
		return cursor{c: b.first}, true
	}
	c, off, err := b.resolve(start)
	if err != nil {
		return cursor{}, false
	}
	return cursor{c: c, off: off, pos: start.Pos}, true
}

func (b *Buffer) ptrFrom(cur cursor) Ptr {
	return Ptr{Pos: cur.pos, c: cur.c, off: cur.off, cpos: cur.pos, gen: b.gen, buf: b}
}

// searchBytes finds what at or after cur, ending at or before limit.
func searchBytes(what []byte, cur cursor, limit int) (cursor, bool) {
	m := len(what)
	if m == 0 || cur.pos+m > limit {
		return cursor{}, false
	}
	pos, off := cur.pos, cur.off
	for c := cur.c; c != nil; c = c.next {
		base := pos - off // position of c's first readable byte
		if base >= limit {
			break
		}
		if c.buf == nil {
			return cursor{}, false // sendfile bytes cannot be searched
		}
		end := min(c.off, limit-base)
		if off >= end {
			off = 0
			continue
		}
		seg := c.buf[c.misalign+off : c.misalign+end]
		if i := bytes.Index(seg, what); i >= 0 {
			return cursor{c: c, off: off + i, pos: pos + i}, true
		}
		// Matches that start near the end of this chain and go on into
		// the next ones.
		for j := max(0, len(seg)-m+1); j < len(seg); j++ {
			k := bytes.IndexByte(seg[j:], what[0])
			if k < 0 {
				break
			}
			j += k
			if pos+j+m <= limit && bytes.Equal(seg[j:], what[:len(seg)-j]) && matchRest(c.next, what[len(seg)-j:]) {
				return cursor{c: c, off: off + j, pos: pos + j}, true
			}
		}
		pos += len(seg)
		off = 0
		if end < c.off {
			break
		}
	}
	return cursor{}, false
}

// matchRest reports whether the chains from c start with rest.
func matchRest(c *chain, rest []byte) bool {
	for ; c != nil && len(rest) > 0; c = c.next {
		if c.off == 0 {
			continue
		}
		if c.buf == nil {
			return false
		}
		d := c.data()
		k := min(len(d), len(rest))
		if !bytes.Equal(d[:k], rest[:k]) {
			return false
		}
		rest = rest[k:]
	}
	return len(rest) == 0
}

// Search returns the position of the first occurrence of what at or after
// start (nil: the front), or a Ptr with Pos -1 if there is none (or what is
// empty, or start is invalid). Matches may span chains; the search stops at
// a sendfile chain (see FlagDrainsToFD), whose bytes are not in memory.
// Search works whether or not b is frozen. Not safe for concurrent use.
func (b *Buffer) Search(what []byte, start *Ptr) Ptr {
	return b.SearchRange(what, start, nil)
}

// SearchRange is Search with the whole match required to end at or before
// end.Pos (end nil: the end of the buffer), as libevent's
// evbuffer_search_range.
// Not safe for concurrent use.
func (b *Buffer) SearchRange(what []byte, start, end *Ptr) Ptr {
	cur, ok := b.startCursor(start)
	if !ok {
		return Ptr{Pos: -1}
	}
	limit := b.total
	if end != nil {
		if end.Pos < 0 {
			return Ptr{Pos: -1}
		}
		limit = min(limit, end.Pos)
	}
	found, ok := searchBytes(what, cur, limit)
	if !ok {
		return Ptr{Pos: -1}
	}
	return b.ptrFrom(found)
}

// indexByteFrom finds the first x at or after cur, before limit.
func indexByteFrom(x byte, cur cursor, limit int) (cursor, bool) {
	pos, off := cur.pos, cur.off
	for c := cur.c; c != nil; c = c.next {
		base := pos - off
		if base >= limit {
			break
		}
		if c.buf == nil {
			return cursor{}, false
		}
		end := min(c.off, limit-base)
		if off < end {
			if i := bytes.IndexByte(c.buf[c.misalign+off:c.misalign+end], x); i >= 0 {
				return cursor{c: c, off: off + i, pos: pos + i}, true
			}
			pos += end - off
		}
		off = 0
		if end < c.off {
			break
		}
	}
	return cursor{}, false
}

// indexEOLChar finds the first CR or LF at or after cur, before limit.
func indexEOLChar(cur cursor, limit int) (cursor, bool) {
	pos, off := cur.pos, cur.off
	for c := cur.c; c != nil; c = c.next {
		base := pos - off
		if base >= limit {
			break
		}
		if c.buf == nil {
			return cursor{}, false
		}
		end := min(c.off, limit-base)
		if off < end {
			s := c.buf[c.misalign+off : c.misalign+end]
			lf := bytes.IndexByte(s, '\n')
			crScope := s
			if lf >= 0 {
				crScope = s[:lf]
			}
			i := lf
			if cr := bytes.IndexByte(crScope, '\r'); cr >= 0 {
				i = cr
			}
			if i >= 0 {
				return cursor{c: c, off: off + i, pos: pos + i}, true
			}
			pos += end - off
		}
		off = 0
		if end < c.off {
			break
		}
	}
	return cursor{}, false
}

// spanCRLF counts the run of CR and LF bytes starting at cur.
func spanCRLF(cur cursor) int {
	n, off := 0, cur.off
	for c := cur.c; c != nil; c = c.next {
		if c.buf == nil {
			break
		}
		for _, x := range c.buf[c.misalign+off : c.misalign+c.off] {
			if x != '\r' && x != '\n' {
				return n
			}
			n++
		}
		off = 0
	}
	return n
}

// byteBefore returns the byte just before cur (cur.pos > 0).
func (b *Buffer) byteBefore(cur cursor) (byte, cursor) {
	if cur.off > 0 {
		c := cur.c
		return c.buf[c.misalign+cur.off-1], cursor{c: c, off: cur.off - 1, pos: cur.pos - 1}
	}
	c, off := b.seek(cur.pos - 1)
	if c == nil || c.buf == nil {
		return 0, cursor{}
	}
	return c.buf[c.misalign+off], cursor{c: c, off: off, pos: cur.pos - 1}
}

// findEOL finds the next end of line at or after cur whose first byte is
// before limit. It returns its position and length.
func (b *Buffer) findEOL(cur cursor, limit int, style EOLStyle) (cursor, int, bool) {
	switch style {
	case EOLAny:
		at, ok := indexEOLChar(cur, limit)
		if !ok {
			return cursor{}, 0, false
		}
		return at, spanCRLF(at), true
	case EOLCRLFStrict:
		at, ok := searchBytes([]byte("\r\n"), cur, min(b.total, limit+1))
		return at, 2, ok
	case EOLCRLF:
		at, ok := indexByteFrom('\n', cur, limit)
		if !ok {
			return cursor{}, 0, false
		}
		if at.pos > cur.pos {
			if x, before := b.byteBefore(at); x == '\r' && before.c != nil {
				return before, 2, true
			}
		}
		return at, 1, true
	case EOLLF:
		at, ok := indexByteFrom('\n', cur, limit)
		return at, 1, ok
	case EOLNUL:
		at, ok := indexByteFrom(0, cur, limit)
		return at, 1, ok
	}
	return cursor{}, 0, false
}

// SearchEOL returns the position of the next end of line of the given style
// at or after start (nil: the front) and its length in bytes. Not found (or
// start at the end, or an invalid style) gives Pos -1 and length 0.
// Not safe for concurrent use.
func (b *Buffer) SearchEOL(start *Ptr, style EOLStyle) (Ptr, int) {
	cur, ok := b.startCursor(start)
	if !ok || cur.c == nil {
		return Ptr{Pos: -1}, 0
	}
	at, n, ok := b.findEOL(cur, b.total, style)
	if !ok {
		return Ptr{Pos: -1}, 0
	}
	return b.ptrFrom(at), n
}

// lineEnd finds the first line: its length and the length of its
// end-of-line marker.
func (b *Buffer) lineEnd(style EOLStyle) (int, int, error) {
	if style < EOLAny || style > EOLNUL {
		return 0, 0, ErrBadStyle
	}
	if b.total == 0 {
		return 0, 0, ErrNoLine
	}
	if b.frozenFront {
		return 0, 0, ErrFrozen
	}
	maxLine := b.MaxLineLength()
	// Only the first maxLine+2 bytes can hold the end of an acceptable
	// line (a CR LF right after maxLine bytes); scanning stops there.
	limit, capped := b.total, false
	if limit >= maxLine+2 {
		limit, capped = maxLine+2, true
	}
	at, eol, ok := b.findEOL(cursor{c: b.first}, limit, style)
	if !ok {
		if capped {
			return 0, 0, ErrLineTooLong
		}
		return 0, 0, ErrNoLine
	}
	if at.pos > maxLine {
		return 0, 0, ErrLineTooLong
	}
	return at.pos, eol, nil
}

// ReadLine removes the first line from b and returns a copy of it without
// its end-of-line marker (which is drained too). It returns ErrNoLine if no
// complete line is buffered (nothing is removed), ErrLineTooLong if the line
// is longer than MaxLineLength (nothing is removed: drain or close), and
// ErrFrozen if the front is frozen. Lines may contain NUL bytes. The search
// for the end of the line stops at a sendfile chain (see FlagDrainsToFD).
// Not safe for concurrent use.
func (b *Buffer) ReadLine(style EOLStyle) ([]byte, error) {
	if d, n, eol, ok := b.lineInFirst(style); ok {
		line := make([]byte, n)
		copy(line, d)
		b.consumeFirst(n + eol)
		return line, nil
	}
	n, eol, err := b.lineEnd(style)
	if err != nil {
		return nil, err
	}
	line := make([]byte, n)
	b.copyOut(b.first, 0, line) // findEOL never crosses a sendfile chain
	b.drain(n + eol)
	b.nDel += n + eol
	b.invokeCallbacks()
	return line, nil
}

// ReadLineSlice is ReadLine without the copy, like bufio.Reader.ReadSlice:
// the returned line points into b's memory (a line that spans chains is first
// made contiguous, as Pullup does) and stays valid only until the next call
// that modifies b. It allocates nothing in steady state. When the line used
// up a chain, b keeps that chain (instead of recycling it) until its next
// modification.
// Not safe for concurrent use.
func (b *Buffer) ReadLineSlice(style EOLStyle) ([]byte, error) {
	// The hottest case, as tight as bufio.Reader.ReadSlice: a line inside
	// the first chain, which keeps at least one byte (so nothing is
	// freed), ended by one byte found with one IndexByte. Everything else
	// (EOLAny, lines across chains, errors) takes readLineSlice.
	c := b.first
	if c == nil || b.frozenFront || uint(style-EOLCRLF) > uint(EOLNUL-EOLCRLF) {
		return b.readLineSlice(style)
	}
	delim := byte('\n')
	if style == EOLNUL {
		delim = 0
	}
	// d is c.buf[c.misalign : c.misalign+c.off], built without the
	// pointer masking that slicing adds for an empty result: that masking
	// sits on the critical path from one line to the next (the search
	// start depends on the previous line's end). The bounds are checked
	// (a sendfile chain, without memory, fails them).
	m, off := c.misalign, c.off
	if off <= 0 || uint(m)+uint(off) > uint(len(c.buf)) {
		return b.readLineSlice(style)
	}
	d := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(c.buf)), m)), off)
	i := bytes.IndexByte(d, delim)
	if i < 0 {
		if len(d) == b.total && len(d) < b.MaxLineLength()+2 {
			// No end of line anywhere, and not yet too long.
			return nil, ErrNoLine
		}
		if line, ok := b.spanLine(style, true); ok {
			return line, nil
		}
		return b.readLineSlice(style)
	}
	if i+1 >= len(d) {
		return b.readLineSlice(style)
	}
	n := i
	if style <= EOLCRLFStrict {
		if i > 0 && d[i-1] == '\r' {
			n--
		} else if style == EOLCRLFStrict {
			// A lone LF is data in this style.
			return b.readLineSlice(style)
		}
	}
	if (n > DefaultMaxLineLength || (b.ext != nil && b.ext.maxLine != 0)) && n > b.MaxLineLength() {
		return b.readLineSlice(style)
	}
	if b.retired != nil {
		b.dropRetired()
	}
	k := i + 1
	c.misalign = m + k
	c.off = off - k
	b.total -= k
	b.gen++
	b.nDel += k
	b.invokeCallbacks()
	return d[:n:n], nil
}

// spanLine handles a line that starts in the first chain and ends in the
// second for the one-byte end-of-line styles (LF, CRLF, NUL): when the first
// chain is plain memory with room for the whole line it moves its bytes to
// its front and appends the rest of the line from the second chain, so the
// line is contiguous without a new chain (Pullup would allocate one). The
// first chain, used up, is kept for the result until the next modification.
// It reports false, having changed nothing, when the general path must
// decide. scanned says the caller has found no end of line in the first
// chain already.
func (b *Buffer) spanLine(style EOLStyle, scanned bool) ([]byte, bool) {
	c := b.first
	if c == nil || b.frozenFront || c.flags != 0 || c.off == 0 || c.buf == nil {
		return nil, false
	}
	c2 := c.next
	if c2 == nil || c2.buf == nil || c2.flags&flagPinned != 0 {
		return nil, false
	}
	delim := byte('\n')
	switch style {
	case EOLNUL:
		delim = 0
	case EOLLF, EOLCRLF:
	default:
		return nil, false
	}
	head := c.buf[c.misalign : c.misalign+c.off]
	if !scanned && bytes.IndexByte(head, delim) >= 0 {
		return nil, false
	}
	tail := c2.buf[c2.misalign : c2.misalign+c2.off]
	j := bytes.IndexByte(tail, delim)
	if j < 0 || j+1 >= len(tail) {
		return nil, false
	}
	r := len(head)
	n := r + j
	if style == EOLCRLF {
		if j > 0 && tail[j-1] == '\r' || j == 0 && head[r-1] == '\r' {
			n--
		}
	}
	if n > b.MaxLineLength() || n > len(c.buf) {
		return nil, false
	}
	b.dropRetired()
	copy(c.buf, head)
	if n > r {
		copy(c.buf[r:n], tail)
	}
	line := c.buf[:n:n]
	k := r + j + 1
	c2.misalign += j + 1
	c2.off -= j + 1
	b.first = c2
	c.next, c.misalign, c.off = nil, 0, 0
	b.retired = c
	b.total -= k
	b.gen++
	b.nDel += k
	b.invokeCallbacks()
	return line, true
}

// readLineSlice is ReadLineSlice's general path.
func (b *Buffer) readLineSlice(style EOLStyle) ([]byte, error) {
	if line, ok := b.spanLine(style, false); ok {
		return line, nil
	}
	if d, n, eol, ok := b.lineInFirst(style); ok {
		b.consumeFirst(n + eol)
		return d[:n], nil
	}
	n, eol, err := b.lineEnd(style)
	if err != nil {
		return nil, err
	}
	line := []byte{}
	var keep *chain
	if n > 0 {
		// Make the line contiguous in the first chain (a copy only when
		// it spans chains), and keep that chain alive for the caller.
		if line, err = b.Pullup(n); err != nil {
			return nil, err
		}
		// The drain retires the flagged chain instead of releasing it.
		keep = b.first
		keep.flags |= flagRetain
	}
	b.drain(n + eol)
	if keep != nil {
		keep.flags &^= flagRetain // still linked: the drain kept it
	}
	b.nDel += n + eol
	b.invokeCallbacks()
	return line, nil
}

// Find searches for what and returns the buffer's bytes from the match to
// the end of the match, made contiguous (libevent's compat evbuffer_find,
// which pulls the buffer up through the match). It returns nil when what
// does not occur. The slice aliases b's memory and is valid until the next
// call that modifies b.
// Not safe for concurrent use.
func (b *Buffer) Find(what []byte) []byte {
	p := b.Search(what, nil)
	if p.Pos < 0 {
		return nil
	}
	all, err := b.Pullup(p.Pos + len(what))
	if err != nil {
		return nil
	}
	return all[p.Pos:]
}

// lineInFirst finds a line that ends inside the first chain without using
// it up (so consuming it frees nothing): the chain's bytes, the line length
// and the end-of-line length. It reports false when the general path must
// decide (including every error case).
func (b *Buffer) lineInFirst(style EOLStyle) (d []byte, n, eol int, ok bool) {
	c := b.first
	if c == nil || c.off == 0 || c.buf == nil || b.frozenFront {
		return nil, 0, 0, false
	}
	d = c.buf[c.misalign : c.misalign+c.off]
	switch style {
	case EOLLF, EOLCRLF:
		i := bytes.IndexByte(d, '\n')
		if i < 0 {
			return nil, 0, 0, false
		}
		n, eol = i, 1
		if style == EOLCRLF && i > 0 && d[i-1] == '\r' {
			n, eol = i-1, 2
		}
	case EOLNUL:
		i := bytes.IndexByte(d, 0)
		if i < 0 {
			return nil, 0, 0, false
		}
		n, eol = i, 1
	case EOLCRLFStrict:
		i := bytes.Index(d, []byte("\r\n"))
		if i < 0 {
			return nil, 0, 0, false
		}
		n, eol = i, 2
	case EOLAny:
		// The first CR or LF, then the whole run of them, which must end
		// inside the chain (it could go on in the next one).
		i := bytes.IndexByte(d, '\n')
		scope := d
		if i >= 0 {
			scope = d[:i]
		}
		if cr := bytes.IndexByte(scope, '\r'); cr >= 0 {
			i = cr
		}
		if i < 0 {
			return nil, 0, 0, false
		}
		j := i + 1
		for j < len(d) && (d[j] == '\r' || d[j] == '\n') {
			j++
		}
		n, eol = i, j-i
	default:
		return nil, 0, 0, false
	}
	if n+eol >= len(d) || n > b.MaxLineLength() {
		return nil, 0, 0, false
	}
	return d, n, eol, true
}

// consumeFirst drops k bytes from the first chain, which holds more than k.
func (b *Buffer) consumeFirst(k int) {
	if b.retired != nil {
		b.dropRetired()
	}
	c := b.first
	c.misalign += k
	c.off -= k
	b.total -= k
	b.gen++
	if b.numCallbacks() == 0 {
		b.nAdd, b.nDel = 0, 0
	} else {
		b.nDel += k
		b.invokeCallbacks()
	}
}
