package evbuffer

import (
	"errors"
	"net"
	"sync"
)

// ioScratch is scratch space for one vectored I/O call, pooled so that the
// I/O paths allocate nothing.
type ioScratch struct {
	bs  [numWriteVecs][]byte
	sys sysVecs
	nb  net.Buffers // for WriteTo
}

var ioPool = sync.Pool{New: func() any { return new(ioScratch) }}

func (s *ioScratch) clear(nv int) {
	for i := 0; i < nv; i++ {
		s.bs[i] = nil
	}
	s.nb = nil
}

// DefaultMaxRead is the most bytes ReadFromFD reads in one call unless
// changed with SetMaxRead (libevent's EVBUFFER_MAX_READ_DEFAULT).
// A constant, safe for concurrent use.
const DefaultMaxRead = 4096

// numReadVecs is the number of chains one ReadFromFD fills (libevent's
// NUM_READ_IOVEC). The chains one WriteToFD writes, numWriteVecs, depend on
// the platform: 128 on Unix, 16 on Windows (libevent's NUM_WRITE_IOVEC).
const numReadVecs = 4

// SetMaxRead sets the most bytes one ReadFromFD call reads. n must be
// positive; otherwise it returns ErrNegative and changes nothing.
// Not safe for concurrent use.
func (b *Buffer) SetMaxRead(n int) error {
	if n <= 0 {
		return ErrNegative
	}
	if n > MaxChainSize {
		return ErrTooLarge
	}
	b.x().maxRead = n
	return nil
}

// MaxRead returns the most bytes one ReadFromFD call reads.
// Not safe for concurrent use.
func (b *Buffer) MaxRead() int {
	if b.ext == nil || b.ext.maxRead == 0 {
		return DefaultMaxRead
	}
	return b.ext.maxRead
}

// errBadFD is returned for negative descriptors.
var errBadFD = errors.New("evbuffer: invalid file descriptor")
