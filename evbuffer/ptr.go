package evbuffer

// Ptr is a position in a Buffer: Pos bytes from the front, or -1 when unset
// or not found. Any position from 0 to Len() inclusive is valid (Len() is
// "just past the end"). Set it with Buffer.SetPtr and move it with
// Buffer.AdvancePtr; Search and friends return one.
//
// A Ptr caches the chain it points into. When the buffer is modified at the
// front or repacked (drain, remove, prepend, pullup, moves) the cache is
// dropped and the Ptr is re-resolved from Pos, so a Ptr never points into
// freed memory; it then names the byte now at offset Pos, as libevent's
// "invalidated" pointers would if recomputed. Appends keep it valid.
// Setting Pos directly is allowed; the cache notices.
//
// Not safe for concurrent use: it belongs with its Buffer.
type Ptr struct {
	// Pos is the offset from the front of the buffer, or -1.
	Pos int

	c    *chain // chain holding Pos (nil: at the end, or not resolved)
	off  int    // offset of Pos in c's readable bytes
	cpos int    // the Pos that c and off were resolved for
	gen  uint64 // buffer generation c was resolved in
	buf  *Buffer
}

// seek finds the chain and offset of position pos (0 <= pos <= b.total).
// At the end it returns (nil, 0).
func (b *Buffer) seek(pos int) (*chain, int) {
	c := b.first
	for c != nil && pos >= c.off {
		pos -= c.off
		c = c.next
	}
	if c == nil {
		return nil, 0
	}
	return c, pos
}

// resolve returns the chain and offset for p, re-resolving if the buffer
// changed shape since p was set.
func (b *Buffer) resolve(p *Ptr) (*chain, int, error) {
	if p.Pos < 0 || p.Pos > b.total {
		return nil, 0, ErrInvalidPtr
	}
	if p.buf == b && p.gen == b.gen && p.cpos == p.Pos && p.c != nil && p.off < p.c.off {
		return p.c, p.off, nil
	}
	c, off := b.seek(p.Pos)
	p.c, p.off, p.cpos, p.gen, p.buf = c, off, p.Pos, b.gen, b
	return c, off, nil
}

// SetPtr sets p to position pos (libevent's evbuffer_ptr_set with
// EVBUFFER_PTR_SET). pos == Len() is valid. For pos < 0 or pos > Len() it
// returns ErrInvalidPtr and sets p.Pos to -1.
// Not safe for concurrent use.
func (b *Buffer) SetPtr(p *Ptr, pos int) error {
	if p == nil {
		return ErrNil
	}
	if pos < 0 || pos > b.total {
		*p = Ptr{Pos: -1}
		return ErrInvalidPtr
	}
	c, off := b.seek(pos)
	*p = Ptr{Pos: pos, c: c, off: off, cpos: pos, gen: b.gen, buf: b}
	return nil
}

// AdvancePtr moves p forward by n bytes (libevent's EVBUFFER_PTR_ADD),
// starting from p's cached chain. Moving past Len() (or from an unset p, or
// by n < 0) returns ErrInvalidPtr and sets p.Pos to -1.
// Not safe for concurrent use.
func (b *Buffer) AdvancePtr(p *Ptr, n int) error {
	if p == nil {
		return ErrNil
	}
	if n < 0 || p.Pos < 0 || p.Pos > b.total || n > b.total-p.Pos {
		*p = Ptr{Pos: -1}
		return ErrInvalidPtr
	}
	c, off, _ := b.resolve(p)
	pos := p.Pos + n
	off += n
	for c != nil && off >= c.off {
		off -= c.off
		c = c.next
	}
	if c == nil {
		off = 0
	}
	*p = Ptr{Pos: pos, c: c, off: off, cpos: pos, gen: b.gen, buf: b}
	return nil
}

// Peek fills vecs with slices of b's readable bytes, starting at start (nil:
// the front), covering at least n bytes (n < 0: as many extents as vecs
// holds, or all of b when vecs is empty). It returns the number of extents
// needed, which can exceed len(vecs) (as in libevent); only min(returned,
// len(vecs)) entries are filled. Extents are whole chains, except the first,
// which starts at start; together they may cover more than n bytes.
//
// Peek stops at a sendfile chain (see FlagDrainsToFD), whose bytes are not in
// memory.
//
// The slices alias b's memory: they stay valid until the next call that
// modifies b. Do not write to them.
// Peek works whether or not b is frozen. Not safe for concurrent use.
func (b *Buffer) Peek(n int, start *Ptr, vecs [][]byte) int {
	var c *chain
	off := 0
	if start != nil {
		var err error
		c, off, err = b.resolve(start)
		if err != nil {
			return 0
		}
	} else {
		c = b.first
	}
	if n < 0 && len(vecs) == 0 {
		// Count everything from start.
		n = b.total
		if start != nil {
			n -= start.Pos
		}
	}
	i, got := 0, 0
	for ; c != nil; c = c.next {
		if n >= 0 && got >= n {
			break
		}
		if c.off-off <= 0 {
			off = 0
			continue // empty chains give no extent
		}
		if c.buf == nil {
			break // sendfile bytes are not in memory
		}
		if i < len(vecs) {
			vecs[i] = c.buf[c.misalign+off : c.misalign+c.off]
		} else if n < 0 {
			break
		}
		got += c.off - off
		i++
		off = 0
	}
	return i
}
