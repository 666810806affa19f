package dialertest

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
)

// halfClosePeer accepts one connection on a blocking listener, reads until EOF, checks
// it got want, then writes reply and closes. It reports what went wrong on errc (nil when
// all went well).
func halfClosePeer(t *testing.T, want []byte, reply string) (net.Addr, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	errc := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		defer c.Close()
		// Without a half-close the read below never sees EOF.
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		got, err := io.ReadAll(c)
		if err != nil {
			errc <- err
			return
		}
		if !bytes.Equal(got, want) {
			errc <- errors.New("peer: the bytes before EOF differ")
			return
		}
		if _, err := c.Write([]byte(reply)); err != nil {
			errc <- err
			return
		}
		errc <- nil
	}()
	return ln.Addr(), errc
}

// FinishedHalfClose checks that Flush(Write, Finished) on a connected bufferevent sends what the output holds, then shuts
// the write side down (shutdown(SHUT_WR)): the peer reads everything, then EOF, and can
// still answer; the bufferevent keeps reading until the peer's own EOF. The output may be
// large (the shutdown waits until the writes drain it), empty (at once), or written
// before the connect completed (after the connect). The peer is a standard-library
// listener on 127.0.0.1. Safe for concurrent use (each call has its own base and peer).
func FinishedHalfClose(t *testing.T, b Backend) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB: more than the socket takes at once
	cases := []struct {
		name string
		data []byte
		// when: "connected" flushes in the Connected event, "connecting" right after
		// Connect, before the connect completes, "before" before Connect (no socket yet).
		when string
	}{
		{"large output", big, "connected"},
		{"empty output", nil, "connected"},
		{"while connecting", []byte("request"), "connecting"},
		{"empty while connecting", nil, "connecting"},
		{"before Connect", []byte("request"), "before"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if b.Setup != nil {
				b.Setup(t)
			}
			base := NewBase(t)
			addr, peer := halfClosePeer(t, c.data, "response")
			bev, err := b.New(base, bufferevent.CloseOnFree)
			if err != nil {
				t.Fatal(err)
			}
			defer bev.Close()
			var got bytes.Buffer
			eof := false
			finish := func() {
				if _, err := bev.Flush(bufferevent.Write, bufferevent.Finished); err != nil {
					t.Errorf("Flush(Write, Finished): %v", err)
				}
			}
			drain := func(bev *bufferevent.BufferEvent) {
				var tmp [512]byte
				for n, _ := bev.Read(tmp[:]); n > 0; n, _ = bev.Read(tmp[:]) {
					got.Write(tmp[:n])
				}
			}
			bev.SetCallbacks(drain, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
				switch {
				case what&bufferevent.Connected != 0:
					if c.when == "connected" {
						bev.Write(c.data)
						finish()
					}
				case what&bufferevent.EOF != 0:
					drain(bev)
					eof = true
					base.LoopBreak()
				default:
					t.Errorf("event %v: %v", what, err)
					base.LoopBreak()
				}
			})
			bev.Enable(bufferevent.ReadWrite)
			if c.when == "before" { // no socket yet: Connect creates it
				bev.Write(c.data)
				finish()
			}
			if err := b.Connect(bev, addr); err != nil {
				t.Fatal(err)
			}
			if c.when == "connecting" {
				bev.Write(c.data)
				finish()
			}
			Dispatch(t, base, 5*time.Second)
			if err := <-peer; err != nil {
				t.Fatalf("peer: %v", err)
			}
			if !eof || got.String() != "response" {
				t.Fatalf("bufferevent read %q (EOF %v), want the peer's response then EOF", got.String(), eof)
			}
		})
	}
}
