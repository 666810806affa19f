//go:build unix

package evbuffer

import (
	"bytes"
	"errors"
	"io"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func socketpair(t testing.TB) (int, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		if err := unix.SetNonblock(fd, true); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

func TestFDRoundTrip(t *testing.T) {
	a, c := socketpair(t)
	var out, in Buffer
	data := bytes.Repeat([]byte("0123456789abcdef"), 1000) // 16000 bytes
	out.Add(data[:5000])
	out.AddReference(data[5000:9000], nil)
	out.Add(data[9000:])
	mustValid(t, &out)
	n, err := out.WriteToFD(a, -1)
	if err != nil || n != len(data) {
		t.Fatalf("WriteToFD = %d, %v", n, err)
	}
	mustValid(t, &out)
	if out.Len() != 0 {
		t.Fatalf("out len %d", out.Len())
	}
	for in.Len() < len(data) {
		n, err := in.ReadFromFD(c, -1)
		if err != nil || n <= 0 || n > in.MaxRead() {
			t.Fatalf("ReadFromFD = %d, %v", n, err)
		}
		mustValid(t, &in)
	}
	if !bytes.Equal([]byte(contents(t, &in)), data) {
		t.Fatal("data differs")
	}
	if _, err := in.ReadFromFD(c, -1); !errors.Is(err, syscall.EAGAIN) {
		t.Fatalf("empty read err = %v, want EAGAIN", err)
	}
	unix.Shutdown(a, unix.SHUT_WR)
	if n, err := in.ReadFromFD(c, -1); n != 0 || err != io.EOF {
		t.Fatalf("EOF read = %d, %v", n, err)
	}
	if n, err := out.WriteToFD(a, -1); n != 0 || err != nil {
		t.Fatalf("empty write = %d, %v", n, err)
	}
	out.AddString("x")
	if _, err := out.WriteToFD(a, -1); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("write after shutdown err = %v", err)
	}
	mustValid(t, &out)
	if out.Len() != 1 {
		t.Fatal("failed write lost data")
	}
}
