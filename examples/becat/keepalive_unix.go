//go:build linux || freebsd

package main

import (
	"syscall"
	"time"
)

// setKeepAlive turns TCP keepalive on for the socket fd: the first probe
// after d without traffic, then one every d (libevent's
// evutil_set_tcp_keepalive, which becat's -K calls).
func setKeepAlive(fd int, d time.Duration) error {
	secs := keepAliveSeconds(d)
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1); err != nil {
		return err
	}
	if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, secs); err != nil {
		return err
	}
	return syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, secs)
}
