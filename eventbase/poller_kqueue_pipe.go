//go:build netbsd || openbsd

package eventbase

import (
	"os"

	"golang.org/x/sys/unix"
)

// initWake creates the wake-up pipe and watches its read end (these kernels
// have no EVFILT_USER).
func (p *kqueuePoller) initWake() error {
	r, w, err := newWakeFDs()
	if err != nil {
		return err
	}
	var k [1]unix.Kevent_t
	unix.SetKevent(&k[0], r, unix.EVFILT_READ, unix.EV_ADD)
	if _, err := unix.Kevent(p.kq, k[:], nil, nil); err != nil {
		closeWakeFDs(r, w)
		return os.NewSyscallError("kevent", err)
	}
	p.wr, p.wfd = r, w
	return nil
}

func (p *kqueuePoller) isWake(k *unix.Kevent_t) bool {
	if int(k.Ident) == p.wr && int(k.Filter) == unix.EVFILT_READ {
		wakeDrain(p.wr)
		return true
	}
	return false
}

func (p *kqueuePoller) wake() error { return wakeWrite(p.wfd) }
