package compress

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/bufev/bufev/backends/filter"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/zstd"
)

// Format is a compressed stream format. It is a plain value: safe for
// concurrent use.
type Format int

// Stream formats.
// Constants, safe for concurrent use.
const (
	// Deflate is a raw DEFLATE stream (RFC 1951), as in WebSocket
	// permessage-deflate or HTTP "Content-Encoding: deflate" done wrong.
	Deflate Format = iota + 1
	// Zlib is a zlib stream (RFC 1950): DEFLATE with a two-byte header and an
	// Adler-32 trailer. libevent's regress_zlib uses it.
	Zlib
	// Gzip is a gzip stream (RFC 1952): DEFLATE with a header and a CRC-32
	// and length trailer. Concatenated members decode as one stream.
	Gzip
	// Zstd is a Zstandard stream (RFC 8878). Concatenated frames decode as
	// one stream.
	Zstd
)

// String returns "deflate", "zlib", "gzip", "zstd" or "Format(n)". Safe
// for concurrent use.
func (f Format) String() string {
	switch f {
	case Deflate:
		return "deflate"
	case Zlib:
		return "zlib"
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// Compression levels with a meaning across formats. Other values are the
// format's own levels: -2 (Huffman only) to 9 for the DEFLATE family,
// 1 to 22 for zstd (mapped to the four zstd encoder speeds).
// Constants, safe for concurrent use.
const (
	// DefaultLevel (the zero value) is the format's default: 5 for the
	// DEFLATE family (klauspost/compress's default, faster than zlib's 6 at
	// a similar ratio), zstd's "default" speed (level 3).
	DefaultLevel = 0
	// BestSpeed is level 1 in every format.
	BestSpeed = 1
	// NoCompression stores the data (DEFLATE stored blocks); for zstd it
	// selects the fastest level.
	NoCompression = -100
)

// Defaults for Options fields left zero.
// Constants, safe for concurrent use.
const (
	// DefaultMaxRatio is the decompressed-to-compressed ratio above which a
	// Decoder reports ErrLimit, once it has produced RatioFloor bytes.
	// DEFLATE cannot exceed about 1032:1, so the DEFLATE family never trips
	// it on honest data; zstd can, on long runs of one byte value.
	DefaultMaxRatio = 4096
	// RatioFloor is how many bytes a Decoder produces before it applies the
	// ratio limit, so short, highly compressible messages are never refused.
	RatioFloor = 1 << 20
	// DefaultMaxWindow is the largest zstd window (history) a Decoder
	// accepts: the memory a peer can make it allocate. 8 MiB is what the
	// zstd format asks every decoder to support.
	DefaultMaxWindow = 8 << 20
	// DefaultEncoderWindow is the zstd window an Encoder uses: memory per
	// stream is about four times it.
	DefaultEncoderWindow = 1 << 20
	// MaxCallOutput bounds what one filter call produces while its input
	// lasts, whatever the limit: a negative limit (libevent's "unlimited")
	// and filter.NoLimit (Flush and Finished mode) mean this much. The
	// backend calls again while input remains, so a flush still delivers
	// everything, in steps of at most this size.
	MaxCallOutput = 1 << 20
)

// Options configures an Encoder or a Decoder. The zero value (or a nil
// *Options) gives the defaults. The constructors copy it, so one Options
// value may be shared: safe for concurrent use once no goroutine writes it.
type Options struct {
	// Level is the compression level (Encoder only): DefaultLevel,
	// BestSpeed, NoCompression, or the format's own level.
	Level int
	// MaxOutput is the most bytes a Decoder produces over a stream's life;
	// beyond it the stream fails with ErrLimit. 0 means no total limit
	// (long-lived connections); the ratio limit still applies.
	MaxOutput int64
	// MaxRatio bounds decompressed bytes / compressed bytes once RatioFloor
	// bytes were produced (Decoder only). 0 means DefaultMaxRatio, a
	// negative value turns the check off.
	MaxRatio int
	// MaxWindow is the largest zstd window a Decoder accepts (0:
	// DefaultMaxWindow). Larger windows declared by the peer give ErrLimit.
	MaxWindow int
	// EncoderWindow is the zstd window of an Encoder, a power of two
	// (0: DefaultEncoderWindow).
	EncoderWindow int
}

func (o *Options) orDefault() Options {
	var v Options
	if o != nil {
		v = *o
	}
	if v.MaxRatio == 0 {
		v.MaxRatio = DefaultMaxRatio
	}
	if v.MaxWindow == 0 {
		v.MaxWindow = DefaultMaxWindow
	}
	if v.EncoderWindow == 0 {
		v.EncoderWindow = DefaultEncoderWindow
	}
	return v
}

// Errors reported by Err and by the constructors. Errors from the stream
// wrap one of them (and, for ErrCorrupt, the codec's own error), so test
// them with errors.Is.
// Sentinel values, never modified: safe for concurrent use.
var (
	// ErrFormat means an unknown Format.
	ErrFormat = errors.New("compress: unknown format")
	// ErrLevel means a compression level the format does not have, or a
	// bad option value.
	ErrLevel = errors.New("compress: invalid level or option")
	// ErrCorrupt means the compressed input is not a valid stream of the
	// format (bad header, bad block, checksum mismatch).
	ErrCorrupt = errors.New("compress: corrupt input")
	// ErrTruncated means the input ended (Finished) in the middle of a
	// stream: the trailer or part of the data is missing.
	ErrTruncated = errors.New("compress: truncated stream")
	// ErrLimit means decompression passed MaxOutput, MaxRatio or MaxWindow:
	// the input is a decompression bomb or exceeds what the caller allows.
	ErrLimit = errors.New("compress: decompression limit exceeded")
	// ErrTrailingData means bytes followed the end of a DEFLATE or zlib
	// stream, which has no framing for a second stream.
	ErrTrailingData = errors.New("compress: data after end of stream")
	// ErrFinished means an Encoder got data after it wrote its trailer
	// (Finished).
	ErrFinished = errors.New("compress: stream already finished")
	// ErrClosed means an Encoder or Decoder was used after Close.
	ErrClosed = errors.New("compress: codec closed")
)

// flateLevel maps a Level option to a klauspost/compress/flate level.
func flateLevel(l int) (int, error) {
	switch {
	case l == DefaultLevel:
		return 5, nil
	case l == NoCompression:
		return flate.NoCompression, nil
	case l >= flate.HuffmanOnly && l <= flate.BestCompression:
		return l, nil
	}
	return 0, fmt.Errorf("%w: deflate level %d", ErrLevel, l)
}

// zstdLevel maps a Level option to a zstd encoder speed.
func zstdLevel(l int) (zstd.EncoderLevel, error) {
	switch {
	case l == DefaultLevel:
		return zstd.SpeedDefault, nil
	case l == NoCompression:
		return zstd.SpeedFastest, nil
	case l >= 1 && l <= 22:
		return zstd.EncoderLevelFromZstd(l), nil
	}
	return 0, fmt.Errorf("%w: zstd level %d", ErrLevel, l)
}

func budgetOf(limit int) int {
	if limit < 0 || limit > MaxCallOutput {
		return MaxCallOutput
	}
	return limit
}

// Codec is a compressing output filter and a decompressing input filter
// for one connection: stack it with c.NewFilter(bev, opts), which also
// closes c with the filter and wraps c's errors in the filter's Error
// events (or with filter.New(bev, c.In, c.Out, opts), closing c yourself).
// Each direction has its own stream state.
//
// Not safe for concurrent use: the filter bufferevent calls In and Out on
// its loop goroutine; call Err and Close there too (or after the loop is
// done with the bufferevent).
type Codec struct {
	// Encoder compresses what the user writes (the output filter).
	Encoder *Encoder
	// Decoder decompresses what the peer sends (the input filter).
	Decoder *Decoder
}

// New returns a Codec for format f with options o (nil: defaults).
// Not safe for concurrent use (the result); New itself is safe to call from
// any goroutine.
func New(f Format, o *Options) (*Codec, error) {
	enc, err := NewEncoder(f, o)
	if err != nil {
		return nil, err
	}
	dec, err := NewDecoder(f, o)
	if err != nil {
		return nil, err
	}
	return &Codec{Encoder: enc, Decoder: dec}, nil
}

// NewDeflate returns a raw-DEFLATE Codec at the given level with default
// limits. Safe for concurrent use.
func NewDeflate(level int) (*Codec, error) { return New(Deflate, &Options{Level: level}) }

// NewZlib returns a zlib Codec at the given level with default limits.
// Safe for concurrent use.
func NewZlib(level int) (*Codec, error) { return New(Zlib, &Options{Level: level}) }

// NewGzip returns a gzip Codec at the given level with default limits.
// Safe for concurrent use.
func NewGzip(level int) (*Codec, error) { return New(Gzip, &Options{Level: level}) }

// NewZstd returns a zstd Codec at the given level (1–22 or DefaultLevel)
// with default limits. Safe for concurrent use.
func NewZstd(level int) (*Codec, error) { return New(Zstd, &Options{Level: level}) }

// In is the input filter: it decompresses src into dst (see
// Decoder.Filter). It has the filter.Func signature. Not safe for
// concurrent use.
func (c *Codec) In(src, dst *evbuffer.Buffer, limit int, mode bufferevent.FlushMode) filter.Result {
	return c.Decoder.Filter(src, dst, limit, mode)
}

// Out is the output filter: it compresses src into dst (see
// Encoder.Filter). It has the filter.Func signature. Not safe for
// concurrent use.
func (c *Codec) Out(src, dst *evbuffer.Buffer, limit int, mode bufferevent.FlushMode) filter.Result {
	return c.Encoder.Filter(src, dst, limit, mode)
}

// Err returns the error that made In or Out return filter.Error (both
// joined if both failed), or nil. Not safe for concurrent use.
func (c *Codec) Err() error {
	return errors.Join(c.Decoder.Err(), c.Encoder.Err())
}

// Cause returns the error that made the filter of direction dir fail: the
// Decoder's for bufferevent.Read (In), the Encoder's for bufferevent.Write
// (Out). It has the signature filter.WithCause takes, which NewFilter
// passes. Not safe for concurrent use.
func (c *Codec) Cause(dir bufferevent.Direction) error {
	if dir == bufferevent.Read {
		return c.Decoder.Err()
	}
	return c.Encoder.Err()
}

// NewFilter stacks c on underlying and hands c to the new filter
// bufferevent: it is filter.New(underlying, c.In, c.Out, opts) with
// filter.WithCleanup(c.Close), so the filter closes c exactly once when it
// is finalised (also when closed inside its own callbacks), and
// filter.WithCause(c.Cause), so an Error event's error wraps the codec's
// (errors.Is(err, ErrCorrupt), errors.Is(err, ErrLimit)). extra options
// are applied after those (a later WithCleanup replaces c.Close; then close
// c yourself). Read c's Err and Stats from the callbacks, or before closing
// the filter: once the filter is finalised c is closed.
//
// On error nothing is taken: underlying and c stay the caller's to close.
// Stacking with filter.New(underlying, c.In, c.Out, opts) and closing c
// after the filter still works. Loop-confined, like filter.New.
func (c *Codec) NewFilter(underlying *bufferevent.BufferEvent, opts bufferevent.Options, extra ...filter.Option) (*bufferevent.BufferEvent, error) {
	all := make([]filter.Option, 0, 2+len(extra))
	all = append(all, filter.WithCleanup(c.Close), filter.WithCause(c.Cause))
	return filter.New(underlying, c.In, c.Out, opts, append(all, extra...)...)
}

// Close releases both directions' codec state. Data still inside the
// encoder is dropped: flush with Finished first to keep it. Close is
// idempotent; later filter calls return filter.Error with ErrClosed.
// Not safe for concurrent use.
func (c *Codec) Close() error {
	return errors.Join(c.Decoder.Close(), c.Encoder.Close())
}
