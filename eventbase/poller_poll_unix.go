//go:build unix

package eventbase

import (
	"os"

	"golang.org/x/sys/unix"
)

// pollPoller uses poll(2): O(n) per wait but accepts any fd. Slot 0 of the
// pollfd array is the wake-up fd; fdInfo.idx holds each fd's slot so
// add/delete are O(1) (delete swaps the last slot in).
type pollPoller struct {
	closeGuard
	pfds  []unix.PollFd
	infos []*fdInfo // parallel to pfds (nil for slot 0)
	wr    int
	wfd   int
}

func newPoll() (poller, error) {
	r, w, err := newWakeFDs()
	if err != nil {
		return nil, err
	}
	p := &pollPoller{wr: r, wfd: w}
	p.pfds = append(p.pfds, unix.PollFd{Fd: int32(r), Events: unix.POLLIN})
	p.infos = append(p.infos, nil)
	return p, nil
}

// setPollMask sets pfd's requested events from w (the field is int16 or
// uint16 depending on the system, so only untyped constants touch it).
func setPollMask(pfd *unix.PollFd, w What) {
	pfd.Events = 0
	if w&Read != 0 {
		pfd.Events |= unix.POLLIN
	}
	if w&Write != 0 {
		pfd.Events |= unix.POLLOUT
	}
	if w&Closed != 0 {
		pfd.Events |= pollRDHUP
	}
}

func (p *pollPoller) ctl(fd int, old, nw What, fi *fdInfo) error {
	if nw&whatIO == 0 {
		i := int(fi.idx)
		if i <= 0 || i >= len(p.pfds) {
			return nil
		}
		last := len(p.pfds) - 1
		if i != last {
			p.pfds[i] = p.pfds[last]
			p.infos[i] = p.infos[last]
			p.infos[i].idx = int32(i)
		}
		p.pfds = p.pfds[:last]
		p.infos[last] = nil
		p.infos = p.infos[:last]
		fi.idx = -1
		return nil
	}
	if fi.idx <= 0 {
		// poll(2) reports bad fds only as POLLNVAL; check up front so Add
		// fails cleanly as it does with epoll.
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			return os.NewSyscallError("fcntl", err)
		}
		fi.idx = int32(len(p.pfds))
		p.pfds = append(p.pfds, unix.PollFd{Fd: int32(fd)})
		p.infos = append(p.infos, fi)
	}
	setPollMask(&p.pfds[fi.idx], nw)
	return nil
}

func (p *pollPoller) wait(b *Base, timeout int64) error {
	n, err := unix.Poll(p.pfds, msTimeout(timeout))
	if err != nil {
		if err == unix.EINTR {
			return nil
		}
		return &OpError{Op: "wait", Method: "poll", FD: -1, Err: os.NewSyscallError("poll", err)}
	}
	if n <= 0 {
		return nil
	}
	if p.pfds[0].Revents != 0 {
		p.pfds[0].Revents = 0
		wakeDrain(p.wr)
		n--
	}
	// Callbacks do not run here (ioReady only queues), so the array is
	// stable during the scan.
	for i := 1; i < len(p.pfds) && n > 0; i++ {
		re := p.pfds[i].Revents
		if re == 0 {
			continue
		}
		n--
		p.pfds[i].Revents = 0
		if re&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
			re |= unix.POLLIN | unix.POLLOUT | pollRDHUP
		}
		var res What
		if re&unix.POLLIN != 0 {
			res |= Read
		}
		if re&unix.POLLOUT != 0 {
			res |= Write
		}
		if re&pollRDHUP != 0 {
			res |= Closed
		}
		b.ioReady(int(p.pfds[i].Fd), res)
	}
	return nil
}

func (p *pollPoller) wake() error { return wakeWrite(p.wfd) }

func (p *pollPoller) close() error {
	if !p.first() {
		return nil
	}
	return wrapSys("close", closeWakeFDs(p.wr, p.wfd))
}
