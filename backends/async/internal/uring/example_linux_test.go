//go:build linux

package uring_test

import (
	"fmt"
	"time"

	"github.com/bufev/bufev/backends/async/internal/uring"
	"golang.org/x/sys/unix"
)

// A receive and a send over a socketpair, submitted in one batch and reaped with a
// callback.
func Example() {
	r, err := uring.New(8)
	if err != nil {
		fmt.Println(err) // errors.Is(err, errors.ErrUnsupported) where io_uring is unavailable
		return
	}
	defer r.Close()
	fds, _ := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])

	buf := make([]byte, 32)
	const sendOp, recvOp = 1, 2
	_ = r.PrepSend(sendOp, fds[0], []byte("hello, ring"), 0)
	_ = r.PrepRecv(recvOp, fds[1], buf, 0)
	for done := 0; done < 2; {
		if _, err := r.SubmitAndWait(1, time.Second); err != nil {
			fmt.Println(err)
			return
		}
		n, _ := r.Reap(func(ud uint64, res int32, flags uint32) {
			switch ud {
			case sendOp:
				fmt.Println("sent", res)
			case recvOp:
				fmt.Printf("received %q\n", buf[:res])
			}
		})
		done += n
	}
	// Output:
	// sent 11
	// received "hello, ring"
}

// How an event loop drives a ring: operations are queued during the turn and submitted
// once, the loop sleeps in its own epoll_wait on the ring's descriptor (readable while
// completions wait), and reaps when it wakes. It never blocks in io_uring_enter.
func Example_eventLoop() {
	r, err := uring.New(64)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	ep, _ := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	defer unix.Close(ep)
	_ = unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, r.FD(), &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(r.FD())})

	fds, _ := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	go unix.Write(fds[0], []byte("ping")) // a peer, some time later

	buf := make([]byte, 16)
	_ = r.PrepRecv(1, fds[1], buf, 0) // queued during the turn
	events := make([]unix.EpollEvent, 8)
	for done := false; !done; {
		if _, err := r.Submit(); err != nil { // once per turn, never waits
			fmt.Println(err)
			return
		}
		if _, err := unix.EpollWait(ep, events, 1000); err != nil && err != unix.EINTR {
			fmt.Println(err)
			return
		}
		_, _ = r.Reap(func(ud uint64, res int32, _ uint32) {
			fmt.Printf("op %d: %q\n", ud, buf[:max(res, 0)])
			done = true
		})
	}
	// Output:
	// op 1: "ping"
}
