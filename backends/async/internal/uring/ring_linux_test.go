//go:build linux

package uring

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

type result struct {
	res   int32
	flags uint32
}

// newRing creates a ring closed at the end of the test (closing twice is harmless there).
func newRing(t testing.TB, entries uint32, opts ...Option) *Ring {
	t.Helper()
	r, err := New(entries, opts...)
	if err != nil {
		t.Fatalf("New(%d): %v", entries, err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

// collect submits and reaps until want completions have been seen, or fails the test
// after a few seconds.
func collect(t testing.TB, r *Ring, want int) map[uint64]result {
	t.Helper()
	got := make(map[uint64]result, want)
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < want {
		if time.Now().After(deadline) {
			t.Fatalf("got %d completions, want %d: %v", len(got), want, got)
		}
		if _, err := r.SubmitAndWait(1, 100*time.Millisecond); err != nil {
			t.Fatalf("SubmitAndWait: %v", err)
		}
		if _, err := r.Reap(func(ud uint64, res int32, flags uint32) {
			if _, dup := got[ud]; dup && flags&CQEFMore == 0 {
				t.Errorf("user data %d completed twice", ud)
			}
			got[ud] = result{res, flags}
		}); err != nil {
			t.Fatalf("Reap: %v", err)
		}
	}
	return got
}

func errno(res int32) error {
	if res >= 0 {
		return nil
	}
	return unix.Errno(-res)
}

// countRingMaps counts the io_uring mappings of the process.
func countRingMaps(t testing.TB) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("anon_inode:[io_uring]"))
}

func countFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func socketpair(t testing.TB) (int, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

// listenLoopback returns a listening TCP socket on the loopback address of the family and
// its address.
func listenLoopback(t testing.TB, family int) (int, unix.Sockaddr) {
	t.Helper()
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	var sa unix.Sockaddr = &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
	if family == unix.AF_INET6 {
		sa = &unix.SockaddrInet6{Addr: [16]byte{15: 1}}
	}
	if err := unix.Bind(fd, sa); err != nil {
		if family == unix.AF_INET6 {
			t.Skipf("no IPv6 loopback here: %v", err)
		}
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 16); err != nil {
		t.Fatal(err)
	}
	addr, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fd, addr
}

// tcpPair connects a client to a loopback listener through the ring (accept and connect
// submitted together) and returns the client and server ends.
func tcpPair(t testing.TB, r *Ring, family int) (client, server int) {
	t.Helper()
	lfd, addr := listenLoopback(t, family)
	cfd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(cfd) })
	if err := r.PrepAccept(100, lfd, 0); err != nil {
		t.Fatal(err)
	}
	if err := r.PrepConnect(101, cfd, addr); err != nil {
		t.Fatal(err)
	}
	got := collect(t, r, 2)
	if got[101].res != 0 {
		t.Fatalf("connect: %v", errno(got[101].res))
	}
	sfd := int(got[100].res)
	if sfd < 0 {
		t.Fatalf("accept: %v", errno(got[100].res))
	}
	t.Cleanup(func() { unix.Close(sfd) })
	if fl, err := unix.FcntlInt(uintptr(sfd), unix.F_GETFD, 0); err != nil || fl&unix.FD_CLOEXEC == 0 {
		t.Errorf("accepted fd: FD_CLOEXEC not set (%#x, %v)", fl, err)
	}
	return cfd, sfd
}

func TestSupported(t *testing.T) {
	// The kernel of the test machine runs io_uring; a failure here is a real failure.
	if err := Supported(); err != nil {
		t.Fatalf("Supported: %v", err)
	}
	for _, op := range requiredOps {
		if !OpSupported(op) {
			t.Errorf("OpSupported(%v) = false", op)
		}
	}
	if OpSupported(Op(250)) {
		t.Error("OpSupported(250) = true")
	}
	if got := OpRecv.String(); got != "recv" {
		t.Errorf("OpRecv.String() = %q", got)
	}
	if got := Op(250).String(); got != "op(250)" {
		t.Errorf("Op(250).String() = %q", got)
	}
}

func TestNopRoundTrip(t *testing.T) {
	r := newRing(t, 8)
	for ud := uint64(1); ud <= 5; ud++ {
		if err := r.PrepNop(ud); err != nil {
			t.Fatal(err)
		}
	}
	if r.Pending() != 5 || r.InFlight() != 5 {
		t.Fatalf("Pending %d InFlight %d, want 5 5", r.Pending(), r.InFlight())
	}
	n, err := r.Submit()
	if err != nil || n != 5 {
		t.Fatalf("Submit = %d, %v", n, err)
	}
	got := collect(t, r, 5)
	for ud := uint64(1); ud <= 5; ud++ {
		if c, ok := got[ud]; !ok || c.res != 0 {
			t.Errorf("nop %d: %+v, %v", ud, c, ok)
		}
	}
	if r.InFlight() != 0 || r.Pending() != 0 {
		t.Errorf("InFlight %d Pending %d after reaping", r.InFlight(), r.Pending())
	}
	// User data is free again once its completion was reaped.
	if err := r.PrepNop(1); err != nil {
		t.Fatalf("reusing user data: %v", err)
	}
	collect(t, r, 1)
}

func TestAcceptConnectSendRecv(t *testing.T) {
	for _, fam := range []struct {
		name   string
		family int
	}{{"tcp4", unix.AF_INET}, {"tcp6", unix.AF_INET6}} {
		t.Run(fam.name, func(t *testing.T) {
			r := newRing(t, 16)
			c, s := tcpPair(t, r, fam.family)
			msg := []byte("hello over io_uring, " + fam.name)
			buf := make([]byte, 128)
			if err := r.PrepSend(1, c, msg, 0); err != nil {
				t.Fatal(err)
			}
			if err := r.PrepRecv(2, s, buf, 0); err != nil {
				t.Fatal(err)
			}
			got := collect(t, r, 2)
			if int(got[1].res) != len(msg) {
				t.Fatalf("send: %d (%v)", got[1].res, errno(got[1].res))
			}
			if n := got[2].res; n <= 0 || !bytes.Equal(buf[:n], msg[:n]) {
				t.Fatalf("recv: %d %q", n, buf[:max(n, 0)])
			}
			// And back, with writev/readv.
			if err := r.PrepWritev(3, s, [][]byte{[]byte("abc"), nil, []byte("defgh")}); err != nil {
				t.Fatal(err)
			}
			b1, b2 := make([]byte, 2), make([]byte, 10)
			got = collect(t, r, 1)
			if got[3].res != 8 {
				t.Fatalf("writev: %d (%v)", got[3].res, errno(got[3].res))
			}
			if err := r.PrepReadv(4, c, [][]byte{b1, b2}); err != nil {
				t.Fatal(err)
			}
			got = collect(t, r, 1)
			if got[4].res != 8 || string(b1)+string(b2[:6]) != "abcdefgh" {
				t.Fatalf("readv: %d %q %q", got[4].res, b1, b2)
			}
		})
	}
}

// TestStreamIO moves a payload larger than the socket buffers through every pair of
// write and read operations, over a socketpair and over TCP loopback, checking the
// content.
func TestStreamIO(t *testing.T) {
	payload := make([]byte, 300<<10)
	for i := range payload {
		payload[i] = byte(i*7 + i>>9)
	}
	type writer func(r *Ring, ud uint64, fd int, p []byte) error
	type reader func(r *Ring, ud uint64, fd int, p []byte) error
	writers := map[string]writer{
		"send": func(r *Ring, ud uint64, fd int, p []byte) error { return r.PrepSend(ud, fd, p, 0) },
		"writev": func(r *Ring, ud uint64, fd int, p []byte) error {
			h := len(p) / 3
			return r.PrepWritev(ud, fd, [][]byte{p[:h], p[h : 2*h], {}, p[2*h:]})
		},
		"sendmsg": func(r *Ring, ud uint64, fd int, p []byte) error {
			h := len(p) / 2
			return r.PrepSendmsg(ud, fd, [][]byte{p[:h], p[h:]}, 0)
		},
	}
	readers := map[string]reader{
		"recv": func(r *Ring, ud uint64, fd int, p []byte) error { return r.PrepRecv(ud, fd, p, 0) },
		"readv": func(r *Ring, ud uint64, fd int, p []byte) error {
			h := len(p) / 2
			return r.PrepReadv(ud, fd, [][]byte{p[:h], p[h:]})
		},
	}
	transports := map[string]func(t *testing.T, r *Ring) (int, int){
		"socketpair": func(t *testing.T, _ *Ring) (int, int) { return socketpair(t) },
		"tcp4":       func(t *testing.T, r *Ring) (int, int) { return tcpPair(t, r, unix.AF_INET) },
	}
	for tn, transport := range transports {
		for wn, w := range writers {
			for rn, rd := range readers {
				t.Run(tn+"/"+wn+"-"+rn, func(t *testing.T) {
					r := newRing(t, 8)
					a, b := transport(t, r)
					var sent, recvd int
					out := make([]byte, len(payload))
					const wud, rud = 1, 2
					writing, reading := false, false
					deadline := time.Now().Add(5 * time.Second)
					for recvd < len(payload) {
						if time.Now().After(deadline) {
							t.Fatalf("stuck: sent %d received %d", sent, recvd)
						}
						if !writing && sent < len(payload) {
							if err := w(r, wud, a, payload[sent:]); err != nil {
								t.Fatal(err)
							}
							writing = true
						}
						if !reading {
							if err := rd(r, rud, b, out[recvd:min(recvd+16<<10, len(out))]); err != nil {
								t.Fatal(err)
							}
							reading = true
						}
						if _, err := r.SubmitAndWait(1, time.Second); err != nil {
							t.Fatal(err)
						}
						_, err := r.Reap(func(ud uint64, res int32, _ uint32) {
							if res < 0 {
								t.Fatalf("op %d: %v", ud, errno(res))
							}
							if ud == wud {
								sent += int(res)
								writing = false
							} else {
								if res == 0 {
									t.Fatalf("early EOF after %d bytes", recvd)
								}
								recvd += int(res)
								reading = false
							}
						})
						if err != nil {
							t.Fatal(err)
						}
					}
					if !bytes.Equal(out, payload) {
						t.Fatal("payload corrupted")
					}
					// End of stream reads as 0.
					if err := unix.Shutdown(a, unix.SHUT_WR); err != nil {
						t.Fatal(err)
					}
					if err := r.PrepRecv(3, b, make([]byte, 8), 0); err != nil {
						t.Fatal(err)
					}
					if got := collect(t, r, 1); got[3].res != 0 {
						t.Fatalf("recv at EOF = %d", got[3].res)
					}
				})
			}
		}
	}
}

func TestCancelPendingRecv(t *testing.T) {
	cases := []struct {
		name   string
		cancel func(r *Ring, fd int) error
	}{
		{"by-user-data", func(r *Ring, fd int) error { return r.PrepCancel(2, 1, false) }},
		{"by-fd", func(r *Ring, fd int) error { return r.PrepCancelFD(2, fd, true) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "by-fd" && !OpSupported(OpSocket) {
				t.Skip("cancellation by fd needs Linux 5.19")
			}
			r := newRing(t, 8)
			_, b := socketpair(t)
			buf := make([]byte, 64)
			if err := r.PrepRecv(1, b, buf, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := r.Submit(); err != nil {
				t.Fatal(err)
			}
			if err := tc.cancel(r, b); err != nil {
				t.Fatal(err)
			}
			got := collect(t, r, 2)
			if got[1].res != -int32(unix.ECANCELED) {
				t.Errorf("recv: %d (%v), want -ECANCELED", got[1].res, errno(got[1].res))
			}
			if got[2].res < 0 {
				t.Errorf("cancel: %v", errno(got[2].res))
			}
		})
	}
	t.Run("nothing-to-cancel", func(t *testing.T) {
		r := newRing(t, 8)
		if err := r.PrepCancel(2, 12345, false); err != nil {
			t.Fatal(err)
		}
		if got := collect(t, r, 1); got[2].res != -int32(unix.ENOENT) {
			t.Errorf("cancel of nothing: %d, want -ENOENT", got[2].res)
		}
	})
}

func TestLinkTimeout(t *testing.T) {
	t.Run("expires", func(t *testing.T) {
		r := newRing(t, 8)
		_, b := socketpair(t)
		if err := r.Reserve(2); err != nil {
			t.Fatal(err)
		}
		if err := r.PrepRecv(1, b, make([]byte, 16), 0); err != nil {
			t.Fatal(err)
		}
		if err := r.SetLastFlags(FlagLink); err != nil {
			t.Fatal(err)
		}
		if err := r.PrepLinkTimeout(2, 20*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		got := collect(t, r, 2)
		if res := got[1].res; res != -int32(unix.ECANCELED) && res != -int32(unix.EINTR) {
			t.Errorf("recv: %d (%v), want -ECANCELED or -EINTR", res, errno(res))
		}
		if got[2].res != -int32(unix.ETIME) {
			t.Errorf("link timeout: %d (%v), want -ETIME", got[2].res, errno(got[2].res))
		}
		if el := time.Since(start); el < 15*time.Millisecond {
			t.Errorf("timeout fired after %v, before its 20ms", el)
		}
	})
	t.Run("op-first", func(t *testing.T) {
		r := newRing(t, 8)
		a, b := socketpair(t)
		if _, err := unix.Write(a, []byte("data")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 16)
		if err := r.PrepRecv(1, b, buf, 0); err != nil {
			t.Fatal(err)
		}
		if err := r.SetLastFlags(FlagLink); err != nil {
			t.Fatal(err)
		}
		if err := r.PrepLinkTimeout(2, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		got := collect(t, r, 2)
		if got[1].res != 4 || string(buf[:4]) != "data" {
			t.Errorf("recv: %d %q", got[1].res, buf)
		}
		if got[2].res != -int32(unix.ECANCELED) {
			t.Errorf("link timeout: %d (%v), want -ECANCELED", got[2].res, errno(got[2].res))
		}
	})
	t.Run("plain-timeout", func(t *testing.T) {
		r := newRing(t, 8)
		if err := r.PrepTimeout(1, 5*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if got := collect(t, r, 1); got[1].res != -int32(unix.ETIME) {
			t.Errorf("timeout: %d, want -ETIME", got[1].res)
		}
	})
}

// TestPeerReset resets a TCP connection while a recv and a large send are in flight on the
// other end: both complete with negative errnos (or a short count for the send), nothing
// panics, and the ring stays usable.
func TestPeerReset(t *testing.T) {
	r := newRing(t, 16)
	c, s := tcpPair(t, r, unix.AF_INET)
	if err := unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_SNDBUF, 4096); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 4<<20)
	if err := r.PrepSend(1, s, big, 0); err != nil {
		t.Fatal(err)
	}
	if err := r.PrepRecv(2, s, make([]byte, 64), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	// Abortive close of the client: the server end gets a RST.
	if err := unix.SetsockoptLinger(c, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Close(c); err != nil {
		t.Fatal(err)
	}
	got := collect(t, r, 2)
	if res := got[2].res; res != -int32(unix.ECONNRESET) {
		t.Errorf("recv after reset: %d (%v), want -ECONNRESET", res, errno(res))
	}
	if res := got[1].res; res >= int32(len(big)) || (res < 0 && res != -int32(unix.ECONNRESET) && res != -int32(unix.EPIPE)) {
		t.Errorf("send after reset: %d (%v), want a short count, -ECONNRESET or -EPIPE", res, errno(res))
	}
	// A write on the dead socket fails cleanly (EPIPE, no SIGPIPE thanks to MSG_NOSIGNAL).
	if err := r.PrepSend(3, s, []byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	if err := r.PrepWritev(4, s, [][]byte{[]byte("y")}); err != nil {
		t.Fatal(err)
	}
	got = collect(t, r, 2)
	for _, ud := range []uint64{3, 4} {
		if got[ud].res >= 0 {
			t.Errorf("write %d on reset socket: %d, want an errno", ud, got[ud].res)
		}
	}
}

func TestSQFull(t *testing.T) {
	r := newRing(t, 4)
	if r.SQEntries() != 4 {
		t.Fatalf("SQEntries = %d", r.SQEntries())
	}
	for ud := uint64(1); ud <= 4; ud++ {
		if err := r.PrepNop(ud); err != nil {
			t.Fatal(err)
		}
	}
	if r.SQSpace() != 0 {
		t.Fatalf("SQSpace = %d, want 0", r.SQSpace())
	}
	// A full queue is flushed to the kernel by the next Prep.
	if err := r.PrepNop(5); err != nil {
		t.Fatalf("Prep on a full queue: %v", err)
	}
	if r.Pending() != 1 {
		t.Errorf("Pending = %d after the implicit flush, want 1", r.Pending())
	}
	// But never in the middle of a link chain.
	for ud := uint64(6); ud <= 8; ud++ {
		if err := r.PrepNop(ud); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.SetLastFlags(FlagLink); err != nil {
		t.Fatal(err)
	}
	if err := r.PrepNop(9); !errors.Is(err, ErrSQFull) {
		t.Fatalf("Prep on a full queue with an open chain: %v, want ErrSQFull", err)
	}
	if err := r.Reserve(2); !errors.Is(err, ErrSQFull) {
		t.Fatalf("Reserve with an open chain: %v, want ErrSQFull", err)
	}
	if err := r.Reserve(5); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Reserve(5) of 4: %v, want ErrInvalid", err)
	}
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	if err := r.Reserve(4); err != nil {
		t.Fatalf("Reserve(4) on an empty queue: %v", err)
	}
	got := collect(t, r, 8)
	for ud := uint64(1); ud <= 8; ud++ {
		if got[ud].res != 0 {
			t.Errorf("nop %d: %d", ud, got[ud].res)
		}
	}
}

// TestCQOverflow fills a tiny completion queue many times over without reaping: thanks to
// IORING_FEAT_NODROP every completion is reaped in the end, exactly once.
func TestCQOverflow(t *testing.T) {
	r := newRing(t, 4, WithCQEntries(4))
	if r.CQEntries() != 4 {
		t.Fatalf("CQEntries = %d", r.CQEntries())
	}
	const total = 64
	for ud := uint64(0); ud < total; ud++ {
		if err := r.PrepNop(ud); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	if atomic.LoadUint32(r.sqFlags)&sqCQOverflow == 0 {
		t.Fatal("the completion queue did not overflow; the test proves nothing")
	}
	seen := make(map[uint64]int)
	n, err := r.Reap(func(ud uint64, res int32, _ uint32) {
		seen[ud]++
		if res != 0 {
			t.Errorf("nop %d: %d", ud, res)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != total || len(seen) != total {
		t.Fatalf("reaped %d completions for %d operations, want %d", n, len(seen), total)
	}
	if *r.cqOverflow != 0 {
		t.Errorf("kernel counted %d dropped completions", *r.cqOverflow)
	}
	if r.InFlight() != 0 {
		t.Errorf("InFlight = %d", r.InFlight())
	}
}

// TestCloseWithOpsOutstanding closes rings with receives, timeouts and accepts pending and
// with entries prepared but never submitted: no crash, no error, no descriptor leak.
func TestCloseWithOpsOutstanding(t *testing.T) {
	before, leakedBefore, mapsBefore := countFDs(t), leakedCount(), countRingMaps(t)
	func() {
		lfd, _ := listenLoopback(t, unix.AF_INET)
		for round := 0; round < 3; round++ {
			r, err := New(16, WithCloseTimeout(2*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 8; i++ {
				if err := r.PrepRecv(uint64(i), fds[i%2], make([]byte, 512), 0); err != nil {
					t.Fatal(err)
				}
			}
			if err := r.PrepTimeout(20, time.Hour); err != nil {
				t.Fatal(err)
			}
			if err := r.PrepAccept(21, lfd, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := r.Submit(); err != nil {
				t.Fatal(err)
			}
			if err := r.PrepNop(22); err != nil { // never submitted
				t.Fatal(err)
			}
			if err := r.Close(); err != nil {
				t.Fatalf("Close with operations outstanding: %v", err)
			}
			if err := r.Close(); !errors.Is(err, ErrClosed) {
				t.Errorf("second Close: %v, want ErrClosed", err)
			}
			if err := r.PrepNop(1); !errors.Is(err, ErrClosed) {
				t.Errorf("Prep after Close: %v, want ErrClosed", err)
			}
			if _, err := r.Reap(nil); !errors.Is(err, ErrClosed) {
				t.Errorf("Reap after Close: %v, want ErrClosed", err)
			}
			if _, err := r.Submit(); !errors.Is(err, ErrClosed) {
				t.Errorf("Submit after Close: %v, want ErrClosed", err)
			}
			unix.Close(fds[0])
			unix.Close(fds[1])
		}
		unix.Close(lfd)
	}()
	if after := countFDs(t); after != before {
		t.Errorf("open descriptors: %d before, %d after", before, after)
	}
	if m := countRingMaps(t); m != mapsBefore {
		t.Errorf("io_uring mappings: %d before, %d after", mapsBefore, m)
	}
	if n := leakedCount() - leakedBefore; n != 0 {
		t.Errorf("%d operations leaked by Close", n)
	}
}

// TestDrain sees every outstanding operation complete, including those never submitted.
func TestDrain(t *testing.T) {
	r := newRing(t, 8)
	a, b := socketpair(t)
	for ud := uint64(1); ud <= 2; ud++ {
		fd := a
		if ud == 2 {
			fd = b
		}
		if err := r.PrepRecv(ud, fd, make([]byte, 8), 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	if err := r.PrepRecv(3, a, make([]byte, 8), 0); err != nil { // prepared only
		t.Fatal(err)
	}
	got := map[uint64]int32{}
	if err := r.Drain(time.Second, func(ud uint64, res int32, _ uint32) { got[ud] = res }); err != nil {
		t.Fatal(err)
	}
	for ud := uint64(1); ud <= 3; ud++ {
		if res, ok := got[ud]; !ok || res != -int32(unix.ECANCELED) {
			t.Errorf("op %d: %d (%v), %v; want -ECANCELED", ud, res, errno(res), ok)
		}
	}
	if r.InFlight() != 0 || r.internal != 0 {
		t.Errorf("InFlight %d internal %d after Drain", r.InFlight(), r.internal)
	}
	// The ring is still usable.
	if err := r.PrepNop(1); err != nil {
		t.Fatal(err)
	}
	collect(t, r, 1)
}

func TestArgumentErrors(t *testing.T) {
	r := newRing(t, 4)
	if err := r.PrepNop(7); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		call func() error
		want error
	}{
		{"duplicate user data", func() error { return r.PrepNop(7) }, ErrUserDataInUse},
		{"reserved user data", func() error { return r.PrepNop(ReservedUserData) }, ErrReservedUserData},
		{"readv without buffers", func() error { return r.PrepReadv(1, 0, nil) }, ErrInvalid},
		{"writev with too many buffers", func() error { return r.PrepWritev(1, 0, make([][]byte, 1025)) }, ErrInvalid},
		{"sendmsg without buffers", func() error { return r.PrepSendmsg(1, 0, [][]byte{}, 0) }, ErrInvalid},
		{"connect to nil", func() error { return r.PrepConnect(1, 0, nil) }, ErrInvalid},
		{"connect to a bad port", func() error { return r.PrepConnect(1, 0, &unix.SockaddrInet4{Port: 70000}) }, ErrInvalid},
		{"connect to an unsupported family", func() error { return r.PrepConnect(1, 0, &unix.SockaddrNetlink{}) }, ErrInvalid},
		{"connect to an empty unix path", func() error { return r.PrepConnect(1, 0, &unix.SockaddrUnix{}) }, ErrInvalid},
		{"bad SQE flags", func() error { return r.SetLastFlags(1 << 6) }, ErrInvalid},
		{"New(0)", func() error { _, err := New(0); return err }, ErrInvalid},
		{"CQ smaller than SQ", func() error { _, err := New(8, WithCQEntries(2)); return err }, ErrInvalid},
	}
	for _, tc := range cases {
		if err := tc.call(); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// Failed Preps left nothing behind.
	if r.Pending() != 1 || r.InFlight() != 1 {
		t.Errorf("Pending %d InFlight %d, want 1 1", r.Pending(), r.InFlight())
	}
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	if err := r.SetLastFlags(FlagLink); !errors.Is(err, ErrNoPrepared) {
		t.Errorf("SetLastFlags after Submit: %v, want ErrNoPrepared", err)
	}
	collect(t, r, 1)
}

func TestUnsupportedErrors(t *testing.T) {
	for _, e := range []unix.Errno{unix.ENOSYS, unix.EPERM, unix.EACCES} {
		err := setupError(e)
		if !errors.Is(err, errors.ErrUnsupported) || !errors.Is(err, e) {
			t.Errorf("setupError(%v) = %v: does not match ErrUnsupported and the errno", e, err)
		}
	}
	for _, e := range []unix.Errno{unix.EMFILE, unix.ENOMEM} {
		err := setupError(e)
		if errors.Is(err, errors.ErrUnsupported) || !errors.Is(err, e) {
			t.Errorf("setupError(%v) = %v: should wrap only the errno", e, err)
		}
	}
}

func TestMultishotAccept(t *testing.T) {
	if !OpSupported(OpSocket) {
		t.Skip("multishot accept needs Linux 5.19")
	}
	r := newRing(t, 8)
	lfd, addr := listenLoopback(t, unix.AF_INET)
	if err := r.PrepAcceptMultishot(1, lfd, unix.SOCK_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	const conns = 3
	accepted := 0
	for i := 0; i < conns; i++ {
		c, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(c)
		if err := unix.Connect(c, addr); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for accepted < conns && time.Now().Before(deadline) {
		if _, err := r.SubmitAndWait(1, 100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Reap(func(ud uint64, res int32, flags uint32) {
			if ud != 1 || res < 0 || flags&CQEFMore == 0 {
				t.Errorf("accept completion ud %d res %d flags %#x", ud, res, flags)
				return
			}
			accepted++
			unix.Close(int(res))
		}); err != nil {
			t.Fatal(err)
		}
	}
	if accepted != conns {
		t.Fatalf("accepted %d of %d", accepted, conns)
	}
	if err := r.PrepNop(1); !errors.Is(err, ErrUserDataInUse) {
		t.Errorf("user data of an armed multishot accept: %v, want ErrUserDataInUse", err)
	}
	if err := r.PrepCancel(2, 1, false); err != nil {
		t.Fatal(err)
	}
	got := collect(t, r, 2)
	if got[1].res != -int32(unix.ECANCELED) || got[1].flags&CQEFMore != 0 {
		t.Errorf("final accept completion: %+v", got[1])
	}
	if err := r.PrepNop(1); err != nil {
		t.Errorf("user data after the final completion: %v", err)
	}
}

func TestCloseShutdownConnectRefused(t *testing.T) {
	r := newRing(t, 8)
	a, b := socketpair(t)
	if err := r.PrepShutdown(1, a, unix.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, r, 1); got[1].res != 0 {
		t.Fatalf("shutdown: %v", errno(got[1].res))
	}
	if n, err := unix.Read(b, make([]byte, 4)); n != 0 || err != nil {
		t.Errorf("read after peer shutdown: %d, %v", n, err)
	}
	fd, err := unix.Dup(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.PrepClose(2, fd); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, r, 1); got[2].res != 0 {
		t.Fatalf("close: %v", errno(got[2].res))
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); !errors.Is(err, unix.EBADF) {
		t.Errorf("fd after PrepClose: %v, want EBADF", err)
	}
	// Connect to a loopback port nobody listens on.
	lfd, addr := listenLoopback(t, unix.AF_INET)
	unix.Close(lfd)
	c, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(c)
	if err := r.PrepConnect(3, c, addr); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, r, 1); got[3].res != -int32(unix.ECONNREFUSED) {
		t.Errorf("connect to a closed port: %d (%v), want -ECONNREFUSED", got[3].res, errno(got[3].res))
	}
}

func TestConnectUnixAbstract(t *testing.T) {
	r := newRing(t, 8)
	name := fmt.Sprintf("@bufev-uring-test-%d", os.Getpid())
	lfd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(lfd)
	if err := unix.Bind(lfd, &unix.SockaddrUnix{Name: name}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(lfd, 4); err != nil {
		t.Fatal(err)
	}
	c, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(c)
	if err := r.PrepAccept(1, lfd, 0); err != nil {
		t.Fatal(err)
	}
	if err := r.PrepConnect(2, c, &unix.SockaddrUnix{Name: name}); err != nil {
		t.Fatal(err)
	}
	got := collect(t, r, 2)
	if got[2].res != 0 || got[1].res < 0 {
		t.Fatalf("accept %d, connect %v", got[1].res, errno(got[2].res))
	}
	unix.Close(int(got[1].res))
}

// TestSteadyStateAllocs checks that preparing, submitting and reaping the hot-path
// operations allocates nothing once the ring is warm.
func TestSteadyStateAllocs(t *testing.T) {
	r := newRing(t, 16)
	x, y := socketpair(t)
	msg, buf := make([]byte, 64), make([]byte, 64)
	many := make([][]byte, 16)
	for i := range many {
		many[i] = make([]byte, 8)
	}
	sink := make([]byte, 256)
	var c counter
	ops := map[string]func(){
		"nop": func() { _ = r.PrepNop(1) },
		"send+recv": func() {
			_ = r.PrepSend(1, x, msg, 0)
			_ = r.PrepRecv(2, y, buf, 0)
		},
		"writev16+readv": func() {
			_ = r.PrepWritev(1, x, many)
			_ = r.PrepReadv(2, y, [][]byte{sink[:100], sink[100:]})
		},
		"sendmsg+recv": func() {
			_ = r.PrepSendmsg(1, x, many[:3], 0)
			_ = r.PrepRecv(2, y, sink, 0)
		},
		"recv+linktimeout": func() {
			_ = r.PrepSend(3, y, msg, 0)
			_ = r.PrepRecv(1, x, buf, 0)
			_ = r.SetLastFlags(FlagLink)
			_ = r.PrepLinkTimeout(2, time.Second)
		},
	}
	for name, prep := range ops {
		round := func() {
			prep()
			want := r.InFlight()
			got := 0
			for got < want {
				if _, err := r.SubmitAndWait(1, time.Second); err != nil {
					t.Fatal(err)
				}
				n, err := r.Reap(c.onCQE)
				if err != nil {
					t.Fatal(err)
				}
				got += n
			}
		}
		round() // warm up: slots, iovec arrays, Pinners
		if a := testing.AllocsPerRun(200, round); a != 0 {
			t.Errorf("%s: %.1f allocations per round, want 0", name, a)
		}
	}
	if c.bad != 0 && c.bad != -int32(unix.ECANCELED) {
		t.Errorf("an operation failed: %v", errno(c.bad))
	}
}

// TestCloseDoesNotCancel documents a rule the async backend must follow: closing a
// descriptor does not end the ring's operations on it (the ring holds its own reference to
// the socket), so they must be cancelled by user data.
func TestCloseDoesNotCancel(t *testing.T) {
	r := newRing(t, 8)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	if err := r.PrepRecv(1, fds[1], make([]byte, 8), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	if err := unix.Close(fds[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := r.SubmitAndWait(1, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if n, _ := r.Reap(nil); n != 0 || r.InFlight() != 1 {
		t.Fatalf("closing the descriptor completed %d operations (in flight %d)", n, r.InFlight())
	}
	if err := r.PrepCancel(2, 1, false); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, r, 2); got[1].res != -int32(unix.ECANCELED) {
		t.Errorf("recv after cancel: %d (%v)", got[1].res, errno(got[1].res))
	}
}

// TestSeparateCQMapping maps the completion ring on its own, the layout of kernels without
// IORING_FEAT_SINGLE_MMAP, and runs operations and an overflow through it.
func TestSeparateCQMapping(t *testing.T) {
	maps := countRingMaps(t)
	testSeparateCQMap = true
	r, err := New(4, WithCQEntries(4))
	testSeparateCQMap = false
	if err != nil {
		t.Fatal(err)
	}
	if r.cqMem == nil {
		t.Fatal("the CQ ring was not mapped separately")
	}
	if m := countRingMaps(t) - maps; m != 3 {
		t.Errorf("%d io_uring mappings, want 3 (SQ ring, CQ ring, SQEs)", m)
	}
	for ud := uint64(0); ud < 20; ud++ {
		if err := r.PrepNop(ud); err != nil {
			t.Fatal(err)
		}
	}
	if got := collect(t, r, 20); len(got) != 20 {
		t.Fatalf("%d completions", len(got))
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if m := countRingMaps(t); m != maps {
		t.Errorf("io_uring mappings after Close: %d, want %d", m, maps)
	}
}

// TestAcceptAddr collects the peer address with the accept, for TCP over IPv4 and IPv6
// and for abstract, named and unnamed unix sockets, and checks it against the client's
// own address.
func TestAcceptAddr(t *testing.T) {
	abstract := fmt.Sprintf("@bufev-uring-accept-%d", os.Getpid())
	dir := t.TempDir()
	cases := []struct {
		name     string
		family   int
		listenAt unix.Sockaddr
		bindTo   unix.Sockaddr // client's bind, if any
	}{
		{"tcp4", unix.AF_INET, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}, nil},
		{"tcp6", unix.AF_INET6, &unix.SockaddrInet6{Addr: [16]byte{15: 1}}, nil},
		{"unix-unnamed", unix.AF_UNIX, &unix.SockaddrUnix{Name: abstract}, nil},
		{"unix-abstract", unix.AF_UNIX, &unix.SockaddrUnix{Name: abstract + "-l"}, &unix.SockaddrUnix{Name: abstract + "-c"}},
		{"unix-path", unix.AF_UNIX, &unix.SockaddrUnix{Name: dir + "/l"}, &unix.SockaddrUnix{Name: dir + "/c"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRing(t, 8)
			lfd, err := unix.Socket(tc.family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(lfd)
			if err := unix.Bind(lfd, tc.listenAt); err != nil {
				if tc.family == unix.AF_INET6 {
					t.Skipf("no IPv6 loopback: %v", err)
				}
				t.Fatal(err)
			}
			if err := unix.Listen(lfd, 4); err != nil {
				t.Fatal(err)
			}
			laddr, _ := unix.Getsockname(lfd)
			c, err := unix.Socket(tc.family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(c)
			if tc.bindTo != nil {
				if err := unix.Bind(c, tc.bindTo); err != nil {
					t.Fatal(err)
				}
			}
			var addr AcceptAddr
			if err := r.PrepAcceptAddr(1, lfd, 0, &addr); err != nil {
				t.Fatal(err)
			}
			if err := r.PrepConnect(2, c, laddr); err != nil {
				t.Fatal(err)
			}
			got := collect(t, r, 2)
			if got[1].res < 0 || got[2].res != 0 {
				t.Fatalf("accept %v, connect %v", errno(got[1].res), errno(got[2].res))
			}
			unix.Close(int(got[1].res))
			peer, err := addr.Sockaddr()
			if err != nil {
				t.Fatal(err)
			}
			want, err := unix.Getsockname(c)
			if err != nil {
				t.Fatal(err)
			}
			if tc.name == "unix-unnamed" {
				// x/sys/unix ignores the address length and reports an unnamed socket
				// as "@", the empty abstract name; the accepted length says unnamed.
				want = &unix.SockaddrUnix{}
			}
			if fmt.Sprint(peer) != fmt.Sprint(want) {
				t.Errorf("peer address %+v, want %+v", peer, want)
			}
		})
	}
	r := newRing(t, 4)
	if err := r.PrepAcceptAddr(1, 0, 0, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil AcceptAddr: %v", err)
	}
	var empty AcceptAddr
	if _, err := empty.Sockaddr(); !errors.Is(err, ErrInvalid) {
		t.Errorf("Sockaddr of an unfilled AcceptAddr: %v", err)
	}
}
