// Command compress-tunnel is a compressing TCP tunnel: two proxies with a zstd or
// DEFLATE stream between them. The client end accepts plain connections and
// compresses toward the server end; the server end decompresses and connects to the
// real destination. Replies travel back compressed the same way.
//
//	go run ./compress-tunnel -mode server -listen 127.0.0.1:7001 -connect 127.0.0.1:9000 -codec zstd
//	go run ./compress-tunnel -mode client -listen 127.0.0.1:7000 -connect 127.0.0.1:7001 -codec zstd
//	# now 127.0.0.1:7000 reaches 127.0.0.1:9000 through a compressed link
//
// Each compressed side is a filter bufferevent (backends/filter) running a
// filters/compress Codec over a socket bufferevent; the relay between the two sides is
// libevent's le-proxy (internal/proxy) with its watermark backpressure. After every
// relayed chunk the compressor is flushed (a sync flush, or a zstd block end) once its
// output has gone down to the socket, so interactive protocols are never left waiting
// in the compressor's window; bulk transfers still compress well because whole
// chunks are flushed, not single messages. When a side's input ends, the stream's
// trailer is written and the socket's write side shut down, so a half-close passes
// through the tunnel (the other direction keeps flowing until it ends too).
//
// -idle closes a connection that relayed nothing for that long (default 10 minutes, as
// nginx's proxy_timeout; 0 never closes one): without it a half-closed connection whose
// other end neither sends nor closes would stay open for good.
//
// On exit it prints the bytes on each side of the compression and the ratio.
package main
