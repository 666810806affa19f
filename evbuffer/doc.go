// Package evbuffer is a chained byte buffer: libevent's evbuffer in Go.
//
// A Buffer holds its bytes in a list of chains. Draining advances an offset
// in the first chain (no memmove), prepending uses the free space before
// the first chain's data, and appending fills the last chain and then links
// a new one. Moving bytes between buffers (AddBuffer, PrependBuffer,
// RemoveBuffer) relinks chains instead of copying them.
//
// Not safe for concurrent use: a Buffer belongs to one goroutine at a time.
package evbuffer
