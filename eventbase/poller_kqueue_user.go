//go:build darwin || dragonfly || freebsd

package eventbase

import (
	"os"

	"golang.org/x/sys/unix"
)

// initWake registers the EVFILT_USER event used to wake the loop.
func (p *kqueuePoller) initWake() error {
	var k [1]unix.Kevent_t
	unix.SetKevent(&k[0], 0, unix.EVFILT_USER, unix.EV_ADD|unix.EV_CLEAR)
	if _, err := unix.Kevent(p.kq, k[:], nil, nil); err != nil {
		return os.NewSyscallError("kevent", err)
	}
	return nil
}

func (p *kqueuePoller) isWake(k *unix.Kevent_t) bool {
	return int(k.Filter) == unix.EVFILT_USER
}

// wake triggers the EVFILT_USER event. Safe for concurrent use (it uses its
// own change array).
func (p *kqueuePoller) wake() error {
	var k [1]unix.Kevent_t
	unix.SetKevent(&k[0], 0, unix.EVFILT_USER, 0)
	k[0].Fflags = unix.NOTE_TRIGGER
	for {
		_, err := unix.Kevent(p.kq, k[:], nil, nil)
		if err != unix.EINTR {
			return err
		}
	}
}
