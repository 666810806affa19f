//go:build linux

package eventbase

import "golang.org/x/sys/unix"

const pollRDHUP = unix.POLLRDHUP
