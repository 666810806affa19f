//go:build linux

package uring

import (
	"errors"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestRecvPollFirst: a receive prepared with PrepRecvPollFirst on an empty socket stays
// in flight and completes with the data once it arrives.
func TestRecvPollFirst(t *testing.T) {
	if !OpSupported(OpSocket) {
		t.Skip("kernel before 5.19")
	}
	r := newRing(t, 4)
	x, y := socketpair(t)
	buf := make([]byte, 16)
	if err := r.PrepRecvPollFirst(1, x, buf, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	if n, _ := r.Reap(nil); n != 0 || r.InFlight() != 1 {
		t.Fatalf("reaped %d, in flight %d; want the receive waiting", n, r.InFlight())
	}
	unix.Write(y, []byte("hello"))
	var res int32
	if _, err := r.SubmitAndWait(1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	r.Reap(func(_ uint64, rr int32, _ uint32) { res = rr })
	if res != 5 || string(buf[:5]) != "hello" {
		t.Fatalf("res %d buf %q", res, buf[:max(res, 0)])
	}
}

// TestSingleIssuerRing: a WithSingleIssuer ring (deferred task work) used from one locked
// thread announces completions through a registered eventfd; RunTaskWork makes them
// visible to Reap. A submission from another thread fails with EEXIST.
func TestSingleIssuerRing(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, err := New(4, WithSingleIssuer())
	if err != nil {
		if errors.Is(err, unix.EINVAL) {
			t.Skipf("kernel without DEFER_TASKRUN: %v", err)
		}
		t.Fatal(err)
	}
	defer r.Close()
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(efd)
	if err := r.RegisterEventFD(efd); err != nil {
		t.Fatal(err)
	}
	x, y := socketpair(t)
	buf := make([]byte, 16)
	if err := r.PrepRecv(1, x, buf, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	unix.Write(y, []byte("deferred"))
	// The eventfd becomes readable once the kernel has work for us.
	pfd := []unix.PollFd{{Fd: int32(efd), Events: unix.POLLIN}}
	if n, err := unix.Poll(pfd, 5000); n != 1 || err != nil {
		t.Fatalf("eventfd not signalled: %d %v", n, err)
	}
	var res int32 = -1
	deadline := time.Now().Add(5 * time.Second)
	for res < 0 && time.Now().Before(deadline) {
		if err := r.RunTaskWork(); err != nil {
			t.Fatal(err)
		}
		r.Reap(func(_ uint64, rr int32, _ uint32) { res = rr })
	}
	if res != 8 || string(buf[:8]) != "deferred" {
		t.Fatalf("res %d buf %q", res, buf[:max(res, 0)])
	}
	// Another thread may not submit.
	if err := r.PrepNop(2); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		_, err := r.Submit()
		errc <- err
	}()
	if err := <-errc; !errors.Is(err, unix.EEXIST) {
		t.Fatalf("Submit from another thread = %v; want EEXIST", err)
	}
}

// TestCoopTaskrun: a ring made WithCoopTaskrun (or without the flag on kernels before
// 5.19) completes a receive armed before its data arrives, woken from a wait.
func TestCoopTaskrun(t *testing.T) {
	r := newRing(t, 4, WithCoopTaskrun())
	x, y := socketpair(t)
	buf := make([]byte, 8)
	if err := r.PrepRecv(1, x, buf, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		unix.Write(y, []byte("coop"))
	}()
	got := collect(t, r, 1)
	if got[1].res != 4 || string(buf[:4]) != "coop" {
		t.Fatalf("got %v, buf %q", got, buf)
	}
}
