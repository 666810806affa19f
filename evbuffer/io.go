package evbuffer

import (
	"errors"
	"io"
)

// Interface checks.
var (
	_ io.Reader       = (*Buffer)(nil)
	_ io.Writer       = (*Buffer)(nil)
	_ io.ByteReader   = (*Buffer)(nil)
	_ io.StringWriter = (*Buffer)(nil)
	_ io.WriterTo     = (*Buffer)(nil)
	_ io.ReaderFrom   = (*Buffer)(nil)
)

// Read implements io.Reader: it removes up to len(p) bytes from the front of
// b. An empty b returns io.EOF (when len(p) > 0), as bytes.Buffer does.
// Not safe for concurrent use.
func (b *Buffer) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if b.total == 0 {
		return 0, io.EOF
	}
	return b.Remove(p)
}

// ReadByte implements io.ByteReader. An empty b returns io.EOF.
// Not safe for concurrent use.
func (b *Buffer) ReadByte() (byte, error) {
	if b.total == 0 {
		return 0, io.EOF
	}
	if b.frozenFront {
		return 0, ErrFrozen
	}
	c := b.first
	for c.off == 0 {
		c = c.next
	}
	if c.buf == nil {
		return 0, ErrNotInMemory
	}
	x := c.buf[c.misalign]
	b.drain(1)
	b.nDel++
	b.invokeCallbacks()
	return x, nil
}

// Write implements io.Writer: it appends a copy of p (see Add).
// Not safe for concurrent use.
func (b *Buffer) Write(p []byte) (int, error) {
	if err := b.Add(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// WriteString implements io.StringWriter (see AddString).
// Not safe for concurrent use.
func (b *Buffer) WriteString(s string) (int, error) {
	if err := b.AddString(s); err != nil {
		return 0, err
	}
	return len(s), nil
}

// WriteTo implements io.WriterTo: it writes b's bytes to w chain by chain,
// draining what w accepted, until b is empty or w fails. It returns
// io.ErrShortWrite if w accepts fewer bytes than offered without an error.
// Not safe for concurrent use.
func (b *Buffer) WriteTo(w io.Writer) (int64, error) {
	if b.total > 0 && b.frozenFront {
		return 0, ErrFrozen
	}
	var total int64
	for b.total > 0 {
		c := b.first
		if c.off == 0 {
			b.drain(0) // drop leading empty chains
			continue
		}
		if c.buf == nil {
			return total, ErrNotInMemory
		}
		d := c.data()
		n, err := w.Write(d)
		if n < 0 || n > len(d) {
			return total, errors.New("evbuffer: writer returned an invalid count")
		}
		if n > 0 {
			b.drain(n)
			b.nDel += n
			total += int64(n)
			b.invokeCallbacks()
		}
		if err != nil {
			return total, err
		}
		if n < len(d) {
			return total, io.ErrShortWrite
		}
	}
	return total, nil
}

// readFromMin is the least free space ReadFrom offers to a Read call.
const readFromMin = 4096

// ReadFrom implements io.ReaderFrom: it reads from r into reserved space at
// the end of b until io.EOF (which is not returned) or an error.
// Not safe for concurrent use.
func (b *Buffer) ReadFrom(r io.Reader) (int64, error) {
	if b.frozenEnd {
		return 0, ErrFrozen
	}
	var total int64
	var vec [1][]byte
	for {
		if _, err := b.Reserve(readFromMin, vec[:]); err != nil {
			return total, err
		}
		n, err := r.Read(vec[0])
		if n < 0 || n > len(vec[0]) {
			return total, errors.New("evbuffer: reader returned an invalid count")
		}
		if n > 0 {
			vec[0] = vec[0][:n]
			if cerr := b.Commit(vec[:]); cerr != nil {
				return total, cerr
			}
			total += int64(n)
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}
