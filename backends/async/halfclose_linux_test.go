//go:build linux

package async

import (
	"bytes"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
)

// The socket backend's half-close tests (backends/socket/halfclose_test.go) run on
// async bufferevents.

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

// Flush(Write, Finished) on an async bufferevent sends what the output holds, then shuts
// the write side down (shutdown(SHUT_WR)): the peer reads everything, then EOF, and can
// still answer; the bufferevent keeps reading until the peer's own EOF. The output may be
// large (the shutdown waits for the direct send and the send operation that drain it), empty (at once), or written
// before the connect completed (after the connect).
func TestFinishedHalfClose(t *testing.T) {
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
			base := newBase(t)
			addr, peer := halfClosePeer(t, c.data, "response")
			bev, err := New(base, -1, bufferevent.CloseOnFree)
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
			if err := Connect(bev, addr); err != nil {
				t.Fatal(err)
			}
			if c.when == "connecting" {
				bev.Write(c.data)
				finish()
			}
			dispatch(t, base, 5*time.Second)
			if err := <-peer; err != nil {
				t.Fatalf("peer: %v", err)
			}
			if !eof || got.String() != "response" {
				t.Fatalf("bufferevent read %q (EOF %v), want the peer's response then EOF", got.String(), eof)
			}
		})
	}
}

// Output added after the write side was shut down fails with an Error event for writing
// (EPIPE), not silently; a second Finished is harmless; Flush(Read, Finished) shuts
// nothing down.
func TestFinishedThenWrite(t *testing.T) {
	base := newBase(t)
	fds := socketPair(t)
	bev, err := New(base, fds[0], 0)
	if err != nil {
		t.Fatal(err)
	}
	defer bev.Close()
	if _, err := bev.Flush(bufferevent.Read, bufferevent.Finished); err != nil {
		t.Fatal(err)
	}
	var buf [8]byte
	syscall.SetNonblock(fds[1], true)
	if _, err := syscall.Read(fds[1], buf[:]); !errors.Is(err, syscall.EAGAIN) {
		t.Fatalf("after Flush(Read, Finished) the peer's read = %v, want EAGAIN (no EOF)", err)
	}
	for range 2 {
		if _, err := bev.Flush(bufferevent.Write, bufferevent.Finished); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := syscall.Read(fds[1], buf[:]); n != 0 || err != nil {
		t.Fatalf("after Flush(Write, Finished) the peer's read = %d, %v, want EOF", n, err)
	}
	var what bufferevent.Events
	var werr error
	bev.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, w bufferevent.Events, err error) {
		what, werr = w, err
	})
	bev.Enable(bufferevent.Write)
	bev.WriteString("late")
	base.Loop(0)
	if what != bufferevent.Writing|bufferevent.Error || !errors.Is(werr, syscall.EPIPE) {
		t.Fatalf("writing after the shutdown: event %v, %v; want Writing|Error with EPIPE", what, werr)
	}
}
