//go:build linux || freebsd || darwin

package main

import "time"

// keepAliveSeconds rounds d up to whole seconds, at least 1 (the unit of the
// socket options).
func keepAliveSeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}
