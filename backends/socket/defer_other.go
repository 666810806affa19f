//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package socket

import (
	"fmt"
	"runtime"
)

// setDeferAccept fails: these systems have no TCP_DEFER_ACCEPT (FreeBSD's accept filters
// need a kernel module and are not used here).
func setDeferAccept(int) error {
	return fmt.Errorf("socket: deferred accept on %s: %w", runtime.GOOS, ErrUnsupported)
}
