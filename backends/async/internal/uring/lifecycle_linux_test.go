//go:build linux

package uring

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
	"weak"

	"golang.org/x/sys/unix"
)

// seccompEnv names the errno the child process of TestSeccompBlocked makes io_uring_setup
// fail with.
const seccompEnv = "BUFEV_URING_SECCOMP_ERRNO"

func TestMain(m *testing.M) {
	if v := os.Getenv(seccompEnv); v != "" {
		os.Exit(seccompChild(v))
	}
	os.Exit(m.Run())
}

// seccompChild installs a seccomp filter failing io_uring_setup with the named errno, then
// reports what Supported and New say.
func seccompChild(name string) int {
	e := map[string]unix.Errno{"EPERM": unix.EPERM, "ENOSYS": unix.ENOSYS}[name]
	filter := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}, // seccomp_data.nr
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: uint32(unix.SYS_IO_URING_SETUP)},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(e)},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fmt.Println("prctl:", err)
		return 2
	}
	if _, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog))); errno != 0 {
		fmt.Println("seccomp:", errno)
		return 2
	}
	runtime.KeepAlive(filter)
	serr := Supported()
	_, nerr := New(4)
	fmt.Printf("supported-unsupported=%v supported-errno=%v new-unsupported=%v new-errno=%v op=%v\n",
		errors.Is(serr, errors.ErrUnsupported), errors.Is(serr, e),
		errors.Is(nerr, errors.ErrUnsupported), errors.Is(nerr, e), OpSupported(OpNop))
	fmt.Println("error:", nerr)
	return 0
}

// TestSeccompBlocked runs the test binary under a seccomp filter that refuses
// io_uring_setup (as container runtimes do) and checks the error model: errors.Is matches
// errors.ErrUnsupported and the errno.
func TestSeccompBlocked(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for _, name := range []string{"EPERM", "ENOSYS"} {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), seccompEnv+"="+name)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			want := "supported-unsupported=true supported-errno=true new-unsupported=true new-errno=true op=false"
			if !strings.Contains(string(out), want) {
				t.Fatalf("child reported:\n%s\nwant %q", out, want)
			}
			t.Logf("%s", strings.TrimSpace(string(out)))
		})
	}
}

// TestEpollReadiness plugs the ring into a real epoll, both ways the package offers (the
// pollable ring descriptor and a registered eventfd), and checks that a completion posted
// while the loop sleeps in epoll_wait wakes it, and that the ring descriptor stops being
// readable once the completions are reaped.
func TestEpollReadiness(t *testing.T) {
	for _, mode := range []string{"ring-fd", "eventfd"} {
		t.Run(mode, func(t *testing.T) {
			r := newRing(t, 8)
			watch := r.FD()
			if mode == "eventfd" {
				efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { unix.Close(efd) })
				if err := r.RegisterEventFD(efd); err != nil {
					t.Fatal(err)
				}
				watch = efd
			}
			ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { unix.Close(ep) })
			if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, watch, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(watch)}); err != nil {
				t.Fatal(err)
			}
			events := make([]unix.EpollEvent, 4)
			wait := func(ms int) int {
				for {
					n, err := unix.EpollWait(ep, events, ms)
					if errors.Is(err, unix.EINTR) {
						continue
					}
					if err != nil {
						t.Fatal(err)
					}
					return n
				}
			}
			reset := func() {
				if mode == "eventfd" {
					var b [8]byte
					if _, err := unix.Read(watch, b[:]); err != nil && !errors.Is(err, unix.EAGAIN) {
						t.Fatal(err)
					}
				}
			}
			if n := wait(0); n != 0 {
				t.Fatalf("readable before any completion")
			}
			a, b := socketpair(t)
			buf := make([]byte, 16)
			if err := r.PrepRecv(1, b, buf, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := r.Submit(); err != nil {
				t.Fatal(err)
			}
			if n := wait(0); n != 0 {
				t.Fatalf("readable while the recv is pending")
			}
			go func() {
				time.Sleep(20 * time.Millisecond)
				unix.Write(a, []byte("ping"))
			}()
			if n := wait(5000); n != 1 || events[0].Fd != int32(watch) {
				t.Fatalf("epoll_wait = %d, want the ring's completion", n)
			}
			reset()
			got := 0
			if _, err := r.Reap(func(ud uint64, res int32, _ uint32) {
				if ud != 1 || res != 4 || string(buf[:4]) != "ping" {
					t.Errorf("completion %d %d %q", ud, res, buf)
				}
				got++
			}); err != nil {
				t.Fatal(err)
			}
			if got != 1 {
				t.Fatalf("reaped %d completions after the wake-up", got)
			}
			if n := wait(0); n != 0 {
				t.Fatalf("still readable after reaping everything")
			}
			// An inline completion (nop) is signalled too.
			if err := r.PrepNop(2); err != nil {
				t.Fatal(err)
			}
			if _, err := r.Submit(); err != nil {
				t.Fatal(err)
			}
			if n := wait(5000); n != 1 {
				t.Fatalf("no readiness for a nop")
			}
			reset()
			if n, _ := r.Reap(nil); n != 1 {
				t.Fatalf("reaped %d", n)
			}
			if mode == "eventfd" {
				if err := r.UnregisterEventFD(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// prepUnreferenced prepares a recv and a readv into buffers that nothing but the ring
// references, and returns weak pointers to them.
func prepUnreferenced(t *testing.T, r *Ring, fd1, fd2 int, cleaned *atomic.Int32) []weak.Pointer[[64]byte] {
	var wps []weak.Pointer[[64]byte]
	mk := func() []byte {
		b := new([64]byte)
		wps = append(wps, weak.Make(b))
		runtime.AddCleanup(b, func(c *atomic.Int32) { c.Add(1) }, cleaned)
		return b[:]
	}
	if err := r.PrepRecv(1, fd1, mk(), 0); err != nil {
		t.Fatal(err)
	}
	if err := r.PrepReadv(2, fd2, [][]byte{mk()[:5], mk()}); err != nil {
		t.Fatal(err)
	}
	return wps
}

// TestGCBetweenSubmitAndReap checks that buffers only the kernel knows about survive
// garbage collections while their operations are in flight, receive the right data, and
// are released once the operations complete.
func TestGCBetweenSubmitAndReap(t *testing.T) {
	r := newRing(t, 8)
	a1, b1 := socketpair(t)
	a2, b2 := socketpair(t)
	var cleaned atomic.Int32
	wps := prepUnreferenced(t, r, b1, b2, &cleaned)
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	var junk [][]byte
	for i := 0; i < 4; i++ {
		runtime.GC()
		for j := 0; j < 1000; j++ { // reuse freed memory of the same size class
			junk = append(junk, make([]byte, 64))
		}
		junk = junk[:0]
	}
	if c := cleaned.Load(); c != 0 {
		t.Fatalf("%d in-flight buffers were garbage collected", c)
	}
	if _, err := unix.Write(a1, []byte("first")); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Write(a2, []byte("second message")); err != nil {
		t.Fatal(err)
	}
	got := collect(t, r, 2)
	if got[1].res != 5 || got[2].res != 14 {
		t.Fatalf("results %+v", got)
	}
	check := func(i int, want string) {
		p := wps[i].Value()
		if p == nil {
			t.Fatalf("buffer %d collected before its data was read", i)
		}
		if s := string(p[:len(want)]); s != want {
			t.Errorf("buffer %d = %q, want %q", i, s, want)
		}
	}
	check(0, "first")
	check(1, "secon")
	check(2, "d message")
	// Once completed, the ring no longer holds the buffers.
	for i := 0; i < 20 && cleaned.Load() < 3; i++ {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	if c := cleaned.Load(); c != 3 {
		t.Errorf("%d of 3 buffers released after completion: the ring keeps references", c)
	}
}

// TestSubmitterThreadExit documents what happens when the OS thread that submitted an
// operation exits (a goroutine ends while locked to its thread): the kernel may cancel the
// operation, so it completes either normally or with -ECANCELED — never a hang or a crash.
func TestSubmitterThreadExit(t *testing.T) {
	r := newRing(t, 8)
	a, b := socketpair(t)
	buf := make([]byte, 16)
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		err := r.PrepRecv(1, b, buf, 0)
		if err == nil {
			_, err = r.Submit()
		}
		done <- err
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // let the thread exit
	if _, err := unix.Write(a, []byte("after exit")); err != nil {
		t.Fatal(err)
	}
	got := collect(t, r, 1)
	switch res := got[1].res; {
	case res == 10 && string(buf[:10]) == "after exit":
		t.Log("the operation survived its thread")
	case res == -int32(unix.ECANCELED):
		t.Log("the kernel cancelled the operation of the exited thread")
	default:
		t.Errorf("recv: %d (%v) %q", res, errno(res), buf)
	}
}

func leakedCount() int {
	leaked.Lock()
	defer leaked.Unlock()
	return len(leaked.slots)
}

// TestCloseTimeoutKeepsMemory reaches Close's timeout with a receive the ring cannot
// cancel (cancellation is switched off for the test): Close reports ErrDrainTimeout, keeps
// the operation's memory reachable instead of freeing it, and still releases the ring's
// descriptor.
func TestCloseTimeoutKeepsMemory(t *testing.T) {
	before, leakedBefore := countFDs(t), leakedCount()
	a, b := socketpair(t)
	r, err := New(4, WithCloseTimeout(30*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	r.testNoCancel = true
	buf := new([64]byte)
	wp := weak.Make(buf)
	if err := r.PrepRecv(1, b, buf[:], 0); err != nil {
		t.Fatal(err)
	}
	buf = nil
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); !errors.Is(err, ErrDrainTimeout) {
		t.Fatalf("Close: %v, want ErrDrainTimeout", err)
	}
	if n := leakedCount() - leakedBefore; n != 1 {
		t.Errorf("%d operations kept after the timeout, want 1", n)
	}
	runtime.GC()
	runtime.GC()
	if wp.Value() == nil {
		t.Error("the buffer of an operation Close could not end was freed")
	}
	// The kernel ends the operation when it tears the ring down; the socket still works.
	if _, err := unix.Write(a, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if after := countFDs(t); after != before+2 { // the socketpair is still open
		t.Errorf("descriptors: %d before, %d after (socketpair open)", before, after)
	}
}
