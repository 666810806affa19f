//go:build unix && !linux && !darwin && !freebsd && !openbsd && !netbsd && !dragonfly

package evbuffer

// fionread is unknown here: ReadFromFD reads MaxRead bytes at most.
const fionread = 0
