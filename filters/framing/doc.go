// Package framing holds message-framing filters for the filter backend
// (github.com/bufev/bufev/backends/filter): length-prefixed frames and
// lines.
//
// A LengthPrefix frames messages with a 1, 2, 4 or 8-byte big-endian
// length, or a uvarint length, and a maximum payload size. Lines frames a
// stream by one of evbuffer's end-of-line styles with a maximum line
// length. Both give a filter bufferevent whose input buffer holds only
// whole, checked messages:
//
//	lp, _ := framing.NewLengthPrefix(framing.Uint32, 1<<20)
//	bev, _ := filter.New(socketBev, lp.In, lp.Out, opts)
//	var buf []byte
//	bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
//		for {
//			msg, err := lp.ReadFrame(bev.Input(), buf)
//			if err != nil {
//				return // ErrIncomplete: no frame left
//			}
//			handle(msg) // msg is valid until the next ReadFrame
//			buf = msg
//		}
//	}, nil, onEvent)
//	bev.Write(reply)
//	bev.Flush(bufferevent.Write, bufferevent.Flush) // one frame per flush
//
// # Messages
//
// Input: the input filter checks each header (or line length) as soon as
// it arrives, so an oversized frame or line fails the connection before
// its bytes are buffered (filter.Error; Err wraps ErrFrameTooLarge,
// ErrBadHeader or ErrLineTooLong). Whole frames are moved, header included,
// by splicing chains (only a chain cut by a frame boundary is copied); a
// partial one waits inside the filter, taken out of the
// underlying bufferevent so that its watermarks cannot stall a frame
// larger than them. Read frames with ReadFrame (copy into a reused slice,
// no allocation), ReadFrameBuffer (move the payload to another buffer
// without copying) or PeekFrame (a view, then Drain); read lines with
// evbuffer's ReadLine or ReadLineSlice. Finished in the middle of a frame
// or line is ErrTruncated.
//
// Output: for LengthPrefix a message is what was written between two
// flushes — bev.Flush(bufferevent.Write, bufferevent.Flush) turns all of it
// into one frame, so frame boundaries are the ones the program chose and
// never depend on when the socket was writable. To frame each write
// instead, use a nil (pass-through) output filter and WriteFrame. For
// Lines, complete lines pass through as written and a flush ends a
// trailing partial line with the style's marker.
//
// # Limits
//
// While its source holds more, a call stops before the frame or line that
// would take the destination past limit, but always moves at least one, so
// a frame larger than a watermark still passes (the maximum bounds it).
// The filters allocate nothing per message in steady state (see the
// benchmarks). Everything works without an event loop on plain evbuffer
// Buffers, as the examples show.
package framing
