package compress

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"iter"

	"github.com/bufev/bufev/backends/filter"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// decChunk is the size of the scratch slice the zlib decompressor reads
// into.
const decChunk = 16 << 10

// pause says why the decoding coroutine handed control back.
type pause uint8

const (
	pauseInput pause = iota + 1 // src is used up: the filter needs more input
	pauseFull                   // the budget is used up while src holds input
)

// errStopped is what the source reader returns when Close stops the
// coroutine; the decompressor returns it and the coroutine ends.
var errStopped = errors.New("compress: decoder stopped")

// Decoder decompresses a byte stream: its Filter method is an input filter
// (filter.Func) that reads compressed bytes from src and appends plain
// bytes to dst.
//
// The decompressors of compress/flate, klauspost/compress and zstd pull
// their input from an io.Reader and cannot resume after a read error, so a
// Decoder runs its decompressor as a coroutine (iter.Pull): when src is
// used up the coroutine suspends inside Read and the filter returns; the
// next Filter call resumes it where it stopped. The coroutine runs only
// while Filter runs, on the caller's goroutine in effect, and exists only
// while a stream is in progress: it ends at the end of the stream, on an
// error, and on Close. Close a Decoder whose stream may still be open.
//
// Not safe for concurrent use: one Decoder serves one stream, driven from
// one goroutine (the loop of the filter bufferevent).
type Decoder struct {
	format Format
	opts   Options

	next func() (pause, bool)
	stop func()

	// Set by Filter for the coroutine.
	src    *evbuffer.Buffer
	dst    *evbuffer.Buffer
	budget int
	mode   bufferevent.FlushMode
	yield  func(pause) bool

	rd      srcReader
	sink    sink
	scratch []byte    // zlib only: its reader has no WriteTo
	zr      io.Reader // the decompressor
	zstdDec *zstd.Decoder

	started bool // a stream began (some compressed byte was seen)
	ended   bool // the stream ended cleanly
	closed  bool
	err     error
	in      int64 // compressed bytes consumed
	out     int64 // plain bytes produced
}

// NewDecoder returns a Decoder for format f with options o (nil:
// defaults). Safe for concurrent use (the function).
func NewDecoder(f Format, o *Options) (*Decoder, error) {
	d := &Decoder{format: f, opts: o.orDefault()}
	switch f {
	case Deflate, Zlib, Gzip, Zstd:
	default:
		return nil, fmt.Errorf("%w: %d", ErrFormat, int(f))
	}
	if d.opts.MaxOutput < 0 {
		return nil, fmt.Errorf("%w: MaxOutput %d", ErrLevel, d.opts.MaxOutput)
	}
	if f == Zstd && (d.opts.MaxWindow < zstd.MinWindowSize) {
		return nil, fmt.Errorf("%w: zstd MaxWindow %d", ErrLevel, d.opts.MaxWindow)
	}
	d.rd.d = d
	d.sink.d = d
	return d, nil
}

// Filter decompresses src into dst. It is the input-filter half of a Codec
// and has the filter.Func signature.
//
// It drains from src the compressed bytes it decoded. While src still
// holds bytes it appends at most limit bytes to dst (a negative limit, or
// one above MaxCallOutput, means MaxCallOutput) and returns filter.OK, so
// the filter backend calls again when dst has room. Once src is used up it also delivers what the
// decompressor can still produce from the input it already consumed (at
// most one window or block: 32 KiB for DEFLATE, 128 KiB for zstd), so no
// output stays inside the Decoder where the backend cannot see it.
//
// Normal and Flush mode decode what has arrived; Finished means the input
// has ended: a stream cut short is an error (ErrTruncated), and a
// connection that sent nothing at all is not. Corrupt input gives
// ErrCorrupt, a decompression bomb ErrLimit, bytes after a DEFLATE or
// zlib stream ErrTrailingData; Filter then returns filter.Error and Err
// says why. It returns filter.NeedMore when it consumed and produced
// nothing. Not safe for concurrent use.
func (d *Decoder) Filter(src, dst *evbuffer.Buffer, limit int, mode bufferevent.FlushMode) filter.Result {
	if d.err != nil {
		return filter.Error
	}
	if d.closed {
		d.err = ErrClosed
		return filter.Error
	}
	if d.ended {
		if src.Len() > 0 {
			return d.fail(ErrTrailingData)
		}
		if mode == bufferevent.Normal {
			return filter.NeedMore
		}
		return filter.OK
	}
	if src.Len() == 0 && (!d.started || mode != bufferevent.Finished) {
		if mode == bufferevent.Normal {
			return filter.NeedMore
		}
		return filter.OK
	}
	d.started = true
	d.src, d.dst, d.budget, d.mode = src, dst, budgetOf(limit), mode
	in0, out0 := d.in, d.out
	if d.next == nil {
		d.next, d.stop = iter.Pull(d.run)
	}
	_, running := d.next()
	d.src, d.dst = nil, nil
	if !running {
		d.next, d.stop = nil, nil
		if d.err != nil {
			return filter.Error
		}
	}
	if d.in == in0 && d.out == out0 && mode == bufferevent.Normal {
		return filter.NeedMore
	}
	return filter.OK
}

// run is the coroutine: it opens the decompressor and reads from it into
// dst until the stream ends or fails, pausing when input or room runs out.
func (d *Decoder) run(yield func(pause) bool) {
	d.yield = yield
	defer func() {
		// A decompressor must not take the process down on hostile input;
		// a panic in one (a bug) becomes a corrupt-stream error.
		if p := recover(); p != nil {
			d.setErr(fmt.Errorf("decompressor panic: %v", p))
		}
		d.rd.sync()
		d.yield = nil
	}()
	if err := d.open(); err != nil {
		d.setErr(err)
		return
	}
	var err error
	if wt, ok := d.zr.(io.WriterTo); ok {
		// DEFLATE, gzip and zstd push their output into d.sink from
		// their own buffers: one copy, straight into dst.
		_, err = wt.WriteTo(&d.sink)
		if err == nil {
			err = io.EOF
		}
	} else {
		// zlib has no WriteTo: read into scratch, never into dst's
		// memory (a Read can pause, and while it is paused the caller
		// owns dst).
		if d.scratch == nil {
			d.scratch = scratchPool.Get().(*[decChunk]byte)[:]
		}
		for err == nil {
			var k int
			k, err = d.zr.Read(d.scratch)
			if k > 0 {
				if _, werr := d.sink.Write(d.scratch[:k]); werr != nil {
					err = werr
				}
			}
		}
	}
	switch {
	case d.closed || errors.Is(err, errStopped):
		// Close stopped the stream; whatever the decompressor made of
		// that is not an error of the stream.
	case err == io.EOF:
		d.ended = true
		d.rd.sync()
		if d.rd.buffered() > 0 && d.format != Gzip && d.format != Zstd {
			d.setErr(ErrTrailingData)
			return
		}
		d.release()
	default:
		d.setErr(err)
	}
}

// sink is the io.Writer the decompressor writes its output to, inside the
// coroutine. It appends to dst up to the budget while src still holds
// input and pauses the coroutine when the budget is used up (the
// decompressor's buffer stays untouched while it is paused); once src is
// used up it takes everything, so no output stays behind.
type sink struct{ d *Decoder }

func (s *sink) Write(p []byte) (int, error) {
	d := s.d
	if d.closed {
		// Close is stopping the coroutine; some decompressors still
		// flush their window on the way out.
		return 0, errStopped
	}
	var limitErr error
	if d.opts.MaxOutput > 0 && d.out+int64(len(p)) > d.opts.MaxOutput {
		p = p[:d.opts.MaxOutput-d.out]
		limitErr = fmt.Errorf("%w: more than %d bytes (MaxOutput)", ErrLimit, d.opts.MaxOutput)
	}
	n := 0
	for len(p) > 0 {
		take := len(p)
		if d.rd.buffered() > 0 {
			if d.budget <= 0 {
				d.rd.sync()
				if !d.yield(pauseFull) {
					return n, errStopped
				}
				continue
			}
			take = min(take, d.budget)
		}
		if err := d.dst.Add(p[:take]); err != nil {
			return n, err
		}
		d.out += int64(take)
		d.budget -= take
		n += take
		p = p[take:]
		if err := d.checkLimits(); err != nil {
			return n, err
		}
	}
	return n, limitErr
}

func (d *Decoder) checkLimits() error {
	if d.opts.MaxRatio > 0 && d.out > RatioFloor {
		in := d.in + int64(d.rd.consumed())
		if in < 1 {
			in = 1
		}
		if d.out/in > int64(d.opts.MaxRatio) {
			return fmt.Errorf("%w: %d bytes from %d compressed (ratio above %d)", ErrLimit, d.out, in, d.opts.MaxRatio)
		}
	}
	return nil
}

// open creates the decompressor over d.rd (it may read the header, and
// so pause for input).
func (d *Decoder) open() error {
	k := d.key()
	var src io.Reader = &d.rd
	if d.format != Zstd {
		// klauspost/compress/flate has a fast path for *bufio.Reader; its
		// read-ahead stays in src until consumed (see srcReader).
		d.rd.br = bufioPool.Get().(*bufio.Reader)
		d.rd.br.Reset(&d.rd)
		src = d.rd.br
	}
	if zr, err := getReader(k, src); zr != nil {
		d.zr = zr
		if z, ok := zr.(*zstd.Decoder); ok {
			d.zstdDec = z
		}
		return err
	}
	// Constructors that fail return a nil pointer, so d.zr is set only on
	// success (a typed nil in an interface would not compare equal to nil).
	switch d.format {
	case Deflate:
		d.zr = flate.NewReader(src)
	case Zlib:
		z, err := zlib.NewReader(src)
		if err != nil {
			return err
		}
		d.zr = z
	case Gzip:
		z, err := gzip.NewReader(src)
		if err != nil {
			return err
		}
		d.zr = z
	case Zstd:
		z, err := zstd.NewReader(src,
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(uint64(d.opts.MaxWindow)))
		if err != nil {
			return err
		}
		d.zr, d.zstdDec = z, z
	}
	return nil
}

func (d *Decoder) key() decKey {
	if d.format == Zstd {
		return decKey{Zstd, d.opts.MaxWindow}
	}
	return decKey{format: d.format}
}

// release returns the decompressor and the scratch slice to their pools
// when a stream ended, failed or was closed. A zstd decoder is reused only
// after a clean end; otherwise it is closed.
func (d *Decoder) release() {
	if d.zr != nil {
		if d.zstdDec != nil && !d.ended {
			d.zstdDec.Close()
		} else {
			putReader(d.key(), d.zr)
		}
		d.zr, d.zstdDec = nil, nil
	}
	if d.scratch != nil {
		scratchPool.Put((*[decChunk]byte)(d.scratch))
		d.scratch = nil
	}
	if d.rd.br != nil {
		// Bytes it read ahead and nobody consumed stay in src.
		if d.src != nil {
			d.rd.sync()
		}
		d.rd.handed = 0
		d.rd.br.Reset(emptyReader{})
		bufioPool.Put(d.rd.br)
		d.rd.br = nil
	}
}

// setErr classifies a decompressor error.
func (d *Decoder) setErr(err error) {
	switch {
	case errors.Is(err, ErrLimit), errors.Is(err, ErrTrailingData):
	case errors.Is(err, zstd.ErrWindowSizeExceeded), errors.Is(err, zstd.ErrDecoderSizeExceeded):
		err = fmt.Errorf("%w: %w", ErrLimit, err)
	case errors.Is(err, io.ErrUnexpectedEOF) && d.mode == bufferevent.Finished && d.rd.eof:
		err = fmt.Errorf("%w: %w", ErrTruncated, err)
	case errors.Is(err, io.EOF) && d.mode == bufferevent.Finished && d.rd.eof:
		err = fmt.Errorf("%w: %w", ErrTruncated, io.ErrUnexpectedEOF)
	default:
		err = fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	d.fail(err)
	d.release()
}

func (d *Decoder) fail(err error) filter.Result {
	if d.err == nil {
		d.err = fmt.Errorf("%w (%s decoder)", err, d.format)
	}
	return filter.Error
}

// Err returns the error that made Filter return filter.Error, or nil.
// Not safe for concurrent use.
func (d *Decoder) Err() error { return d.err }

// Stats returns the compressed bytes consumed and plain bytes produced so
// far. Not safe for concurrent use.
func (d *Decoder) Stats() (in, out int64) { return d.in, d.out }

// Ended reports whether the compressed stream ended cleanly (its trailer
// was read and checked). Not safe for concurrent use.
func (d *Decoder) Ended() bool { return d.ended }

// Close stops a stream in progress (ending its coroutine) and releases
// the decompressor; later Filter calls fail with ErrClosed. It is idempotent
// and returns nil. Not safe for concurrent use.
func (d *Decoder) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	if d.stop != nil {
		d.stop()
		d.next, d.stop = nil, nil
	}
	d.release()
	d.zr = nil
	return nil
}

// srcReader feeds the decompressor from the Decoder's src buffer. It hands
// out bytes without draining them; sync drains what the decompressor has
// actually consumed, so that bytes read ahead (by the bufio.Reader the
// DEFLATE family reads through) stay in src, where the filter backend sees
// them and calls again. When src has nothing new it pauses the coroutine
// (or reports io.EOF in Finished mode).
type srcReader struct {
	d      *Decoder
	br     *bufio.Reader // DEFLATE family: the decompressor reads through it
	handed int           // bytes at the front of src handed out, not drained
	ptr    evbuffer.Ptr
	eof    bool // io.EOF was returned (Finished with src used up)
}

// consumed returns how many bytes of src the decompressor has taken.
func (r *srcReader) consumed() int {
	if r.br == nil {
		return r.handed
	}
	return r.handed - r.br.Buffered()
}

// buffered returns how many bytes of src the decompressor has not taken.
func (r *srcReader) buffered() int { return r.d.src.Len() - r.consumed() }

// sync drains the bytes the decompressor consumed.
func (r *srcReader) sync() {
	if n := r.consumed(); n > 0 {
		_ = r.d.src.Drain(n)
		r.d.in += int64(n)
		r.handed -= n
	}
}

// Read implements io.Reader for the decompressor (or its bufio.Reader).
func (r *srcReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if r.d.closed {
			return 0, errStopped
		}
		if r.d.src.Len() > r.handed {
			break
		}
		r.sync()
		if r.d.mode == bufferevent.Finished {
			r.eof = true
			return 0, io.EOF
		}
		if !r.d.yield(pauseInput) {
			return 0, errStopped
		}
	}
	if err := r.d.src.SetPtr(&r.ptr, r.handed); err != nil {
		return 0, err
	}
	n, err := r.d.src.CopyOutFrom(&r.ptr, p)
	r.handed += n
	if n == 0 && err == nil {
		err = io.ErrNoProgress
	}
	return n, err
}
