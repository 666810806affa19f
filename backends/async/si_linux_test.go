//go:build linux

package async

import (
	"bytes"
	"errors"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"golang.org/x/sys/unix"
)

// TestSingleIssuer runs an echo exchange (listener, connect, 1 MiB each way, close) on a
// single-issuer ring with deferred task work, from one goroutine locked to its thread,
// and checks the teardown; then shows that a submission from another thread fails the
// bufferevents with EEXIST instead of hanging.
//
// It runs twice: with the ring blocking for the loop (the default on epoll: its deferred
// work runs inside the loop's waits) and with the ring watched through an eventfd
// (ringWait off, as on another poller).
func TestSingleIssuer(t *testing.T) {
	for _, wait := range []bool{true, false} {
		name := map[bool]string{true: "wait", false: "eventfd"}[wait]
		t.Run(name, func(t *testing.T) {
			defer func(old bool) { ringWait = old }(ringWait)
			ringWait = wait
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			testSingleIssuer(t, wait)
		})
	}
}

func testSingleIssuer(t *testing.T, wait bool) {
	checkFDs(t)
	base := newBase(t)
	if err := SetSingleIssuer(base); err != nil {
		if errors.Is(err, errors.ErrUnsupported) {
			t.Skipf("kernel without DEFER_TASKRUN: %v", err)
		}
		t.Fatal(err)
	}
	var server *bufferevent.BufferEvent
	ln, err := Listen(base, "tcp", "127.0.0.1:0", func(l *Listener, fd int, _ net.Addr) {
		bev, err := New(base, fd, bufferevent.CloseOnFree)
		if err != nil {
			t.Error(err)
			unix.Close(fd)
			return
		}
		server = bev
		bev.SetCallbacks(func(bev *bufferevent.BufferEvent) { bev.WriteBuffer(bev.Input()) }, nil, nil)
		bev.Enable(bufferevent.Read)
		l.Close()
	}, ListenerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if lr := ringOf(base); lr == nil || !lr.ring.SingleIssuer() {
		t.Fatal("not a single-issuer ring")
	} else if lr.waiting != wait || (lr.efd >= 0) == wait {
		t.Fatalf("ring waiting %v, eventfd %d; want waiting %v", lr.waiting, lr.efd, wait)
	}
	want := make([]byte, 1<<20)
	for i := range want {
		want[i] = byte(i * 31)
	}
	var got []byte
	client, err := New(base, -1, bufferevent.CloseOnFree)
	if err != nil {
		t.Fatal(err)
	}
	client.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		p, _ := bev.Input().Pullup(-1)
		got = append(got, p...)
		bev.Input().Drain(len(p))
		if len(got) >= len(want) {
			base.LoopBreak()
		}
	}, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		if what&bufferevent.Connected == 0 {
			t.Errorf("client event %v: %v", what, err)
			base.LoopBreak()
		}
	})
	client.Enable(bufferevent.Read)
	if err := Connect(client, ln.Addr()); err != nil {
		t.Fatal(err)
	}
	client.Write(want)
	dispatch(t, base, 10*time.Second)
	if !bytes.Equal(got, want) {
		t.Fatalf("echo: got %d bytes (equal %v)", len(got), bytes.Equal(got, want))
	}

	// A submission from another thread is refused by the kernel: the bufferevents get
	// the error.
	var gotErr error
	client.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		gotErr = err
	})
	other := make(chan struct{})
	go func() {
		defer close(other)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		client.WriteString("from elsewhere")
		loopOnce(t, base)
	}()
	<-other
	if !errors.Is(gotErr, unix.EEXIST) {
		t.Fatalf("event error after a foreign submission: %v; want EEXIST", gotErr)
	}
	client.Close()
	if server != nil {
		server.Close()
	}
	for range 3 {
		loopOnce(t, base)
	}
	if ringOf(base) != nil {
		t.Fatal("ring not torn down")
	}
}
