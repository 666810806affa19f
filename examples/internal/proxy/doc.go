// Package proxy is the relay at the heart of libevent's sample/le-proxy.c, shared by the
// le-proxy and compress-tunnel examples and by the demo: two bufferevents, inbound and
// outbound, each one's input moved to the other's output by splicing chains, with the
// sample's backpressure and close rules:
//
//   - When the partner's output reaches MaxOutput, reading from this side stops, and the
//     partner gets a write watermark (MaxOutput/2, MaxOutput) and a "drained" write
//     callback that resumes reading once its output fell to MaxOutput/2.
//   - On EOF, what this side still holds goes to the partner, which is finished
//     (Flush(Write, Finished)): it sends what it holds, then shuts its write side down
//     (a socket's shutdown(SHUT_WR), after close_notify over TLS, after the trailer
//     over a compressing filter). The other direction keeps flowing, so a client that
//     sends its request and half-closes still gets the whole response. Once both
//     directions have seen EOF, each side is closed when its output drained.
//   - On an error or timeout, what this side still holds goes to the partner; the
//     partner is closed at once if it has nothing left to send, or once its output
//     drained (a write callback that closes it when empty), with its reading disabled
//     meanwhile; this side is closed at once.
//
// The sample closes both directions on the first EOF (libevent's socket flush cannot
// half-close), which breaks protocols that half-close; this relay passes the EOF on
// instead.
//
//   - With Proxy.Idle set (le-proxy's -idle), a pair that relayed nothing for that long
//     while neither side had output waiting is closed, and so is a side whose peer took
//     none of its pending output for that long (libevent's read and write timeouts,
//     reading re-armed while the pair is still active). Without it a half-closed pair
//     whose other peer neither sends nor closes would stay open for good.
//
// A side may be a compressing filter (compress-tunnel): it is then flushed (Flush mode)
// whenever its output has been handed down in full, so an interactive exchange is never
// stuck inside the compressor's window, and finished (Finished mode: the stream's
// trailer) when its partner's input ends. Server makes such a side decompress at most
// 64 KiB ahead of the relay (a read high watermark on the filter), so a decompression
// bomb costs CPU, not memory.
package proxy
