package compress

import (
	"fmt"
	"io"

	"github.com/bufev/bufev/backends/filter"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// encStep is the most input bytes handed to the compressor at once, so
// that the output produced between two budget checks stays small.
const encStep = 32 << 10

// streamWriter is what the four compressors have in common.
type streamWriter interface {
	io.Writer
	Flush() error
	Close() error
	Reset(w io.Writer)
}

// Encoder compresses a byte stream: its Filter method is an output filter
// (filter.Func) that reads plain bytes from src and appends compressed bytes
// to dst.
//
// Not safe for concurrent use: one Encoder serves one stream, driven from
// one goroutine (the loop of the filter bufferevent).
type Encoder struct {
	format Format
	opts   Options
	level  int
	w      streamWriter    // nil until the first byte, and after Close
	out    evbuffer.Buffer // compressed bytes not yet moved to dst
	dirty  bool            // bytes written since the last Flush
	done   bool            // trailer written (Finished)
	closed bool
	err    error
	in     int64
	outN   int64
}

// NewEncoder returns an Encoder for format f with options o (nil:
// defaults). It checks the level now; the compressor's memory is allocated
// when the first byte arrives. Safe for concurrent use (the function).
func NewEncoder(f Format, o *Options) (*Encoder, error) {
	e := &Encoder{format: f, opts: o.orDefault()}
	var err error
	switch f {
	case Deflate, Zlib, Gzip:
		e.level, err = flateLevel(e.opts.Level)
	case Zstd:
		var l zstd.EncoderLevel
		l, err = zstdLevel(e.opts.Level)
		e.level = int(l)
		if err == nil {
			w := e.opts.EncoderWindow
			if w < zstd.MinWindowSize || w > zstd.MaxWindowSize || w&(w-1) != 0 {
				err = fmt.Errorf("%w: zstd encoder window %d", ErrLevel, w)
			}
		}
	default:
		err = fmt.Errorf("%w: %d", ErrFormat, int(f))
	}
	if err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Encoder) key() encKey {
	k := encKey{format: e.format, level: e.level}
	if e.format == Zstd {
		k.window = e.opts.EncoderWindow
	}
	return k
}

// release returns the compressor to its pool.
func (e *Encoder) release() {
	if e.w != nil {
		putWriter(e.key(), e.w)
		e.w = nil
	}
}

func (e *Encoder) open() error {
	if w := getWriter(e.key(), &e.out); w != nil {
		e.w = w
		return nil
	}
	var err error
	switch e.format {
	case Deflate:
		e.w, err = flate.NewWriter(&e.out, e.level)
	case Zlib:
		e.w, err = zlib.NewWriterLevel(&e.out, e.level)
	case Gzip:
		e.w, err = gzip.NewWriterLevel(&e.out, e.level)
	case Zstd:
		e.w, err = zstd.NewWriter(&e.out,
			zstd.WithEncoderLevel(zstd.EncoderLevel(e.level)),
			zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(e.opts.EncoderWindow),
			zstd.WithZeroFrames(true))
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrLevel, err)
	}
	return nil
}

// Filter compresses src into dst. It is the output-filter half of a Codec
// and has the filter.Func signature.
//
// It drains from src everything it compresses. While src still holds
// bytes it appends at most limit bytes to dst (a negative limit, or one
// above MaxCallOutput, means MaxCallOutput) and returns filter.OK, so the
// filter backend calls again when dst has room; once src is used up it also moves what the compressor
// already produced, which is bounded by one compressor block, so no output
// is left inside the Encoder where the backend cannot see it.
//
// Modes: Normal lets the compressor keep recent input in its window (the
// peer may not be able to decode the last bytes yet). Flush ends with a
// sync flush (DEFLATE family: an empty stored block; zstd: a block
// boundary): the peer can decode everything written so far. Finished
// writes the trailer (zlib Adler-32, gzip CRC-32 and size, zstd frame end);
// afterwards the Encoder accepts no more data (ErrFinished).
//
// It returns filter.NeedMore when, in Normal mode, it could neither consume
// nor produce anything, and filter.Error (see Err) on failure; bytes it
// cannot read (a sendfile segment, in a buffer that drains to a descriptor)
// are a failure wrapping evbuffer.ErrNotInMemory.
// Not safe for concurrent use.
func (e *Encoder) Filter(src, dst *evbuffer.Buffer, limit int, mode bufferevent.FlushMode) filter.Result {
	if e.err != nil {
		return filter.Error
	}
	if e.closed {
		e.err = ErrClosed
		return filter.Error
	}
	budget := budgetOf(limit)
	produced := 0
	consumed := 0
	// Deliver what an earlier call could not.
	if n, err := e.deliver(src, dst, budget, &produced); err != nil {
		return e.fail(err)
	} else if n < 0 {
		return filter.OK
	}
	var vec [1][]byte
	for src.Len() > 0 && produced < budget {
		if e.done {
			return e.fail(ErrFinished)
		}
		if e.w == nil {
			if err := e.open(); err != nil {
				return e.fail(err)
			}
		}
		if src.Peek(encStep, nil, vec[:]) == 0 {
			// Bytes src holds but cannot show: a sendfile segment. Waiting
			// would stall the stream for good.
			return e.fail(evbuffer.ErrNotInMemory)
		}
		p := vec[0]
		if len(p) > encStep {
			p = p[:encStep]
		}
		n, err := e.w.Write(p)
		if err == nil && n < len(p) {
			err = io.ErrShortWrite
		}
		if err != nil {
			return e.fail(err)
		}
		if err := src.Drain(n); err != nil {
			return e.fail(err)
		}
		consumed += n
		e.in += int64(n)
		e.dirty = true
		if _, err := e.deliver(src, dst, budget, &produced); err != nil {
			return e.fail(err)
		}
	}
	if src.Len() == 0 && mode != bufferevent.Normal {
		if err := e.finish(mode); err != nil {
			return e.fail(err)
		}
		if _, err := e.deliver(src, dst, budget, &produced); err != nil {
			return e.fail(err)
		}
	}
	if consumed == 0 && produced == 0 && mode == bufferevent.Normal {
		return filter.NeedMore
	}
	return filter.OK
}

// finish writes a sync flush (Flush) or the trailer (Finished).
func (e *Encoder) finish(mode bufferevent.FlushMode) error {
	switch mode {
	case bufferevent.Flush:
		if e.w == nil || !e.dirty || e.done {
			return nil
		}
		e.dirty = false
		return e.w.Flush()
	case bufferevent.Finished:
		if e.done {
			return nil
		}
		if e.w == nil {
			// An empty stream is still a valid stream with its header
			// and trailer.
			if err := e.open(); err != nil {
				return err
			}
		}
		e.done = true
		e.dirty = false
		err := e.w.Close()
		if err == nil {
			e.release()
		}
		return err
	}
	return nil
}

// deliver moves compressed bytes to dst: up to the budget while src holds
// input, all of them once src is empty. It returns -1 when the budget is
// used up and output is still waiting.
func (e *Encoder) deliver(src, dst *evbuffer.Buffer, budget int, produced *int) (int, error) {
	n := e.out.Len()
	if n == 0 {
		return 0, nil
	}
	if src.Len() > 0 && *produced+n > budget {
		n = budget - *produced
		if n <= 0 {
			return -1, nil
		}
	}
	m, err := e.out.RemoveBuffer(dst, n)
	*produced += m
	e.outN += int64(m)
	if err != nil {
		return m, err
	}
	if e.out.Len() > 0 {
		return -1, nil
	}
	return m, nil
}

func (e *Encoder) fail(err error) filter.Result {
	if e.err == nil {
		e.err = fmt.Errorf("%w (%s encoder)", err, e.format)
	}
	return filter.Error
}

// Err returns the error that made Filter return filter.Error, or nil.
// Not safe for concurrent use.
func (e *Encoder) Err() error { return e.err }

// Stats returns the plain bytes consumed and compressed bytes produced so
// far. Not safe for concurrent use.
func (e *Encoder) Stats() (in, out int64) { return e.in, e.outN }

// Finished reports whether the trailer was written. Not safe for concurrent
// use.
func (e *Encoder) Finished() bool { return e.done }

// Close releases the compressor's memory and anything not yet delivered;
// later Filter calls fail with ErrClosed. It is idempotent and returns nil.
// Not safe for concurrent use.
func (e *Encoder) Close() error {
	if e.closed {
		return nil
	}
	e.closed = true
	e.release()
	e.out.Reset()
	return nil
}
