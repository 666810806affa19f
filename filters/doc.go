// Package filters is the home of bufev's ready-made filters for the filter
// backend (github.com/bufev/bufev/backends/filter). This package holds no
// code; the filters live in subpackages, one per kind of transformation:
//
//   - compress: DEFLATE, zlib, gzip and zstd stream compression (a Codec
//     with an output filter that compresses and an input filter that
//     decompresses, with sync flush, trailers and decompression-bomb
//     limits).
//   - framing: message framing: length-prefixed frames (1/2/4/8-byte
//     big-endian or uvarint lengths) and lines (the evbuffer end-of-line
//     styles), with maximum sizes.
//
// They are separate packages because users pick one or the other and
// compress brings a third-party dependency (github.com/klauspost/compress,
// see the compress package for why) that a user of framing should not
// have to build.
//
// Every filter has the filter.Func signature
//
//	func(src, dst *evbuffer.Buffer, limit int, mode bufferevent.FlushMode) filter.Result
//
// and is stacked on a bufferevent with filter.New(underlying, in, out,
// opts); filters stack on filters, so framed compressed messages are
//
//	z, _ := compress.NewZstd(compress.DefaultLevel)
//	zb, _ := filter.New(socketBev, z.In, z.Out, opts)
//	lp, _ := framing.NewLengthPrefix(framing.Uint32, 1<<20)
//	bev, _ := filter.New(zb, lp.In, lp.Out, opts)
//
// (the outer filter sees the plain bytes: frames are built, then
// compressed). Each filter is also usable without an event loop: call it
// with two plain evbuffer.Buffers.
//
// Conventions shared by all filters: a call consumes what it used from src
// and appends to dst; while src still holds input it appends at most about
// limit bytes (the room left below dst's high watermark) and returns
// filter.OK so the backend calls again; it never leaves output inside
// itself once src is used up (the backend calls a filter only when src
// holds bytes); filter.NeedMore means no progress was possible;
// filter.Error comes with an error the caller reads from the filter's Err
// method, wrapping a sentinel of the subpackage (errors.Is works).
package filters
