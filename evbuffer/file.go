package evbuffer

import (
	"errors"
	"io"
	"math"
	"sync"
	"sync/atomic"
)

// SegmentFlags control how a FileSegment is created and used. A
// SegmentFlags value is a plain value, safe for concurrent use.
type SegmentFlags uint32

// Segment flags (libevent's EVBUF_FS_* values).
// Constants, safe for concurrent use.
const (
	// SegmentCloseOnFree closes the descriptor when the last reference to
	// the segment is dropped.
	SegmentCloseOnFree SegmentFlags = 1
	// SegmentDisableMmap is accepted for compatibility. This package never
	// maps files: a file truncated under a mapping kills a Go process with
	// SIGBUS, which it cannot recover from.
	SegmentDisableMmap SegmentFlags = 2
	// SegmentDisableSendfile makes the segment always read its bytes into
	// memory, even in buffers with FlagDrainsToFD.
	SegmentDisableSendfile SegmentFlags = 4
	// SegmentDisableLocking is accepted for compatibility; segments use
	// atomic reference counts and a mutex only to read their bytes once.
	SegmentDisableLocking SegmentFlags = 8
)

// FileSegment is a byte range of an open file that buffers can append
// without copying it through the program: buffers with FlagDrainsToFD send it
// with sendfile; other buffers read it into memory once, on first use, and
// share that memory.
//
// A segment is reference counted: NewFileSegment returns it holding one
// reference, which the creator drops with Release; every chain holding part
// of it holds another. When the last is dropped the descriptor is closed (with
// SegmentCloseOnFree) and the cleanup function runs.
//
// Safe for concurrent use.
type FileSegment struct {
	fd      int
	offset  int64 // file offset of the segment's first byte
	length  int64
	flags   SegmentFlags
	refs    atomic.Int32
	dropped atomic.Bool // the creator's reference was released
	mu      sync.Mutex  // guards data, err, cleanup
	data    []byte      // the bytes, once read into memory
	err     error       // sticky error from reading them
	cleanup func(seg *FileSegment)
}

// NewFileSegment describes length bytes of the file fd from offset
// (length < 0: to the end of the file). Nothing is read yet. It fails if
// offset is negative, if fd is not an open file, or if the range does not fit
// the file's size when length < 0.
// Safe for concurrent use.
func NewFileSegment(fd int, offset, length int64, flags SegmentFlags) (*FileSegment, error) {
	if offset < 0 {
		return nil, ErrNegative
	}
	size, err := fileSize(fd)
	if err != nil {
		return nil, err
	}
	if length < 0 {
		if offset > size {
			return nil, ErrShort
		}
		length = size - offset
	}
	if length > MaxChainSize*1024 || offset > (1<<62)-length {
		return nil, ErrTooLarge
	}
	s := &FileSegment{fd: fd, offset: offset, length: length, flags: flags}
	s.refs.Store(1)
	return s, nil
}

// Len returns the number of bytes the segment covers.
// Safe for concurrent use.
func (s *FileSegment) Len() int64 { return s.length }

// SetCleanup sets fn to run once when the segment's last reference is
// dropped (libevent's evbuffer_file_segment_add_cleanup_cb).
// Safe for concurrent use.
func (s *FileSegment) SetCleanup(fn func(seg *FileSegment)) {
	s.mu.Lock()
	s.cleanup = fn
	s.mu.Unlock()
}

// Release drops the creator's reference. The segment stays usable by the
// buffers holding it; it is finished when they let it go. Calling Release
// more than once is an error that is ignored.
// Safe for concurrent use.
func (s *FileSegment) Release() {
	if s.dropped.CompareAndSwap(false, true) {
		s.release()
	}
}

// release drops one reference; the last one closes the descriptor (with
// SegmentCloseOnFree) and runs the cleanup function.
func (s *FileSegment) release() {
	if s.refs.Add(-1) != 0 {
		return
	}
	s.mu.Lock()
	if s.flags&SegmentCloseOnFree != 0 && s.fd >= 0 {
		_ = closeFD(s.fd)
	}
	s.fd = -1
	s.data = nil
	fn := s.cleanup
	s.cleanup = nil
	s.mu.Unlock()
	if fn != nil {
		fn(s)
	}
}

// materialize reads the segment's bytes into memory (once).
func (s *FileSegment) materialize() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data != nil || s.err != nil {
		return s.data, s.err
	}
	if s.fd < 0 {
		return nil, ErrClosedSegment
	}
	if s.length > MaxChainSize {
		// Too big to hold in memory; only sendfile can move it.
		s.err = ErrTooLarge
		return nil, s.err
	}
	data := make([]byte, s.length)
	for got := 0; got < len(data); {
		n, err := preadFD(s.fd, data[got:], s.offset+int64(got))
		if err != nil {
			s.err = err
			return nil, err
		}
		if n == 0 {
			s.err = io.ErrUnexpectedEOF
			return nil, s.err
		}
		got += n
	}
	s.data = data
	return data, nil
}

// AddFileSegment appends length bytes of seg starting at offset within it
// (length < 0: the rest of the segment). In a buffer with FlagDrainsToFD
// whose platform has sendfile, the chain holds no memory and WriteToFD sends
// it with sendfile; otherwise the segment's bytes are read into memory (once
// per segment) and shared. The buffer takes its own reference to seg.
//
// Errors: ErrFrozen (end frozen), ErrNegative (offset < 0), ErrShort (the
// range is beyond the segment), ErrClosedSegment (seg fully released),
// ErrTooLarge (a segment over MaxChainSize that would have to be read into
// memory), or the error from reading the file. Unlike libevent, a failed add does not
// drop the caller's reference.
// Not safe for concurrent use.
func (b *Buffer) AddFileSegment(seg *FileSegment, offset, length int64) error {
	if seg == nil {
		return ErrNil
	}
	if b.frozenEnd {
		return ErrFrozen
	}
	if offset < 0 {
		return ErrNegative
	}
	if seg.refs.Load() <= 0 {
		return ErrClosedSegment
	}
	if offset > seg.length {
		return ErrShort
	}
	if length < 0 {
		length = seg.length - offset
	}
	if length > seg.length-offset {
		return ErrShort
	}
	if offset+length > math.MaxInt {
		return ErrTooLarge
	}
	if err := b.checkGrow(int(length)); err != nil {
		return err
	}
	c := newHead()
	c.flags = flagFile | flagImmutable
	if b.flags&FlagDrainsToFD != 0 && seg.flags&SegmentDisableSendfile == 0 && haveSendfile {
		c.flags |= flagSendfile
		c.misalign = int(offset)
	} else {
		data, err := seg.materialize()
		if err != nil {
			headPool.Put(c)
			return err
		}
		c.buf = data[offset : offset+length : offset+length]
	}
	c.off = int(length)
	seg.refs.Add(1)
	c.seg = seg
	b.insert(c)
	b.nAdd += int(length)
	b.invokeCallbacks()
	return nil
}

// AddFile appends length bytes of the file fd from offset (length < 0: to
// the end of the file), like AddFileSegment with a segment that closes fd
// when done. AddFile takes ownership of fd: it is closed when the bytes have
// left the buffer, and immediately if AddFile fails.
// Not safe for concurrent use.
func (b *Buffer) AddFile(fd int, offset, length int64) error {
	if b.frozenEnd {
		_ = closeFD(fd)
		return ErrFrozen
	}
	seg, err := NewFileSegment(fd, offset, length, SegmentCloseOnFree)
	if err != nil {
		_ = closeFD(fd)
		return err
	}
	err = b.AddFileSegment(seg, 0, -1)
	seg.Release()
	return err
}

// errNoFile is returned by NewFileSegment for descriptors that are not
// regular files.
var errNoFile = errors.New("evbuffer: not a regular file")
