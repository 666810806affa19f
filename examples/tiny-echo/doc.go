// Command tiny-echo is the short echo server of the README, kept here so that it
// compiles and its test runs. examples/echo is the complete version (watermark
// backpressure on both sides, several loops, io_uring, TLS).
package main
