package evbuffer

import "errors"

// Errors returned by Buffer methods. They are sentinels: compare them with
// errors.Is, since some are wrapped with detail.
// Sentinel values, never modified: safe for concurrent use.
var (
	// ErrFrozen means the end of the buffer that the operation needs is
	// frozen (see Buffer.Freeze).
	ErrFrozen = errors.New("evbuffer: buffer frozen")
	// ErrNegative means a size or count argument was negative where that
	// has no meaning.
	ErrNegative = errors.New("evbuffer: negative size")
	// ErrTooLarge means a request exceeds MaxChainSize or would overflow the
	// buffer's length.
	ErrTooLarge = errors.New("evbuffer: size too large")
	// ErrShort means the buffer holds fewer bytes than the operation needs.
	ErrShort = errors.New("evbuffer: not enough data")
	// ErrNoVecs means Reserve was given no extents to fill.
	ErrNoVecs = errors.New("evbuffer: no extents given")
	// ErrCommit means the extents handed to Commit do not match the space
	// reserved by the last Reserve (the buffer changed, or the slices were
	// not the reserved ones, or they grew).
	ErrCommit = errors.New("evbuffer: commit does not match reserved space")
	// ErrNoLine means no complete line (no end-of-line marker) is buffered.
	ErrNoLine = errors.New("evbuffer: no complete line")
	// ErrLineTooLong means a line, or the bytes scanned without finding its
	// end, exceed the buffer's maximum line length.
	ErrLineTooLong = errors.New("evbuffer: line too long")
	// ErrInvalidPtr means a Ptr is out of range or not valid for the buffer.
	ErrInvalidPtr = errors.New("evbuffer: invalid position")
	// ErrNil means a nil *Buffer, *Ptr or *FileSegment was passed where one
	// is needed.
	ErrNil = errors.New("evbuffer: nil argument")
	// ErrSameBuffer means a buffer was asked to reference itself.
	ErrSameBuffer = errors.New("evbuffer: source and destination are the same buffer")
	// ErrNestedReference means AddBufferReference was given a source holding
	// shared (multicast) or file chains, which cannot be shared again.
	ErrNestedReference = errors.New("evbuffer: source holds chains that cannot be shared")
	// ErrPinned means the operation would move memory that completion I/O
	// currently owns.
	ErrPinned = errors.New("evbuffer: chain is pinned by in-flight I/O")
	// ErrInFlight means PinRead or PinWrite was called while an operation
	// in the same direction is still in flight (one read and one write at
	// a time).
	ErrInFlight = errors.New("evbuffer: an operation is already in flight in that direction")
	// ErrNotInFlight means CommitRead or CommitWrite was called with no
	// operation in flight in that direction.
	ErrNotInFlight = errors.New("evbuffer: no operation in flight in that direction")
	// ErrNoCallback means RemoveCallback was given a callback that is not
	// registered on the buffer.
	ErrNoCallback = errors.New("evbuffer: callback not registered")
	// ErrBadStyle means an unknown EOLStyle.
	ErrBadStyle = errors.New("evbuffer: unknown end-of-line style")
	// ErrClosedSegment means a FileSegment was used after its last
	// reference was dropped.
	ErrClosedSegment = errors.New("evbuffer: file segment released")
	// ErrNotInMemory means the bytes asked for sit in a sendfile chain (see
	// FlagDrainsToFD) and can only leave the buffer through WriteToFD,
	// Drain, or moves to other buffers.
	ErrNotInMemory = errors.New("evbuffer: bytes are in a sendfile segment, not in memory")
)
