// Package bufferevent is the buffered connection type of bufev: libevent's
// bufferevent in Go. A BufferEvent couples an input and an output
// evbuffer.Buffer with an I/O backend and runs user callbacks on its base's
// loop goroutine:
//
//   - the read callback when data arrived (at least the read low watermark);
//   - the write callback when output drained (to the write low watermark);
//   - the event callback on EOF, errors, timeouts and connection, with a Go
//     error: errors.Is(err, io.EOF), os.ErrDeadlineExceeded for timeouts.
//
// See the package documentation sections below and the package backend
// documentation for writing a new type.
package bufferevent
