// Package async provides completion-based bufferevents (io_uring on Linux, IOCP on Windows).
package async
