//go:build darwin || freebsd || openbsd || netbsd || dragonfly

package evbuffer

// fionread is FIONREAD, _IOR('f', 127, int), on the BSD family.
const fionread = 0x4004667f
