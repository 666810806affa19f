//go:build linux

package ssl_test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/bufev/bufev/backends/ssl"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
)

// threadIO returns the read and write system calls the calling thread has
// made (syscr and syscw of /proc/thread-self/io; every read(2), readv(2),
// write(2) and writev(2) counts, EAGAIN included).
func threadIO(t *testing.T) (reads, writes int) {
	t.Helper()
	data, err := os.ReadFile("/proc/thread-self/io")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		var n int
		if _, err := fmt.Sscanf(string(line), "syscr: %d", &n); err == nil {
			reads = n
		} else if _, err := fmt.Sscanf(string(line), "syscw: %d", &n); err == nil {
			writes = n
		}
	}
	return reads, writes
}

// A small message costs the server one read and one write system call once
// the handshake is done: the loop decrypts the record it read whole
// without a second read to discover EAGAIN, and sends the echo's record in
// one write. The loop runs on this goroutine, locked to its thread, whose
// own system call counters are compared over 200 ping-pongs of 64 bytes
// over loopback TCP.
func TestOneReadOneWritePerMessage(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const msgs = 200
	p := testPKI(t)
	base := newBase(t)
	defer base.Close()
	fs, fc := tcpFDs(t)
	srv, err := ssl.NewSocket(base, fs, p.serverConfig(), ssl.Accepting, bufferevent.CloseOnFree)
	must(t, err)
	defer srv.Close()
	var failure error
	must(t, srv.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		_ = bev.WithLock(func(in, out *evbuffer.Buffer) { _ = out.AddBuffer(in) })
	}, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		if what != bufferevent.Connected {
			failure = err
		}
	}))
	must(t, srv.Enable(bufferevent.ReadWrite))
	raw := rawConn(t, fc)
	defer raw.Close()
	cli := tls.Client(raw, p.clientConfig())
	warm, start, done := make(chan error, 1), make(chan struct{}), make(chan error, 1)
	go func() {
		msg, reply := bytes.Repeat([]byte("x"), 64), make([]byte, 64)
		pingPong := func(n int) error {
			for range n {
				if _, err := cli.Write(msg); err != nil {
					return err
				}
				if _, err := io.ReadFull(cli, reply); err != nil {
					return err
				}
			}
			return nil
		}
		// The handshake, and the session tickets the server sends after
		// it, stay out of the count.
		warm <- pingPong(10)
		<-start
		done <- pingPong(msgs)
	}()
	var cliErr error
	var r0, w0, r1, w1, probe int
	phase := 0
	ok := runUntil(t, base, 20*time.Second, func() bool {
		switch phase {
		case 0:
			select {
			case cliErr = <-warm:
				// What reading the counters itself costs.
				a, _ := threadIO(t)
				r0, w0 = threadIO(t)
				probe = r0 - a
				phase = 1
				close(start)
			default:
			}
		case 1:
			select {
			case cliErr = <-done:
				r1, w1 = threadIO(t)
				phase = 2
			default:
			}
		}
		return phase == 2 || cliErr != nil || failure != nil
	})
	if phase == 0 {
		close(start) // let the client goroutine end
	}
	if !ok || cliErr != nil || failure != nil {
		t.Fatalf("ping-pong did not finish: client %v, server %v: %s", cliErr, failure, ssl.DebugState(srv))
	}
	reads, writes := r1-r0-probe, w1-w0
	t.Logf("%d messages: %d reads, %d writes on the loop thread", msgs, reads, writes)
	// A few loop passes may be spent otherwise (a timer of runUntil).
	if reads < msgs || reads > msgs+msgs/20 || writes < msgs || writes > msgs+msgs/20 {
		t.Errorf("%d messages cost %d reads and %d writes; want one of each per message", msgs, reads, writes)
	}
}
