//go:build linux

package async

import (
	"bytes"
	"errors"
	"testing"

	"github.com/bufev/bufev/evbuffer"
)

// TestPinningProtectsInFlight runs the four operations that freezes alone do not stop
// from freeing, reusing, moving or overwriting memory the kernel owns (they are allowed
// on a buffer frozen the way a bufferevent freezes it) against buffers with an
// operation pinned in flight, the way this backend uses them: the memory handed to the
// kernel stays untouched.
func TestPinningProtectsInFlight(t *testing.T) {
	t.Run("InputDrainKeepsReadSpace", func(t *testing.T) {
		var in evbuffer.Buffer
		in.Add([]byte("abc"))
		vec := make([][]byte, 1)
		if _, err := in.PinRead(100, vec); err != nil {
			t.Fatal(err)
		}
		if err := in.Drain(3); err != nil {
			t.Fatal(err)
		}
		copy(vec[0], "kernel")
		if err := in.CommitRead(6); err != nil {
			t.Fatal(err)
		}
		if got := string(mustPullup(t, &in)); got != "kernel" {
			t.Fatalf("input = %q after a drain during the read", got)
		}
	})
	t.Run("InputPrependLeavesReadSpace", func(t *testing.T) {
		var in evbuffer.Buffer
		vec := make([][]byte, 1)
		if _, err := in.PinRead(100, vec); err != nil {
			t.Fatal(err)
		}
		for i := range vec[0] {
			vec[0][i] = 'k' // what "the kernel" wrote
		}
		if err := in.Prepend([]byte("user")); err != nil {
			t.Fatal(err)
		}
		if bytes.Count(vec[0], []byte{'k'}) != len(vec[0]) {
			t.Fatal("Prepend wrote into the space of the read in flight")
		}
		if err := in.CommitRead(100); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("OutputAddDoesNotRealignSendInFlight", func(t *testing.T) {
		var out evbuffer.Buffer
		out.Add(bytes.Repeat([]byte{'a'}, 1000))
		out.Drain(900)
		vecs := make([][]byte, 1)
		if _, err := out.PinWrite(1000, vecs); err != nil {
			t.Fatal(err)
		}
		out.Add(bytes.Repeat([]byte{'b'}, 100))
		out.Add(bytes.Repeat([]byte{'c'}, 800))
		if !bytes.Equal(vecs[0], bytes.Repeat([]byte{'a'}, 100)) {
			t.Fatal("the bytes of the send in flight were moved or overwritten")
		}
		if err := out.CommitWrite(100); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("OutputPullupRefusesSendInFlight", func(t *testing.T) {
		var out evbuffer.Buffer
		out.Add(bytes.Repeat([]byte{'a'}, 4000))
		out.AddReference([]byte("second chain"), nil)
		vecs := make([][]byte, 4)
		if _, err := out.PinWrite(1<<20, vecs); err != nil {
			t.Fatal(err)
		}
		if _, err := out.Pullup(-1); !errors.Is(err, evbuffer.ErrPinned) {
			t.Fatalf("Pullup across the send in flight = %v; want ErrPinned", err)
		}
		if err := out.CommitWrite(0); err != nil {
			t.Fatal(err)
		}
		if _, err := out.Pullup(-1); err != nil {
			t.Fatalf("Pullup after the commit: %v", err)
		}
	})
}

func mustPullup(t *testing.T, b *evbuffer.Buffer) []byte {
	t.Helper()
	p, err := b.Pullup(-1)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
