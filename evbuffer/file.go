package evbuffer

import "sync/atomic"

// FileSegment describes a byte range of an open file that buffers can
// append (see Buffer.AddFileSegment). It is reference counted: the creator
// holds one reference (dropped by Release) and every chain holding part of
// it holds one.
type FileSegment struct {
	fd      int
	offset  int64 // file offset of the segment's first byte
	refs    atomic.Int32
	data    []byte // the bytes, once read into memory
	cleanup func(seg *FileSegment)
	closeFD func(fd int) error
}

// release drops one reference; the last one closes the descriptor (with
// SegmentCloseOnFree) and runs the cleanup function.
func (s *FileSegment) release() {
	if s.refs.Add(-1) != 0 {
		return
	}
	if s.closeFD != nil && s.fd >= 0 {
		_ = s.closeFD(s.fd)
	}
	s.fd = -1
	s.data = nil
	if s.cleanup != nil {
		s.cleanup(s)
	}
}
