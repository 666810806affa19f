package compress

import (
	"bufio"
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Codec state is large (about 1 MiB for a DEFLATE compressor, more for
// zstd) and a server with many short connections would allocate and zero
// it for each one. Compressors and decompressors are therefore recycled
// through sync.Pools, keyed by what cannot change on Reset (format,
// level, window). A state goes back to its pool when its stream ends
// (Finished, end of the compressed stream) or on Close, reset first so the
// pool holds no reference to the connection's buffers.

type encKey struct {
	format Format
	level  int
	window int
}

type decKey struct {
	format Format
	window int // zstd MaxWindow; 0 for the others
}

var (
	encPools    sync.Map // encKey -> *sync.Pool of streamWriter
	decPools    sync.Map // decKey -> *sync.Pool of io.Reader (decompressors)
	scratchPool = sync.Pool{New: func() any { return new([decChunk]byte) }}
	bufioPool   = sync.Pool{New: func() any { return bufio.NewReaderSize(emptyReader{}, 4096) }}
)

func poolFor(m *sync.Map, k any) *sync.Pool {
	if p, ok := m.Load(k); ok {
		return p.(*sync.Pool)
	}
	p, _ := m.LoadOrStore(k, new(sync.Pool))
	return p.(*sync.Pool)
}

// getWriter returns a pooled compressor reset to write to w, or nil.
func getWriter(k encKey, w io.Writer) streamWriter {
	sw, _ := poolFor(&encPools, k).Get().(streamWriter)
	if sw != nil {
		sw.Reset(w)
	}
	return sw
}

// putWriter resets sw and returns it to its pool.
func putWriter(k encKey, sw streamWriter) {
	sw.Reset(io.Discard)
	poolFor(&encPools, k).Put(sw)
}

// emptyReader is what a pooled decompressor reads from: nothing.
type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, io.EOF }
func (emptyReader) ReadByte() (byte, error)  { return 0, io.EOF }

// getReader returns a pooled decompressor of the key's format reset to
// read from r (which may read a header from r, and fail), or nil.
func getReader(k decKey, r io.Reader) (io.Reader, error) {
	zr, _ := poolFor(&decPools, k).Get().(io.Reader)
	if zr == nil {
		return nil, nil
	}
	var err error
	switch z := zr.(type) {
	case *gzip.Reader:
		err = z.Reset(r)
	case *zstd.Decoder:
		err = z.Reset(r)
	case flate.Resetter: // also zlib.Resetter, which has the same method
		err = z.Reset(r, nil)
	}
	return zr, err
}

// putReader drops zr's reference to its input and returns it to its pool.
func putReader(k decKey, zr io.Reader) {
	switch z := zr.(type) {
	case *gzip.Reader:
		_ = z.Reset(emptyReader{})
	case *zstd.Decoder:
		_ = z.Reset(nil)
	case flate.Resetter: // also zlib.Resetter
		_ = z.Reset(emptyReader{}, nil)
	}
	poolFor(&decPools, k).Put(zr)
}
