package framing

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/bufev/bufev/backends/filter"
	"github.com/bufev/bufev/backends/pair"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
)

// TestOverPair runs both framers with the real filter backend over a pair:
// each flushed message becomes one frame (or line), the reader's input only
// holds whole ones, and an oversized frame from the peer becomes an Error
// event whose error wraps ErrFrameTooLarge through Err.
func TestOverPair(t *testing.T) {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	p0, p1, err := pair.New(base, bufferevent.CloseOnFree)
	if err != nil {
		t.Fatal(err)
	}
	wlp, _ := NewLengthPrefix(Uint16, 1000)
	rlp, _ := NewLengthPrefix(Uint16, 1000)
	bev1, err := filter.New(p0, nil, wlp.Out, bufferevent.CloseOnFree)
	if err != nil {
		t.Fatal(err)
	}
	defer bev1.Close()
	bev2, err := filter.New(p1, rlp.In, nil, bufferevent.CloseOnFree)
	if err != nil {
		t.Fatal(err)
	}
	defer bev2.Close()
	_ = bev2.SetWatermark(bufferevent.Read, 0, 100) // smaller than a frame
	var frames []string
	var evErr error
	var buf []byte
	_ = bev2.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		for {
			if bev.Input().Len() > 0 {
				if _, _, err := rlp.FrameLen(bev.Input()); err != nil {
					t.Errorf("input holds a partial frame: %v", err)
					return
				}
			}
			msg, err := rlp.ReadFrame(bev.Input(), buf)
			if err != nil {
				return
			}
			frames = append(frames, string(msg))
			buf = msg
		}
	}, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		if what&bufferevent.Error != 0 {
			evErr = err
		}
		_ = base.LoopExit(0)
	})
	_ = bev2.Enable(bufferevent.Read)
	_ = bev1.Enable(bufferevent.Write)

	msgs := []string{"first", string(bytes.Repeat([]byte("big"), 300)), "", "last"}
	for _, m := range msgs {
		_, _ = bev1.WriteString(m[:len(m)/2])
		_, _ = bev1.WriteString(m[len(m)/2:])
		if _, err := bev1.Flush(bufferevent.Write, bufferevent.Flush); err != nil {
			t.Fatal(err)
		}
	}
	// The peer sends a frame above the reader's maximum, by hand.
	_ = p0.Output().Add([]byte{0xff, 0xff})
	_ = base.LoopExit(5 * time.Second)
	if err := base.Dispatch(); err != nil {
		t.Fatal(err)
	}
	want := []string{"first", msgs[1], "last"} // an empty flush makes no frame
	if len(frames) != len(want) {
		t.Fatalf("got %d frames, want %d", len(frames), len(want))
	}
	for i := range want {
		if frames[i] != want[i] {
			t.Fatalf("frame %d = %q, want %q", i, frames[i], want[i])
		}
	}
	if !errors.Is(evErr, filter.ErrFailed) || !errors.Is(rlp.Err(), ErrFrameTooLarge) {
		t.Fatalf("event error %v, framer error %v", evErr, rlp.Err())
	}
}

// TestLinesOverPair: a line protocol over the filter backend; Flush ends a
// partial line with CRLF, and a Finished flush (EOF at the reader) in the
// middle of a line is ErrTruncated.
func TestLinesOverPair(t *testing.T) {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	p0, p1, err := pair.New(base, bufferevent.CloseOnFree)
	if err != nil {
		t.Fatal(err)
	}
	wl, _ := NewLines(evbuffer.EOLCRLF, 64)
	rl, _ := NewLines(evbuffer.EOLCRLF, 64)
	bev1, _ := filter.New(p0, nil, wl.Out, bufferevent.CloseOnFree)
	defer bev1.Close()
	bev2, _ := filter.New(p1, rl.In, nil, bufferevent.CloseOnFree)
	defer bev2.Close()
	var lines []string
	var events []bufferevent.Events
	_ = bev2.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		for {
			line, err := bev.Input().ReadLineSlice(evbuffer.EOLCRLF)
			if err != nil {
				return
			}
			lines = append(lines, string(line))
			if len(lines) == 3 {
				_ = base.LoopExit(0)
			}
		}
	}, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, _ error) {
		events = append(events, what)
		_ = base.LoopExit(0)
	})
	_ = bev2.Enable(bufferevent.Read)
	_ = bev1.Enable(bufferevent.Write)
	_, _ = bev1.WriteString("HELLO\r\nWOR")
	_, _ = bev1.WriteString("LD\r\nPING")
	_, _ = bev1.Flush(bufferevent.Write, bufferevent.Flush)
	_ = base.LoopExit(5 * time.Second)
	if err := base.Dispatch(); err != nil {
		t.Fatal(err)
	}
	if got := bytes.Join(toBytes(lines), []byte("|")); string(got) != "HELLO|WORLD|PING" {
		t.Fatalf("lines %q", got)
	}
	// A partial line, then EOF.
	_ = p0.Output().Add([]byte("PARTIAL"))
	_, _ = p0.Flush(bufferevent.Write, bufferevent.Finished)
	_ = base.LoopExit(5 * time.Second)
	if err := base.Dispatch(); err != nil {
		t.Fatal(err)
	}
	sawError := false
	for _, ev := range events {
		sawError = sawError || ev&bufferevent.Error != 0
	}
	if !sawError || !errors.Is(rl.Err(), ErrTruncated) {
		t.Fatalf("events %v, framer error %v", events, rl.Err())
	}
}

func toBytes(s []string) [][]byte {
	out := make([][]byte, len(s))
	for i := range s {
		out[i] = []byte(s[i])
	}
	return out
}
