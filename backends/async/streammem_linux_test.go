//go:build linux

package async

import (
	"bytes"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
)

// setReadLater turns conn.readLater (sends before receives) on or off for the test.
func setReadLater(t *testing.T, on bool) {
	old := readLaterOn
	readLaterOn = on
	t.Cleanup(func() { readLaterOn = old })
}

// TestBulkEchoReadAfterSend runs 4 MiB through an echo (the input's chains moved to the
// output, as a proxy does): bulk receives then wait for the send of their bytes before
// the next receive starts (conn.readLater). Every byte comes back in order, also when
// the echo disables writing in bulk, after queuing its bytes (the waiting receive must then
// start at the flush, or reading would stall).
func TestBulkEchoReadAfterSend(t *testing.T) {
	setReady(t, false) // ring receives: this tests them
	for _, tc := range []struct {
		name      string
		multishot bool
		noWrite   bool // the echo disables writing after moving 1 MiB
	}{
		{"multishot", true, false},
		{"pinread", false, false},
		{"multishot/write-disabled", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkFDs(t)
			setMultishot(t, tc.multishot)
			setReadLater(t, true) // what this test checks, even under ASYNC_READNOW=1
			base := newBase(t)
			a, b := newPair(t, base, true)
			want := make([]byte, 4<<20)
			for i := range want {
				want[i] = byte(i * 7 / 5)
			}
			b.SetMaxSingleRead(256 << 10)
			b.SetMaxSingleWrite(256 << 10)
			moved := 0
			b.SetCallbacks(func(bev *bufferevent.BufferEvent) {
				moved += bev.Input().Len()
				bev.Output().AddBuffer(bev.Input())
				if tc.noWrite && moved >= 1<<20 {
					_ = bev.Disable(bufferevent.Write)
				}
			}, nil, nil)
			var got bytes.Buffer
			a.SetCallbacks(func(bev *bufferevent.BufferEvent) {
				p := make([]byte, bev.Input().Len())
				bev.Input().Remove(p)
				got.Write(p)
			}, nil, nil)
			for _, bev := range []*bufferevent.BufferEvent{a, b} {
				if err := bev.Enable(bufferevent.Read | bufferevent.Write); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := a.Write(want); err != nil {
				t.Fatal(err)
			}
			done := func() bool {
				if tc.noWrite {
					return moved == len(want)
				}
				return got.Len() == len(want)
			}
			deadline := time.Now().Add(20 * time.Second)
			for !done() && time.Now().Before(deadline) {
				_ = base.Loop(eventbase.LoopNonBlock)
				time.Sleep(50 * time.Microsecond)
			}
			if tc.noWrite {
				if moved != len(want) {
					t.Fatalf("the echo received %d bytes, want %d", moved, len(want))
				}
				if n := b.Output().Len(); n != len(want)-got.Len() {
					t.Fatalf("output holds %d bytes, want %d (sent %d)", n, len(want)-got.Len(), got.Len())
				}
			} else if !bytes.Equal(got.Bytes(), want) {
				t.Fatalf("echoed %d bytes, want %d (equal prefix: %v)", got.Len(), len(want), bytes.HasPrefix(want, got.Bytes()))
			}
			if lr := ringOf(base); lr == nil || lr.readLaters == 0 {
				t.Fatalf("no receive waited for its send")
			}
		})
	}
}
