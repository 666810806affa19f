// Package examples holds runnable programs built on bufev, one main package per
// directory; each has a test that runs it over loopback.
//
//   - demo: the echo server driven by a bundled client over many concurrent connections
//     for a few seconds, with live progress and a throughput and p99 latency report
//     (`make demo`).
//   - echo: an echo server (-listen ADDR) with watermark backpressure.
//   - hello-world: libevent's sample/hello-world.c — greets each client and closes.
//   - buffer-tour: a guided tour of evbuffer, the chained byte buffer.
//
// internal/echoserver is the echo service shared by echo and demo.
package examples
