// Package examples holds runnable programs built on bufev, one main package per
// directory; each has a test that runs it in-process over loopback (run(ctx, args,
// stdout, stderr) bounded in time).
//
//   - demo: `make demo` — four paths to an echo service (direct, a TLS le-proxy, a
//     zstd tunnel, a rate-limited proxy) driven by concurrent clients for about ten
//     seconds, with live progress and a table of msgs/s, MB/s, p99 latency, bytes saved
//     by compression and the rate limit held; every echoed byte is verified.
//   - echo: an echo server with watermark backpressure; -loops N (one base per core,
//     SO_REUSEPORT), -backend socket|async (io_uring), -tls.
//   - le-proxy: libevent's sample/le-proxy.c — TCP proxy, -s TLS upstream (filter or, with
//     -W, socket mode), watermark backpressure, half-close passed on, close after draining.
//   - compress-tunnel: two proxies with a zstd or DEFLATE filter between them.
//   - chat: a line chat server; each message formatted once and shared by every
//     recipient's output with AddBufferReference.
//   - https-get: an HTTPS GET over the TLS backend with certificate verification.
//   - becat: libevent's sample/becat.c — a netcat over bufferevents (connect or listen,
//     TLS, timeouts).
//   - tiny-echo: the README's short echo server.
//   - hello-world, time-test, signal-test, event-read-fifo: libevent's samples of the
//     same names.
//   - ratelimit-server: a file server under per-connection and group rate limits.
//   - buffer-tour: a guided tour of evbuffer, the chained byte buffer.
//
// internal/echoserver is the echo service shared by echo and demo; internal/proxy the
// le-proxy relay shared by le-proxy, compress-tunnel and demo; internal/certs makes
// throwaway certificates; internal/outlines collects output in tests.
package examples
