//go:build linux

package uring

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func newBufRing(t testing.TB, r *Ring, group uint16, count, size int) *BufRing {
	t.Helper()
	b, err := r.NewBufRing(group, count, size)
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("provided buffer rings: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBufRingRecv(t *testing.T) {
	r := newRing(t, 8)
	b := newBufRing(t, r, 7, 4, 32)
	x, y := socketpair(t)
	for i, msg := range []string{"first", "second", "third"} {
		if _, err := unix.Write(x, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		ud := uint64(i + 1)
		if err := r.PrepRecvBuffer(ud, y, b.Group(), 0); err != nil {
			t.Fatal(err)
		}
		got := collect(t, r, 1)[ud]
		id, ok := BufferID(got.flags)
		if got.res != int32(len(msg)) || !ok {
			t.Fatalf("recv: res %d flags %#x", got.res, got.flags)
		}
		if s := string(b.Buffer(id)[:got.res]); s != msg {
			t.Errorf("buffer %d holds %q, want %q", id, s, msg)
		}
		if err := b.Recycle(id); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBufRingMultishotAndExhaustion(t *testing.T) {
	r := newRing(t, 8)
	b := newBufRing(t, r, 1, 2, 16)
	x, y := socketpair(t)
	if err := r.PrepRecvMultishot(1, y, 1, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	var held []uint16
	var got []string
	final := false
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; !final && time.Now().Before(deadline); i++ {
		if i < 3 {
			// One message per completion: wait for each before sending the next.
			if _, err := unix.Write(x, []byte{'a' + byte(i)}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := r.SubmitAndWait(1, 100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Reap(func(ud uint64, res int32, flags uint32) {
			if id, ok := BufferID(flags); ok {
				got = append(got, string(b.Buffer(id)[:res]))
				held = append(held, id) // not recycled: the group runs dry
			}
			if flags&CQEFMore == 0 {
				final = true
				if res != -int32(unix.ENOBUFS) {
					t.Errorf("final completion %d (%v), want -ENOBUFS", res, errno(res))
				}
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	if !final || len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("multishot delivered %q (final %v)", got, final)
	}
	if err := r.PrepNop(1); err != nil {
		t.Errorf("user data after the final completion: %v", err)
	}
	collect(t, r, 1)
	// Recycle and re-arm: the pending byte arrives.
	for _, id := range held {
		if err := b.Recycle(id); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.PrepRecvBuffer(2, y, 1, 0); err != nil {
		t.Fatal(err)
	}
	c := collect(t, r, 1)[2]
	if id, ok := BufferID(c.flags); !ok || string(b.Buffer(id)[:c.res]) != "c" {
		t.Errorf("after recycling: %+v", c)
	}
}

func TestBufRingErrors(t *testing.T) {
	r := newRing(t, 8)
	b := newBufRing(t, r, 3, 2, 16)
	_, y := socketpair(t)
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"count not a power of two", func() error { _, err := r.NewBufRing(4, 3, 16); return err }(), ErrInvalid},
		{"size 0", func() error { _, err := r.NewBufRing(4, 2, 0); return err }(), ErrInvalid},
		{"duplicate group", func() error { _, err := r.NewBufRing(3, 2, 16); return err }(), ErrInvalid},
		{"unknown group", r.PrepRecvBuffer(1, y, 9, 0), ErrInvalid},
		{"bad buffer id", b.Recycle(2), ErrInvalid},
	}
	for _, tc := range cases {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if err := r.PrepRecvBuffer(1, y, 3, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); !errors.Is(err, ErrInvalid) {
		t.Errorf("Close with a receive outstanding: %v, want ErrInvalid", err)
	}
	if err := r.Drain(time.Second, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := b.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
	if b.Buffer(0) != nil {
		t.Error("Buffer after Close is not nil")
	}
	// The group id is free again.
	newBufRing(t, r, 3, 2, 16)
}

// TestBufRingCloseWithRing closes a ring while a multishot receive holds buffers of a
// group: the ring cancels it and releases the group, without leaking descriptors.
func TestBufRingCloseWithRing(t *testing.T) {
	before := countFDs(t)
	r, err := New(8)
	if err != nil {
		t.Fatal(err)
	}
	b := newBufRing(t, r, 1, 8, 64)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.PrepRecvMultishot(1, fds[1], 1, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Recycle(0); !errors.Is(err, ErrClosed) {
		t.Errorf("Recycle after the ring closed: %v, want ErrClosed", err)
	}
	unix.Close(fds[0])
	unix.Close(fds[1])
	if after := countFDs(t); after != before {
		t.Errorf("descriptors: %d before, %d after", before, after)
	}
}

// TestBufRingPartialGrow provides 2 of 8 buffers: receives use only those two (ids 0
// and 1) and the group runs dry once both are held; Grow provides never-used buffers
// (ids from 2 on), up to the group's count and no further.
func TestBufRingPartialGrow(t *testing.T) {
	r := newRing(t, 8)
	b, err := r.NewBufRingPartial(5, 8, 16, 2)
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("provided buffer rings: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if b.Provided() != 2 || b.Count() != 8 {
		t.Fatalf("Provided %d, Count %d; want 2, 8", b.Provided(), b.Count())
	}
	x, y := socketpair(t)
	recv := func(ud uint64, msg string) result {
		t.Helper()
		if msg != "" {
			if _, err := unix.Write(x, []byte(msg)); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.PrepRecvBuffer(ud, y, b.Group(), 0); err != nil {
			t.Fatal(err)
		}
		return collect(t, r, 1)[ud]
	}
	used := map[uint16]string{}
	for i, msg := range []string{"one", "two"} {
		c := recv(uint64(i+1), msg)
		id, ok := BufferID(c.flags)
		if !ok || c.res != int32(len(msg)) {
			t.Fatalf("recv %q: res %d flags %#x", msg, c.res, c.flags)
		}
		used[id] = string(b.Buffer(id)[:c.res])
	}
	if len(used) != 2 || used[0] == "" || used[1] == "" {
		t.Fatalf("the two provided buffers were not the ones used: %v", used)
	}
	if c := recv(3, "three"); c.res != -int32(unix.ENOBUFS) {
		t.Fatalf("third receive with both buffers held: res %d, want -ENOBUFS", c.res)
	}
	if err := b.Recycle(2); !errors.Is(err, ErrInvalid) {
		t.Errorf("Recycle of a buffer never provided: %v, want ErrInvalid", err)
	}
	if n := b.Grow(3); n != 3 || b.Provided() != 5 {
		t.Fatalf("Grow(3) = %d, Provided %d; want 3, 5", n, b.Provided())
	}
	c := recv(4, "") // "three" is still in the socket
	id, ok := BufferID(c.flags)
	if !ok || id < 2 || id > 4 || string(b.Buffer(id)[:c.res]) != "three" {
		t.Fatalf("after Grow: buffer %d (%v) holds %q", id, ok, b.Buffer(id)[:max(c.res, 0)])
	}
	if n := b.Grow(10); n != 3 || b.Provided() != 8 {
		t.Errorf("Grow(10) = %d, Provided %d; want 3, 8", n, b.Provided())
	}
	if n := b.Grow(1); n != 0 {
		t.Errorf("Grow past the count = %d, want 0", n)
	}
	if _, err := r.NewBufRingPartial(6, 8, 16, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("provide 0: %v, want ErrInvalid", err)
	}
	if _, err := r.NewBufRingPartial(6, 8, 16, 9); !errors.Is(err, ErrInvalid) {
		t.Errorf("provide more than count: %v, want ErrInvalid", err)
	}
}
