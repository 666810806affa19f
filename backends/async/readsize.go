//go:build linux || windows

package async

const (
	// minReadSize is the first receive's size; a receive that fills its space makes the
	// next one maxReadSize at once, and one that brings less than a quarter of its
	// space halves the next, down to minReadSize (nextReadSize). The bufferevent's
	// MaxToRead (its maximum single read, 16 KiB unless SetMaxSingleRead says otherwise,
	// the input room and the rate limits) still caps each receive.
	minReadSize = 4096
	// maxReadSize caps each receive below the bufferevent's MaxToRead. Every connection
	// may hold a receive of this size in flight (io_uring and IOCP alike post receives
	// ahead of the data), so it bounds the memory the kernel copies into (see
	// "Performance" in doc.go for what 64 KiB, 128 KiB, 256 KiB and 1 MiB cost on Linux).
	maxReadSize = 256 << 10
)

// nextReadSize returns the size of the receive after one of size cur that brought n
// bytes into space bytes (space is cur, or less when MaxToRead capped it). Jumping to the
// maximum at once, rather than doubling, gives a bulk connection one receive chain of the
// maximum size instead of one per size class on its way up (measured on Linux: a fifth
// of the start-up allocation, see doc.go).
func nextReadSize(cur, n, space int) int {
	switch {
	case n == space:
		return maxReadSize
	case n < cur/4 && cur > minReadSize:
		return max(cur/2, minReadSize)
	}
	return cur
}
