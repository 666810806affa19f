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
