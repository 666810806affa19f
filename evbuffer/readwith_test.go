package evbuffer

import (
	"errors"
	"testing"
)

func TestReadWith(t *testing.T) {
	errRead := errors.New("read failed")
	tests := []struct {
		name    string
		setup   func(b *Buffer)
		n       int
		read    func(b *Buffer) func(p []byte) (int, error)
		wantN   int
		wantErr error
		wantBuf string
	}{
		{"into an empty buffer", nil, 16, readFill("hello"), 5, nil, "hello"},
		{"after data, into its chain", func(b *Buffer) { b.AddString("ab") }, 8, readFill("cd"), 2, nil, "abcd"},
		{"space exactly n", nil, 3, readFill("xyz"), 3, nil, "xyz"},
		{"n zero does not call read", nil, 0, mustNotCall(t), 0, nil, ""},
		{"negative n", nil, -1, mustNotCall(t), 0, ErrNegative, ""},
		{"too large", nil, MaxChainSize + 1, mustNotCall(t), 0, ErrTooLarge, ""},
		{"frozen end", func(b *Buffer) { b.Freeze(false) }, 8, mustNotCall(t), 0, ErrFrozen, ""},
		{"nothing read", nil, 8, readFill(""), 0, nil, ""},
		// A nil read panicked (nil function call) after linking a chain.
		{"nil read", nil, 8, func(*Buffer) func([]byte) (int, error) { return nil }, 0, ErrNil, ""},
		{"error with bytes", nil, 8, func(*Buffer) func([]byte) (int, error) {
			return func(p []byte) (int, error) { return copy(p, "par"), errRead }
		}, 3, errRead, "par"},
		{"error without bytes", func(b *Buffer) { b.AddString("a") }, 8, func(*Buffer) func([]byte) (int, error) {
			return func([]byte) (int, error) { return 0, errRead }
		}, 0, errRead, "a"},
		{"count above the space", nil, 4, func(*Buffer) func([]byte) (int, error) {
			return func(p []byte) (int, error) { return len(p) + 1, nil }
		}, 0, ErrCommit, ""},
		{"negative count", nil, 4, func(*Buffer) func([]byte) (int, error) {
			return func([]byte) (int, error) { return -1, nil }
		}, 0, ErrCommit, ""},
		{"read changes the buffer", nil, 4, func(b *Buffer) func([]byte) (int, error) {
			return func(p []byte) (int, error) { n := copy(p, "ab"); b.AddString("zz"); return n, nil }
		}, 0, ErrCommit, "zz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b Buffer
			if tt.setup != nil {
				tt.setup(&b)
			}
			n, err := b.ReadWith(tt.n, tt.read(&b))
			if n != tt.wantN || !errors.Is(err, tt.wantErr) {
				t.Fatalf("ReadWith = %d, %v; want %d, %v", n, err, tt.wantN, tt.wantErr)
			}
			got := make([]byte, b.Len())
			b.CopyOut(got)
			if string(got) != tt.wantBuf {
				t.Fatalf("buffer holds %q, want %q", got, tt.wantBuf)
			}
			if err := b.validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func readFill(s string) func(*Buffer) func([]byte) (int, error) {
	return func(*Buffer) func([]byte) (int, error) {
		return func(p []byte) (int, error) { return copy(p, s), nil }
	}
}

func mustNotCall(t *testing.T) func(*Buffer) func([]byte) (int, error) {
	return func(*Buffer) func([]byte) (int, error) {
		return func([]byte) (int, error) {
			t.Error("read was called")
			return 0, nil
		}
	}
}

// A read that finds nothing gives the chain linked for it back: an idle
// buffer holds no memory; with a chain cache the chain goes to the cache.
func TestReadWithNothingKeepsNoChain(t *testing.T) {
	var cc ChainCache
	var b Buffer
	b.SetChainCache(&cc)
	n, err := b.ReadWith(256<<10, func([]byte) (int, error) { return 0, nil })
	if n != 0 || err != nil {
		t.Fatalf("ReadWith = %d, %v", n, err)
	}
	if b.first != nil || b.Len() != 0 {
		t.Fatalf("buffer keeps a chain (first %p, Len %d) after a read of nothing", b.first, b.Len())
	}
	if cc.Bytes() != 256<<10 {
		t.Fatalf("cache holds %d bytes, want the 256 KiB chain", cc.Bytes())
	}
}

func TestReadWithAllocs(t *testing.T) {
	var cc ChainCache
	var in, out Buffer
	in.SetChainCache(&cc)
	out.SetChainCache(&cc)
	msg := []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	fd := 7 // captured like a socket's descriptor
	read := func(p []byte) (int, error) { return copy(p, msg[:fd*9]), nil }
	echo := func() {
		_, _ = in.ReadWith(256<<10, read)
		_ = out.AddBuffer(&in)
		_ = out.Drain(out.Len())
	}
	echo()
	if a := testing.AllocsPerRun(100, echo); a != 0 {
		t.Fatalf("ReadWith echo allocates %v times", a)
	}
}
