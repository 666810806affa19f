//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package eventbase

import (
	"os"

	"golang.org/x/sys/unix"
)

func platformPollers() []pollerInfo {
	return []pollerInfo{
		{"kqueue", FeatureET | FeatureO1 | FeatureFDs, newKqueue},
		{"poll", FeatureFDs, newPoll},
	}
}

const maxKqueueEvents = 4096

// kqueuePoller uses kqueue(2): one EVFILT_READ and one EVFILT_WRITE filter
// per fd, EV_CLEAR for ET. Changes are applied immediately so that Add
// reports errors synchronously. The loop is woken with EVFILT_USER where the
// kernel has it (kqueueUserWake) and with a pipe otherwise.
type kqueuePoller struct {
	closeGuard
	kq      int
	wr, wfd int // wake-up pipe, -1 when EVFILT_USER is used
	changes [2]unix.Kevent_t
	events  []unix.Kevent_t
	ts      unix.Timespec
}

func newKqueue() (poller, error) {
	kq, err := unix.Kqueue()
	if err != nil {
		return nil, os.NewSyscallError("kqueue", err)
	}
	unix.CloseOnExec(kq)
	p := &kqueuePoller{kq: kq, wr: -1, wfd: -1, events: make([]unix.Kevent_t, 64)}
	if err := p.initWake(); err != nil {
		unix.Close(kq)
		return nil, err
	}
	return p, nil
}

func (p *kqueuePoller) apply(n int) error {
	for {
		_, err := unix.Kevent(p.kq, p.changes[:n], nil, nil)
		if err != unix.EINTR {
			return err
		}
	}
}

func (p *kqueuePoller) ctl(fd int, old, nw What, _ *fdInfo) error {
	flags := unix.EV_ADD
	if nw&ET != 0 {
		flags |= unix.EV_CLEAR
	}
	etChanged := (old^nw)&ET != 0 && nw&whatIO != 0
	n := 0
	var dels [2]int
	nd := 0
	for _, f := range [...]struct {
		bit    What
		filter int
	}{{Read, unix.EVFILT_READ}, {Write, unix.EVFILT_WRITE}} {
		switch {
		case nw&f.bit != 0 && (old&f.bit == 0 || etChanged):
			unix.SetKevent(&p.changes[n], fd, f.filter, flags)
			n++
		case nw&f.bit == 0 && old&f.bit != 0:
			dels[nd] = f.filter
			nd++
		}
	}
	if n > 0 {
		if err := p.apply(n); err != nil {
			return os.NewSyscallError("kevent", err)
		}
	}
	// Deletions one at a time: a closed fd makes kevent fail with EBADF or
	// ENOENT, which only means the kernel already dropped the filter.
	for i := 0; i < nd; i++ {
		unix.SetKevent(&p.changes[0], fd, dels[i], unix.EV_DELETE)
		if err := p.apply(1); err != nil && err != unix.EBADF && err != unix.ENOENT {
			return os.NewSyscallError("kevent", err)
		}
	}
	return nil
}

func (p *kqueuePoller) wait(b *Base, timeout int64) error {
	var ts *unix.Timespec
	if timeout >= 0 {
		p.ts = unix.NsecToTimespec(timeout)
		ts = &p.ts
	}
	n, err := unix.Kevent(p.kq, nil, p.events, ts)
	if err != nil {
		if err == unix.EINTR {
			return nil
		}
		return &OpError{Op: "wait", Method: "kqueue", FD: p.kq, Err: os.NewSyscallError("kevent", err)}
	}
	for i := 0; i < n; i++ {
		k := &p.events[i]
		fd := int(k.Ident)
		if p.isWake(k) {
			continue
		}
		if k.Flags&unix.EV_ERROR != 0 {
			// A filter failed (e.g. the fd was closed): report it to both
			// directions so callbacks see the error on their next syscall.
			b.ioReady(fd, Read|Write)
			continue
		}
		switch int(k.Filter) {
		case unix.EVFILT_READ:
			b.ioReady(fd, Read)
		case unix.EVFILT_WRITE:
			b.ioReady(fd, Write)
		}
	}
	if n == len(p.events) && n < maxKqueueEvents {
		p.events = make([]unix.Kevent_t, 2*n)
	}
	return nil
}

func (p *kqueuePoller) close() error {
	if !p.first() {
		return nil
	}
	err := unix.Close(p.kq)
	if p.wr >= 0 {
		if err2 := closeWakeFDs(p.wr, p.wfd); err == nil {
			err = err2
		}
	}
	return wrapSys("close", err)
}
