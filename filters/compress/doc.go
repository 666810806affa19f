// Package compress holds ready-made compression filters for the filter
// backend (github.com/bufev/bufev/backends/filter): DEFLATE (raw), zlib,
// gzip and zstd.
//
// A Codec is one connection's pair of filters: Out compresses what the user
// writes, In decompresses what the peer sends. Each direction keeps its own
// stream state (an Encoder and a Decoder). Stack it on any bufferevent:
//
//	c, err := compress.NewGzip(compress.DefaultLevel)
//	...
//	bev, err := c.NewFilter(socketBev, opts) // the filter now owns c
//	...
//	bev.Write(msg)
//	bev.Flush(bufferevent.Write, bufferevent.Flush)    // peer can decode msg now
//	bev.Flush(bufferevent.Write, bufferevent.Finished) // gzip trailer
//	...
//	// an Error event's err wraps the codec's: errors.Is(err, compress.ErrCorrupt)
//	bev.Close() // also closes c
//
// NewFilter passes filter.WithCleanup(c.Close) and filter.WithCause(c.Cause)
// to filter.New. Stacking c.In and c.Out with filter.New directly still
// works; then close c after the filter and read c.Err for the cause.
//
// The Encoder and Decoder also work without an event loop: their Filter
// methods take two plain evbuffer.Buffers (see the examples).
//
// # Limit, flush and finished
//
// A filter call consumes from src and appends to dst. limit is the room
// left in dst below its high watermark (filter.NoLimit in Flush and
// Finished mode, negative in libevent's convention for "no watermark");
// whatever it says, one call produces at most MaxCallOutput bytes while
// input remains, and the backend calls again. While src still holds input
// a call appends at most limit bytes and returns filter.OK, so the backend
// calls again when there is room; output the codec already produced beyond
// that waits inside the filter (in the codec's own buffer) and comes out
// first on the next call. Once src is used up the call also delivers
// everything the codec can produce from the input it took (bounded by one
// codec block: 32 KiB for DEFLATE, 128 KiB for zstd), so nothing stays
// inside a filter where the backend, which calls filters only when src
// holds bytes, would not look for it. A call that could neither consume nor produce returns
// filter.NeedMore.
//
// On the output side, Normal mode lets the compressor keep recent input in
// its window: the peer may not be able to decode the last bytes until
// more data or a flush follows (as with zlib's Z_NO_FLUSH). Flush mode
// ends with a sync flush (Z_SYNC_FLUSH; for zstd a block boundary): the peer
// can decode everything written so far, at the cost of a few bytes.
// Finished writes the trailer (zlib Adler-32, gzip CRC-32 and size, zstd
// frame end); the Encoder then refuses more data (ErrFinished).
//
// On the input side, Finished means the input ended (EOF): a stream cut
// before its trailer is ErrTruncated; a connection that sent nothing is
// not an error. Corrupt input is ErrCorrupt. gzip members and zstd frames
// may follow each other; bytes after a DEFLATE or zlib stream are
// ErrTrailingData.
//
// # Decompression bombs
//
// A Decoder never holds more than one codec block of output and, in
// Normal mode, never writes more than limit bytes to dst while input
// remains, so with a read high watermark on the filter bufferevent a bomb
// cannot fill memory: it only costs CPU while the reader drains. That holds
// at the end of the stream too: the Finished calls the filter backend makes
// when the underlying reports EOF keep to the watermark, and the EOF event
// waits until the reader has drained the rest (before, that pass ignored
// watermarks, and 39 KiB of zstd sent just before a close put 16 MiB in
// the input at once: TestBombAtEOFKeepsWatermark). Only a Flush the user
// calls (Flush or Finished mode) ignores watermarks and calls again while
// input remains; there the limits below are what bounds the output. A Decoder stops a stream
// that decompresses beyond Options.MaxOutput bytes in total, beyond
// Options.MaxRatio times its compressed size (default DefaultMaxRatio,
// checked after RatioFloor bytes), or that asks for a zstd window above
// Options.MaxWindow (default 8 MiB): the call returns filter.Error and Err
// wraps ErrLimit. DEFLATE cannot exceed about 1032:1, so the default ratio
// limit never trips on the DEFLATE family: for untrusted peers lower
// MaxRatio (text and JSON rarely pass 20:1; 100 leaves ample room) or set
// MaxOutput.
//
// # How the decoder works without blocking
//
// Go's decompressors (compress/flate and klauspost/compress alike) pull
// input through an io.Reader and cannot resume after the reader reports
// "no data yet". A Decoder therefore runs the decompressor as a coroutine
// (iter.Pull): when src is empty it suspends inside the decompressor's
// Read, when dst has no room left it suspends inside the decompressor's
// Write (through io.WriterTo), the filter call returns, and the next call
// resumes it. The coroutine runs only inside a Filter call, so there is
// no concurrency and nothing to lock; it exists while a stream is in
// progress and ends with the stream, on error, or on Close. A parked
// coroutine costs a goroutine stack (a few KiB) and stays parked until one
// of those happens, so close the Codec when its connection is closed: the
// filter backend does not know about the Codec and cannot do it.
//
// Input is read from src without draining it: the DEFLATE family reads
// through a pooled 4 KiB bufio.Reader (klauspost/compress decodes fastest
// from one), and only the bytes the decompressor has consumed are drained,
// so read-ahead stays in src where the filter backend sees it. Output is
// copied once, from the decompressor's buffer into dst (zlib, whose reader
// has no WriteTo, goes through a pooled 16 KiB scratch slice).
//
// # Why klauspost/compress
//
// This package depends on github.com/klauspost/compress, the maintained Go
// library written for exactly this: its flate, zlib and gzip packages are
// drop-in versions of the standard library's, and its zstd package is the
// Go zstd implementation (the standard library has none). BenchmarkLibraries
// in this package compresses 1 MiB of protocol-like text with both
// libraries in one run (go test -run '^$' -bench Libraries ./compress).
// On the quiet 2-core development machine (session 5, Go 1.26, -count 4)
// klauspost compressed 1.9x faster at level 6 (119 vs 61 MB/s) and at
// level 1 (290 vs 154 MB/s), and decompressed 1.4x faster (516 vs 372
// MB/s). (Session 1 recorded 8x at level 6, 268 vs 34 MB/s, on a quiet
// moment; that is not reproduced with this benchmark and toolchain.) Its decompressor allocates once
// per stream where compress/flate allocates 153 times per MiB. Its output is up to 17% larger at
// level 6 and within 2% at level 1. A connection filter spends its CPU
// compressing, so the faster library wins; the standard library's readers
// are still used in the tests to check that what we write is standard.
//
// Output is checked against the standard library readers, the system gzip,
// C zlib (python3) and the zstd command-line tool, in both directions.
package compress
