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

// WriteTo implements io.WriterTo: it writes b's bytes to w, draining what w
// accepted, until b is empty or w fails. Up to 128 chains at a time go to w
// as a net.Buffers, so a *net.TCPConn, *net.UnixConn or the like gets them
// with one writev; other writers get one Write per chain. It returns
// io.ErrShortWrite if w accepts fewer bytes than offered without an error,
// and ErrNotInMemory on reaching a sendfile chain (use WriteToFD for those).
// Not safe for concurrent use.
func (b *Buffer) WriteTo(w io.Writer) (int64, error) {
	if b.total > 0 && b.frozenFront {
		return 0, ErrFrozen
	}
	var total int64
	s := ioPool.Get().(*ioScratch)
	defer ioPool.Put(s)
	for b.total > 0 {
		nv, want := 0, 0
		for c := b.first; c != nil && nv < numWriteVecs; c = c.next {
			if c.off == 0 {
				continue
			}
			if c.buf == nil {
				break // sendfile chain
			}
			s.bs[nv] = c.data()
			want += c.off
			nv++
		}
		if nv == 0 {
			return total, ErrNotInMemory
		}
		var n int
		var err error
		if nv == 1 {
			n, err = w.Write(s.bs[0])
		} else {
			s.nb = s.bs[:nv]
			var n64 int64
			n64, err = s.nb.WriteTo(w)
			n = int(n64)
		}
		s.clear(nv)
		if n < 0 || n > want {
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
		if n < want {
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
