//go:build unix

package evbuffer

import (
	"bytes"
	"errors"
	"io"
	"os"
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

// Closed and invalid descriptors give clear errors and change nothing.
func TestFDClosed(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(fds[0])
	unix.Close(fds[1])
	var b Buffer
	b.AddString("keep me")
	if _, err := b.ReadFromFD(fds[0], -1); !errors.Is(err, syscall.EBADF) {
		t.Fatalf("ReadFromFD(closed) = %v", err)
	}
	var se *os.SyscallError
	if _, err := b.WriteToFD(fds[1], -1); !errors.Is(err, syscall.EBADF) || !errors.As(err, &se) {
		t.Fatalf("WriteToFD(closed) = %v", err)
	}
	if _, err := b.ReadFromFD(-1, -1); err == nil {
		t.Fatal("ReadFromFD(-1) succeeded")
	}
	mustValid(t, &b)
	wantStr(t, "contents", contents(t, &b), "keep me")
}

// ReadFromFD honours howmuch and MaxRead, and fills up to 4 chains.
func TestReadFromFDLimits(t *testing.T) {
	a, c := socketpair(t)
	data := bytes.Repeat([]byte("r"), 20000)
	if _, err := unix.Write(a, data); err != nil {
		t.Fatal(err)
	}
	var b Buffer
	n, err := b.ReadFromFD(c, 100)
	if n != 100 || err != nil {
		t.Fatalf("ReadFromFD(100) = %d, %v", n, err)
	}
	n, err = b.ReadFromFD(c, -1)
	if n != DefaultMaxRead || err != nil {
		t.Fatalf("ReadFromFD(-1) = %d, %v", n, err)
	}
	noErr(t, b.SetMaxRead(100000))
	n, err = b.ReadFromFD(c, -1)
	if n != 20000-100-DefaultMaxRead || err != nil {
		t.Fatalf("ReadFromFD(rest) = %d, %v", n, err)
	}
	mustValid(t, &b)
	wantInt(t, "len", b.Len(), 20000)
	// A partly used last chain plus three more are filled by one read.
	var b2 Buffer
	b2.AddString("x")
	if _, err := unix.Write(a, data); err != nil {
		t.Fatal(err)
	}
	b2.SetMaxRead(20000)
	n, err = b2.ReadFromFD(c, -1)
	if err != nil || n != 20000 {
		t.Fatalf("ReadFromFD = %d, %v", n, err)
	}
	if got := b2.Peek(-1, nil, nil); got > 1+numReadVecs {
		t.Fatalf("read spread over %d chains", got)
	}
	mustValid(t, &b2)
}

// WriteToFD honours howmuch and writes at most numWriteVecs chains at once.
func TestWriteToFDLimits(t *testing.T) {
	a, c := socketpair(t)
	var b, tmp Buffer
	for i := 0; i < numWriteVecs+10; i++ {
		tmp.AddString("0123456789")
		b.AddBuffer(&tmp)
	}
	n, err := b.WriteToFD(a, 15)
	if n != 15 || err != nil {
		t.Fatalf("WriteToFD(15) = %d, %v", n, err)
	}
	n, err = b.WriteToFD(a, -1)
	if n != numWriteVecs*10-5 || err != nil {
		t.Fatalf("WriteToFD(-1) = %d, %v (want %d: one writev)", n, err, numWriteVecs*10-5)
	}
	mustValid(t, &b)
	wantInt(t, "left", b.Len(), 90)
	var in Buffer
	in.SetMaxRead(1 << 16)
	in.ReadFromFD(c, -1)
	wantInt(t, "received", in.Len(), numWriteVecs*10+10)
}

// ReadFromFD and WriteToFD allocate nothing in steady state, with one
// extent or many.
func TestFDZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	a, c := socketpair(t)
	var out, in, tmp Buffer
	in.SetMaxRead(1 << 16)
	p := bytes.Repeat([]byte("w"), 3000)
	round := func() {
		for i := 0; i < 20; i++ { // many chains: writev
			tmp.Add(p[:100+i])
			out.AddBuffer(&tmp)
		}
		out.Add(p)
		want := out.Len()
		for out.Len() > 0 {
			if _, err := out.WriteToFD(a, -1); err != nil {
				t.Fatal(err)
			}
		}
		for in.Len() < want {
			if _, err := in.ReadFromFD(c, -1); err != nil {
				t.Fatal(err)
			}
		}
		in.Drain(in.Len())
	}
	round()
	if n := testing.AllocsPerRun(50, round); n != 0 {
		t.Errorf("%v allocations per round", n)
	}
}
