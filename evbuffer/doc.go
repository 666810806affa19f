// Package evbuffer is a chained byte buffer: libevent's evbuffer in Go.
package evbuffer
