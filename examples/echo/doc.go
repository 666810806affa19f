// Command echo is an echo server on bufev: every connection gets back what it sends,
// through bufferevents on event loops, with watermark backpressure (reading from a
// client pauses while 1 MiB of echo is queued for it, and its input never holds more
// than 64 KiB).
//
//	go run ./echo -listen 127.0.0.1:9000
//	go run ./echo -listen 127.0.0.1:9000 -loops 2               # one loop per core
//	go run ./echo -listen 127.0.0.1:9000 -backend async         # io_uring completions
//	go run ./echo -listen 127.0.0.1:9443 -tls                   # TLS, self-signed
//
// # Multi-core serving
//
// A Base is run by one goroutine, and everything attached to it is loop-confined, so a
// bufev server scales across cores the way libevent and gnet servers do: one loop per
// core, each with its own listener on the same port. With -loops N the server runs N
// bases on N goroutines; each binds the port with SO_REUSEPORT
// (socket.ListenReusePort) and the kernel spreads new connections among them. A
// connection stays on the loop that accepted it for its whole life; nothing is shared
// between loops and nothing is locked.
//
// -backend async serves connections with completion-based bufferevents (io_uring, package
// backends/async); where io_uring is unavailable the server says why and falls back to
// the socket backend. -tls serves TLS 1.3/1.2 (package backends/ssl) with a self-signed
// certificate generated at start (for localhost, 127.0.0.1 and ::1): clients must skip
// verification or pin it.
//
// It prints the address it is bound to (useful with port 0) and runs until interrupted
// (SIGINT or SIGTERM), then closes every connection and exits cleanly.
package main
