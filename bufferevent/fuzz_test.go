package bufferevent_test

import (
	"bytes"
	"testing"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/bevtest/pipe"
	"github.com/bufev/bufev/eventbase"
)

// FuzzPipeOps drives a pipe pair with a random sequence of writes, reads,
// enables, disables, watermark changes, flushes and loop turns, and checks
// the core's invariants against a model: the reader receives a prefix of
// what was sent, in order, and a loop turn never fills the input beyond the
// read high watermark (except after a Flush, which ignores it, until drained);
// in the end everything arrives.
func FuzzPipeOps(f *testing.F) {
	f.Add([]byte{0, 200, 6, 2, 6, 1, 50, 6})
	f.Add([]byte{4, 2, 2, 0, 255, 0, 255, 6, 6, 1, 10, 6, 6, 5, 3, 6, 3, 0, 9, 6, 2, 6})
	f.Add([]byte{2, 4, 1, 0, 100, 7, 6, 3, 0, 100, 6, 2, 5, 31, 6, 1, 255, 6})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 400 {
			ops = ops[:400]
		}
		base, err := eventbase.New(eventbase.Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer base.Close()
		a, b, err := pipe.New(base, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		defer b.Close()
		var sent, got bytes.Buffer
		seq := byte(0)
		high := 0
		flushed := false
		buf := make([]byte, 256)
		drain := func(n int) {
			k, err := b.Read(buf[:n])
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			got.Write(buf[:k])
		}
		arg := func(i int) int {
			if i+1 < len(ops) {
				return int(ops[i+1])
			}
			return 0
		}
		for i := 0; i < len(ops); i++ {
			k := arg(i)
			switch ops[i] % 8 {
			case 0:
				p := make([]byte, k)
				for j := range p {
					p[j] = seq
					seq++
				}
				if _, err := a.Write(p); err != nil {
					t.Fatalf("Write: %v", err)
				}
				sent.Write(p)
				i++
			case 1:
				drain(k)
				i++
			case 2:
				_ = b.Enable(bufferevent.Read)
			case 3:
				_ = b.Disable(bufferevent.Read)
			case 4:
				high = (k % 8) * 16
				lo, _, _ := b.Watermark(bufferevent.Read)
				if high > 0 && lo > high {
					lo = high
				}
				if err := b.SetWatermark(bufferevent.Read, lo, high); err != nil {
					t.Fatalf("SetWatermark(%d, %d): %v", lo, high, err)
				}
				i++
			case 5:
				lo := k % 32
				if high > 0 && lo > high {
					lo = high
				}
				_ = b.SetWatermark(bufferevent.Read, lo, high)
				i++
			case 6:
				before := b.Input().Len()
				_ = base.Loop(eventbase.LoopNonBlock)
				after := b.Input().Len()
				if flushed && after <= high {
					flushed = false
				}
				// Lowering the watermark leaves what is buffered; the
				// loop must just not add beyond it.
				if high > 0 && !flushed && after > before && after > high {
					t.Fatalf("loop turn grew the input from %d to %d, above the high watermark %d", before, after, high)
				}
			case 7:
				// Flush ignores the high watermark (as libevent's pair).
				_, _ = a.Flush(bufferevent.Write, bufferevent.Flush)
				flushed = true
			}
			if !bytes.HasPrefix(sent.Bytes(), got.Bytes()) {
				t.Fatalf("received bytes are not a prefix of the sent ones (op %d)", i)
			}
		}
		// Everything must arrive once reading is enabled and drained.
		_ = b.SetWatermark(bufferevent.Read, 0, 0)
		_ = b.Enable(bufferevent.Read)
		for range 2000 {
			if got.Len() == sent.Len() {
				break
			}
			_ = base.Loop(eventbase.LoopNonBlock)
			drain(len(buf))
		}
		if !bytes.Equal(got.Bytes(), sent.Bytes()) {
			t.Fatalf("received %d of %d bytes", got.Len(), sent.Len())
		}
	})
}
