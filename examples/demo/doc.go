// Command demo shows what bufev does in about ten seconds: it starts four paths to an
// echo service, drives each with concurrent clients that verify every echoed byte,
// prints a progress line per second and ends with a table.
//
//	make demo
//	cd examples && go run ./demo -conns 50 -duration 20s
//
// The paths, all over loopback, every hop a bufferevent:
//
//	direct        client → echo server
//	tls-proxy     client → le-proxy -s → TLS echo server (certificate verified against a CA made at start)
//	zstd-tunnel   client → compress-tunnel client → (zstd) → compress-tunnel server → echo server
//	rate-limited  client → proxy whose clients share a rate-limit group → echo server
//
// The echo servers run on one event loop, the proxies and tunnel ends on a second, the
// clients on a third: three goroutines in all, whatever the number of connections.
// The table gives, per path, messages per second, payload MB/s (each way), the 99th
// percentile round-trip latency, the bytes compression saved, and the rate limit
// configured against the rate measured. The demo exits non-zero if any echoed byte
// differed, any connection failed, or a path echoed nothing.
package main
