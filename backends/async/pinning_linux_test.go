//go:build linux

package async

import (
	"bytes"
	"errors"
	"testing"

	"github.com/bufev/bufev/evbuffer"
)

// TestFreezeIsNotPinning records why the backend keeps in-flight chains in staging
// buffers of its own instead of relying on the freezes of the bufferevent's buffers (the
// reason this package's doc gives). Each case is an operation evbuffer allows on a
// buffer frozen the way a bufferevent freezes it that would free, reuse, move or
// overwrite memory the kernel owns if a completion-based operation were using it. If
// package evbuffer gains a pin API (or makes these operations respect freezes), these
// expectations change and the backend can read and write the bufferevent's buffers in
// place, as libevent's IOCP backend does.
func TestFreezeIsNotPinning(t *testing.T) {
	t.Run("InputDrainReleasesReservedSpace", func(t *testing.T) {
		// Input: end frozen while a receive writes into reserved space.
		var in evbuffer.Buffer
		in.Add([]byte("abc"))
		vec := make([][]byte, 1)
		if _, err := in.Reserve(100, vec); err != nil {
			t.Fatal(err)
		}
		in.Freeze(false)
		if err := in.Drain(3); err != nil { // allowed: only the end is frozen
			t.Fatal(err)
		}
		in.Unfreeze(false)
		vec[0] = vec[0][:10]
		if err := in.Commit(vec); !errors.Is(err, evbuffer.ErrCommit) {
			t.Fatalf("Commit after Drain = %v; want ErrCommit: the reserved chain was released", err)
		}
	})
	t.Run("InputPrependWritesIntoReservedSpace", func(t *testing.T) {
		var in evbuffer.Buffer
		vec := make([][]byte, 1)
		if _, err := in.Reserve(100, vec); err != nil {
			t.Fatal(err)
		}
		space := vec[0]
		for i := range space {
			space[i] = 'k' // what "the kernel" wrote
		}
		in.Freeze(false)
		if err := in.Prepend([]byte("user")); err != nil {
			t.Fatal(err)
		}
		if bytes.Count(space, []byte{'k'}) == len(space) {
			t.Fatal("Prepend did not touch the reserved space")
		}
	})
	t.Run("OutputAddRealignsChainInFlight", func(t *testing.T) {
		// Output: front frozen while a send reads the first chain's bytes.
		var out evbuffer.Buffer
		out.Add(bytes.Repeat([]byte{'a'}, 1000))
		out.Drain(900)
		vecs := make([][]byte, 1)
		out.Peek(-1, nil, vecs)
		inFlight := vecs[0] // what "the kernel" is sending
		out.Freeze(true)
		out.Add(bytes.Repeat([]byte{'b'}, 100)) // realigns the chain
		out.Add(bytes.Repeat([]byte{'c'}, 800)) // fills where the old bytes were
		if bytes.Equal(inFlight, bytes.Repeat([]byte{'a'}, 100)) {
			t.Fatal("the bytes of the send in flight survived: no realignment happened")
		}
	})
	t.Run("OutputPullupIgnoresFreeze", func(t *testing.T) {
		var out evbuffer.Buffer
		out.Add(bytes.Repeat([]byte{'a'}, 4000))
		out.AddReference([]byte("second chain"), nil)
		out.Freeze(true)
		if _, err := out.Pullup(-1); err != nil {
			t.Fatalf("Pullup on a frozen front = %v; this test expects it to be allowed", err)
		}
	})
}
