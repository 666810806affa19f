package main

import (
	"syscall"
	"time"
)

// setKeepAlive turns TCP keepalive on for the socket fd, the first probe
// after d without traffic (macOS sets the idle time only, as libevent's
// evutil_set_tcp_keepalive does there).
func setKeepAlive(fd int, d time.Duration) error {
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1); err != nil {
		return err
	}
	return syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_KEEPALIVE, keepAliveSeconds(d))
}
