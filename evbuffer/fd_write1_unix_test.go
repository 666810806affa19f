//go:build unix

package evbuffer

import (
	"bytes"
	"errors"
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
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, r := socketpair(t)
			var b Buffer
			tc.fill(&b)
			before := b.Len()
			n, err := b.WriteToFD(w, tc.howmuch)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(tc.want) {
				t.Fatalf("wrote %d, want %d", n, len(tc.want))
			}
			if b.Len() != before-n {
				t.Fatalf("Len %d after writing %d of %d", b.Len(), n, before)
			}
			got := make([]byte, 2*len(tc.want)+16)
			m, err := unix.Read(r, got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got[:m], tc.want) {
				t.Fatalf("peer read %q, want %q", got[:m], tc.want)
			}
		})
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
