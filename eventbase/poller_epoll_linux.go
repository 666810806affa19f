//go:build linux

package eventbase

import (
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

func platformPollers() []pollerInfo {
	return []pollerInfo{
		{"epoll", FeatureET | FeatureO1 | FeatureEarlyClose, newEpoll},
		{"poll", FeatureFDs | FeatureEarlyClose, newPoll},
	}
}

const maxEpollEvents = 4096

// epollPoller is the Linux poller: level-triggered by default, EPOLLET for
// ET events, EPOLLRDHUP for Closed; an eventfd wakes it.
type epollPoller struct {
	closeGuard
	epfd   int
	wakefd int
	events []unix.EpollEvent
}

func newEpoll() (poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	wfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wfd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wfd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(wfd)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	return &epollPoller{epfd: epfd, wakefd: wfd, events: make([]unix.EpollEvent, 64)}, nil
}

func epollMask(w What) uint32 {
	var m uint32
	if w&Read != 0 {
		m |= unix.EPOLLIN
	}
	if w&Write != 0 {
		m |= unix.EPOLLOUT
	}
	if w&Closed != 0 {
		m |= unix.EPOLLRDHUP
	}
	if w&ET != 0 {
		m |= unix.EPOLLET
	}
	return m
}

// epollCtl is epoll_ctl(2) as a raw system call: it never blocks, so the
// scheduler need not be told (this saves the entersyscall/exitsyscall pair).
func epollCtl(epfd, op, fd int, ev *unix.EpollEvent) error {
	_, _, e := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func (p *epollPoller) ctl(fd int, old, nw What, _ *fdInfo) error {
	ev := unix.EpollEvent{Events: epollMask(nw), Fd: int32(fd)}
	switch {
	case nw&whatIO == 0:
		err := epollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, &ev)
		if err == unix.ENOENT || err == unix.EBADF || err == unix.EPERM {
			return nil // closed fd: the kernel already forgot it
		}
		return wrapSys("epoll_ctl", err)
	case old&whatIO == 0:
		err := epollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev)
		if err == unix.EEXIST { // a dup'ed or re-opened fd
			err = epollCtl(p.epfd, unix.EPOLL_CTL_MOD, fd, &ev)
		}
		return wrapSys("epoll_ctl", err)
	default:
		err := epollCtl(p.epfd, unix.EPOLL_CTL_MOD, fd, &ev)
		if err == unix.ENOENT { // closed and re-opened under the same number
			err = epollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev)
		}
		return wrapSys("epoll_ctl", err)
	}
}

func (p *epollPoller) wait(b *Base, timeout int64) error {
	var n int
	var err error
	ms := msTimeout(timeout)
	ptr := unsafe.Pointer(&p.events[0])
	if ms == 0 {
		r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(p.epfd), uintptr(ptr), uintptr(len(p.events)), 0, 0, 0)
		n = int(r)
		if e != 0 {
			err = e
		}
	} else {
		if runtime.GOMAXPROCS(0) == 1 {
			// With one P, sysmon takes it from a thread blocked in a system
			// call for more than 20 µs and, nobody else polling the network,
			// starts another thread to do so; the loop's thread then waits
			// for the P on its return, and on one CPU the program settles
			// into a context switch every few messages. Passing through the
			// scheduler first (as gnet's loop does) keeps it out of that
			// (bench/doc.go has the measurements). With more Ps sysmon
			// leaves the P alone, and a yield would let another thread take
			// the loop goroutine over. Here, not in Base.Loop before any
			// blocking wait: before a Waiter's (the async ring's
			// io_uring_enter) the same yield cost the async server 25% more
			// CPU per message, one connection pinned to one CPU (8.07 ->
			// 10.05 µs, 8 interleaved rounds, p=0.000; voluntary context
			// switches per message 0.60 -> 1.13), where the socket server
			// was unchanged (7.62 -> 7.59 µs).
			runtime.Gosched()
		}
		r, _, e := unix.Syscall6(unix.SYS_EPOLL_PWAIT, uintptr(p.epfd), uintptr(ptr), uintptr(len(p.events)), uintptr(ms), 0, 0)
		n = int(r)
		if e != 0 {
			err = e
		}
	}
	if err != nil {
		if err == unix.EINTR {
			return nil
		}
		return &OpError{Op: "wait", Method: "epoll", FD: p.epfd, Err: os.NewSyscallError("epoll_pwait", err)}
	}
	for i := 0; i < n; i++ {
		e := &p.events[i]
		fd := int(e.Fd)
		if i+1 < n {
			// Ask for the next ready fd's event while this one runs: with
			// thousands of connections its first line is a likely miss.
			b.prefetchFD(int(p.events[i+1].Fd))
		}
		if fd == p.wakefd {
			var buf [8]byte
			_, _ = unix.Read(p.wakefd, buf[:])
			continue
		}
		what := e.Events
		var res What
		switch {
		case what&unix.EPOLLERR != 0, what&unix.EPOLLHUP != 0 && what&unix.EPOLLRDHUP == 0:
			// Error or full hang-up: wake every kind of interest, Closed
			// included (libevent leaves a Closed-only event asleep, and
			// level-triggered epoll then spins).
			res = Read | Write | Closed
		default:
			if what&unix.EPOLLIN != 0 {
				res |= Read
			}
			if what&unix.EPOLLOUT != 0 {
				res |= Write
			}
			if what&unix.EPOLLRDHUP != 0 {
				res |= Closed
			}
		}
		b.ioReady(fd, res)
	}
	if n == len(p.events) && n < maxEpollEvents {
		p.events = make([]unix.EpollEvent, 2*n)
	}
	return nil
}

func (p *epollPoller) pollerFD() int { return p.epfd }

func (p *epollPoller) wake() error {
	var one = [8]byte{1}
	_, err := unix.Write(p.wakefd, one[:])
	if err == unix.EAGAIN {
		return nil
	}
	return err
}

func (p *epollPoller) close() error {
	if !p.first() {
		return nil
	}
	err1 := unix.Close(p.epfd)
	err2 := unix.Close(p.wakefd)
	if err1 != nil {
		return os.NewSyscallError("close", err1)
	}
	return wrapSys("close", err2)
}
