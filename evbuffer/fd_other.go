//go:build !unix && !windows

package evbuffer

import (
	"errors"
	"fmt"
	"runtime"
)

// errFDUnsupported is returned by the descriptor methods where they are not
// implemented. It matches errors.ErrUnsupported.
var errFDUnsupported = fmt.Errorf("evbuffer: file descriptor I/O is not implemented on %s: %w", runtime.GOOS, errors.ErrUnsupported)

// ReadFromFD reads from a descriptor into b. On this platform it is not
// implemented and returns an error matching errors.ErrUnsupported.
// Not safe for concurrent use.
func (b *Buffer) ReadFromFD(fd int, howmuch int) (int, error) {
	if b.frozenEnd {
		return 0, ErrFrozen
	}
	return 0, errFDUnsupported
}

// WriteToFD writes from b to a descriptor. On this platform it is not
// implemented and returns an error matching errors.ErrUnsupported.
// Not safe for concurrent use.
func (b *Buffer) WriteToFD(fd int, howmuch int) (int, error) {
	if b.frozenFront {
		return 0, ErrFrozen
	}
	return 0, errFDUnsupported
}

const haveSendfile = false

// numWriteVecs bounds the chains one WriteTo hands to net.Buffers.
const numWriteVecs = 16

// sysVecs is unused here.
type sysVecs struct{}

func fileSize(fd int) (int64, error)                   { return 0, errFDUnsupported }
func preadFD(fd int, p []byte, off int64) (int, error) { return 0, errFDUnsupported }
func closeFD(fd int) error                             { return errFDUnsupported }
