package filter

import (
	"errors"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
	"golang.org/x/text/transform"
)

// maxTransformDst bounds the contiguous destination space FromTransformer
// offers a transformer that keeps answering ErrShortDst without progress.
const maxTransformDst = 1 << 24

// FromTransformer returns a Func that runs t (any golang.org/x/text
// transform.Transformer: charset encoders and decoders from
// x/text/encoding, Unicode normalisation from x/text/unicode/norm, case
// mapping, width folding, transform.Chain of them) over the stream.
//
// The Func hands t the source buffer one chain at a time, without copying;
// when t answers transform.ErrShortSrc without progress (a multi-byte
// sequence cut at a chain boundary) it makes a longer prefix contiguous
// (Pullup) and retries, and when the source holds nothing more it returns
// NeedMore and keeps the incomplete tail for the next call. It gives t space
// reserved directly in the destination buffer (Reserve/Commit), growing it
// on transform.ErrShortDst. In Finished mode it calls t with atEOF true (at
// least once, even with nothing buffered, so t can flush what it holds),
// then resets t for a new stream; in Normal mode it stops once it has
// produced limit bytes, and in Finished mode too while the source holds
// more (the filter's Finished calls at EOF keep to the read watermark; a
// Flush passes NoLimit). Any other error from t makes the Func return Error.
//
// The returned Func keeps t's state: use one per filter direction. It is not
// safe for concurrent use (the filter calls it on the loop).
func FromTransformer(t transform.Transformer) Func {
	var vec [1][]byte
	return func(src, dst *evbuffer.Buffer, limit int, mode bufferevent.FlushMode) Result {
		atEOF := mode == bufferevent.Finished
		produced, consumed := 0, 0
		need := 0    // contiguous source bytes wanted after ErrShortSrc
		dstSize := 0 // destination space wanted after ErrShortDst
		for {
			// Stop near limit: in Normal mode, and in Finished mode while src
			// holds more (the filter's Finished pass at EOF passes the room
			// left; the last call, which passes atEOF, takes what is left).
			if produced >= limit && (mode == bufferevent.Normal || src.Len() > 0) {
				return OK
			}
			var in []byte
			if src.Len() > 0 {
				if need > 0 {
					p, err := src.Pullup(min(need, src.Len()))
					if err != nil {
						return Error
					}
					in = p
				} else if src.Peek(1, nil, vec[:]) > 0 {
					in = vec[0]
				}
			}
			last := len(in) == src.Len()
			size := max(dstSize, len(in)+len(in)/2, 512)
			if _, err := dst.Reserve(size, vec[:]); err != nil {
				return Error
			}
			out := vec[0]
			nDst, nSrc, err := t.Transform(out, in, atEOF && last)
			vec[0] = out[:nDst]
			if cerr := dst.Commit(vec[:]); cerr != nil {
				return Error
			}
			if nSrc > 0 {
				if derr := src.Drain(nSrc); derr != nil {
					return Error
				}
			}
			produced += nDst
			consumed += nSrc
			progress := nDst > 0 || nSrc > 0
			switch {
			case err == nil:
				need, dstSize = 0, 0
				if nSrc == len(in) && last {
					if atEOF {
						t.Reset()
					}
					if produced > 0 || consumed > 0 || atEOF {
						return OK
					}
					return NeedMore
				}
				if !progress {
					// A transformer that neither consumes nor produces without
					// saying why (it breaks transform's contract) would be
					// called again with the same input for ever.
					return Error
				}
			case errors.Is(err, transform.ErrShortDst):
				need = 0
				if !progress {
					if len(out) >= maxTransformDst {
						return Error
					}
					dstSize = 2 * len(out)
				}
			case errors.Is(err, transform.ErrShortSrc):
				dstSize = 0
				if progress {
					need = 0
					continue
				}
				if !last {
					need = max(2*len(in), len(in)+64)
					continue
				}
				if atEOF {
					return Error // t wants more input after the end
				}
				if produced > 0 || consumed > 0 {
					return OK
				}
				return NeedMore
			default:
				return Error
			}
		}
	}
}
