//go:build unix

package evbuffer

import (
	"bytes"
	"testing"

	"golang.org/x/sys/unix"
)

// TestIOCPEvbuffer starts a read of 2048 bytes into one end of a socketpair
// and a write of 512 bytes from the other, with the kernel doing the I/O
// (readv/writev into and from the pinned extents) while the operations are
// in flight, as completion I/O does.
// Mirrors libevent test/regress_iocp.c "iocp/evbuffer".
func TestIOCPEvbuffer(t *testing.T) {
	r, w := socketpair(t)
	junk := make([]byte, 1024)
	for i := range junk {
		junk[i] = byte(i)
	}
	var rbuf, wbuf, buf Buffer
	for range 10 {
		wbuf.Add(junk)
	}
	rbuf.Add(junk)

	rvecs := make([][]byte, 16)
	nr, err := rbuf.PinRead(2048, rvecs)
	if err != nil {
		t.Fatal(err)
	}
	// The bytes already in rbuf move out; the read-pinned chains stay.
	if err := buf.AddBuffer(&rbuf); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != len(junk) || rbuf.Len() != 0 {
		t.Fatalf("after AddBuffer: buf %d bytes, rbuf %d", buf.Len(), rbuf.Len())
	}
	for c := buf.first; c != nil; c = c.next {
		if c.flags&flagPinned != 0 {
			t.Fatal("a pinned chain moved with AddBuffer")
		}
	}
	wvecs := make([][]byte, 16)
	nw, err := wbuf.PinWrite(512, wvecs)
	if err != nil {
		t.Fatal(err)
	}

	// The "kernel": send from the write's extents, receive into the read's.
	sent := 0
	for _, v := range wvecs[:nw] {
		n, err := unix.Write(w, v)
		if err != nil {
			t.Fatal(err)
		}
		sent += n
	}
	got := 0
	for _, v := range rvecs[:nr] {
		if got == sent {
			break
		}
		n, err := unix.Read(r, v[:min(len(v), sent-got)])
		if err != nil {
			t.Fatal(err)
		}
		got += n
	}
	if sent != 512 || got != 512 {
		t.Fatalf("sent %d, received %d", sent, got)
	}
	if err := wbuf.CommitWrite(sent); err != nil {
		t.Fatal(err)
	}
	if err := rbuf.CommitRead(got); err != nil {
		t.Fatal(err)
	}

	if rbuf.Len() != 512 {
		t.Fatalf("rbuf holds %d bytes, want 512", rbuf.Len())
	}
	if !bytes.Equal(contentsOf(&rbuf), junk[:512]) {
		t.Fatal("the bytes received differ from those sent")
	}
	if wbuf.Len() != 10*1024-512 {
		t.Fatalf("wbuf holds %d bytes, want %d", wbuf.Len(), 10*1024-512)
	}
	noPins(t, "rbuf", &rbuf)
	noPins(t, "wbuf", &wbuf)
	mustValid(t, &rbuf)
	mustValid(t, &wbuf)
	mustValid(t, &buf)
	rbuf.Reset()
	wbuf.Reset()
	buf.Reset()
}
