//go:build unix

package evbuffer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// WriteToFD writes a single contributing chain with one write(2) and several
// with writev; both must send exactly the front bytes asked for and drain
// exactly what was written.
func TestWriteToFDOneChainAndMany(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1024) // 16 KiB
	cases := []struct {
		name    string
		fill    func(b *Buffer)
		howmuch int
		want    []byte
	}{
		{"one chain, all", func(b *Buffer) { b.AddString("hello") }, -1, []byte("hello")},
		{"one chain, front", func(b *Buffer) { b.AddString("hello") }, 2, []byte("he")},
		{"one chain, more than held", func(b *Buffer) { b.AddString("hello") }, 100, []byte("hello")},
		{"one chain, empty spare after it", func(b *Buffer) {
			b.AddString("hi")
			var v [1][]byte
			if _, err := b.Reserve(64<<10, v[:]); err != nil {
				t.Fatal(err)
			}
		}, -1, []byte("hi")},
		{"after a drained front", func(b *Buffer) {
			b.AddString("xxhello")
			b.Drain(2)
		}, -1, []byte("hello")},
		{"two chains, all", func(b *Buffer) {
			b.AddString("ab")
			b.AddBuffer(bufOf("cd"))
		}, -1, []byte("abcd")},
		{"two chains, within the first", func(b *Buffer) {
			b.AddString("ab")
			b.AddBuffer(bufOf("cd"))
		}, 1, []byte("a")},
		{"two chains, into the second", func(b *Buffer) {
			b.AddString("ab")
			b.AddBuffer(bufOf("cd"))
		}, 3, []byte("abc")},
		{"many chains", func(b *Buffer) {
			for i := 0; i < 10; i++ {
				b.AddBuffer(bufOf(string(big[:100])))
			}
		}, -1, bytes.Repeat(big[:100], 10)},
	}
	// Each case runs with the plain write and with FlagNonblockingFD's raw one.
	for _, flags := range []Flags{0, FlagNonblockingFD} {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("flags=%d/%s", flags, tc.name), func(t *testing.T) {
				testWriteCase(t, flags, tc.fill, tc.howmuch, tc.want)
			})
		}
	}
}

// testWriteCase fills a buffer with the given flags, writes howmuch of it to
// a socket and checks that the peer reads want and the buffer drained it.
func testWriteCase(t *testing.T, flags Flags, fill func(*Buffer), howmuch int, want []byte) {
	w, r := socketpair(t)
	var b Buffer
	b.SetFlags(flags)
	fill(&b)
	before := b.Len()
	n, err := b.WriteToFD(w, howmuch)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(want) {
		t.Fatalf("wrote %d, want %d", n, len(want))
	}
	if b.Len() != before-n {
		t.Fatalf("Len %d after writing %d of %d", b.Len(), n, before)
	}
	got := make([]byte, 2*len(want)+16)
	m, err := unix.Read(r, got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[:m], want) {
		t.Fatalf("peer read %q, want %q", got[:m], want)
	}
}

// With FlagNonblockingFD, a write to a full non-blocking socket returns
// EAGAIN as an *os.SyscallError at once and drains nothing; a closed peer
// gives EPIPE, as without the flag.
func TestWriteToFDNonblockingErrors(t *testing.T) {
	w, r := socketpair(t)
	var b Buffer
	b.SetFlags(FlagNonblockingFD)
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		b.Add(chunk)
		_, err = b.WriteToFD(w, -1)
	}
	var se *os.SyscallError
	if !errors.As(err, &se) || !errors.Is(err, syscall.EAGAIN) {
		t.Fatalf("writing into a full socket: %v; want an EAGAIN *os.SyscallError", err)
	}
	left := b.Len()
	if left == 0 {
		t.Fatal("the failed write drained the buffer")
	}
	unix.Close(r)
	n, err := b.WriteToFD(w, -1)
	if n != 0 || !errors.Is(err, syscall.EPIPE) || b.Len() != left {
		t.Fatalf("after the peer closed: %d, %v, Len %d; want 0, EPIPE, %d", n, err, b.Len(), left)
	}
}

// A failed single-chain write reports an *os.SyscallError and drains nothing.
func TestWriteToFDOneChainError(t *testing.T) {
	w, r := socketpair(t)
	unix.Close(r)
	var b Buffer
	b.AddString("lost?")
	n, err := b.WriteToFD(w, -1)
	var se *os.SyscallError
	if n != 0 || !errors.As(err, &se) || !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("WriteToFD to a closed peer = %d, %v; want 0 and an EPIPE *os.SyscallError", n, err)
	}
	if b.Len() != 5 {
		t.Fatalf("Len %d after a failed write, want 5", b.Len())
	}
}

func bufOf(s string) *Buffer {
	b := New()
	b.AddString(s)
	return b
}
