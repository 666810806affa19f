package bufferevent_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/bevtest/pipe"
	"github.com/bufev/bufev/eventbase"
)

// loopRunner runs a base's loop on its own goroutine.
type loopRunner struct {
	base *eventbase.Base
	done chan struct{}
}

func startLoop(t *testing.T) *loopRunner {
	t.Helper()
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	r := &loopRunner{base: base, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		if err := base.Loop(eventbase.LoopNoExitOnEmpty); err != nil {
			t.Errorf("Loop: %v", err)
		}
	}()
	t.Cleanup(r.stop)
	return r
}

func (r *loopRunner) stop() {
	select {
	case <-r.done:
		return
	default:
	}
	r.base.LoopBreak()
	<-r.done
	r.base.Close()
}

// connPair makes two NetConns over a pipe pair, on the loop.
func (r *loopRunner) connPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	var c1, c2 net.Conn
	var err error
	if derr := r.base.Do(context.Background(), func() {
		var a, b *bufferevent.BufferEvent
		if a, b, err = pipe.New(r.base, 0); err != nil {
			return
		}
		if c1, err = bufferevent.NetConn(a); err != nil {
			return
		}
		c2, err = bufferevent.NetConn(b)
	}); derr != nil {
		t.Fatal(derr)
	}
	if err != nil {
		t.Fatal(err)
	}
	return c1, c2
}

// chanListener is a net.Listener fed by Dial.
type chanListener struct {
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return fakeAddr("pipe-listener") }

type fakeAddr string

func (a fakeAddr) Network() string { return "pipe" }
func (a fakeAddr) String() string  { return string(a) }

// TestNetConnHTTP runs a net/http server and client over NetConns on the
// in-memory test pipe: small and large (1 MiB, beyond every buffer, so
// backpressure is exercised) request and response bodies.
func TestNetConnHTTP(t *testing.T) {
	r := startLoop(t)
	ln := &chanListener{conns: make(chan net.Conn), done: make(chan struct{})}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		if req.URL.Path == "/echo" {
			w.Write(body)
			return
		}
		io.WriteString(w, "hello from "+req.URL.Path)
	})}
	srvDone := make(chan struct{})
	go func() {
		defer close(srvDone)
		srv.Serve(ln)
	}()
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		c1, c2 := r.connPair(t)
		select {
		case ln.conns <- c2:
			return c1, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}}
	client := &http.Client{Transport: tr, Timeout: 20 * time.Second}

	resp, err := client.Get("http://pipe/greeting")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello from /greeting" {
		t.Errorf("GET body = %q", body)
	}

	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	resp, err = client.Post("http://pipe/echo", "application/octet-stream", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(body, big) {
		t.Errorf("echo: got %d bytes, want %d identical", len(body), len(big))
	}

	tr.CloseIdleConnections()
	srv.Close()
	<-srvDone
}

func TestNetConnDeadlines(t *testing.T) {
	r := startLoop(t)
	c1, c2 := r.connPair(t)
	defer c2.Close()

	c1.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	buf := make([]byte, 10)
	n, err := c1.Read(buf)
	var ne net.Error
	if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Read past deadline = %d, %v; want os.ErrDeadlineExceeded (a timeout net.Error)", n, err)
	}
	// Clearing the deadline makes Read work again.
	c1.SetReadDeadline(time.Time{})
	go c2.Write([]byte("late"))
	n, err = c1.Read(buf)
	if err != nil || string(buf[:n]) != "late" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	// A deadline set while Read waits wakes it.
	errc := make(chan error, 1)
	go func() {
		_, err := c1.Read(buf)
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond)
	c1.SetDeadline(time.Now())
	if err := <-errc; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read with deadline set meanwhile = %v", err)
	}
	// Write blocks once NetConnBuffer is waiting and the peer does not
	// read; the write deadline ends it.
	c1.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	_, err = c1.Write(make([]byte, 4*bufferevent.NetConnBuffer+bufferevent.DefaultMaxInput))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write past deadline = %v", err)
	}
	if err := c1.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c1.Read(buf); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after Close = %v; want net.ErrClosed", err)
	}
	if _, err := c1.Write(buf); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close = %v; want net.ErrClosed", err)
	}
	if err := c1.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close = %v", err)
	}
	if !strings.Contains(c1.LocalAddr().String(), "pipe") || c1.RemoteAddr().Network() != "pipe" {
		t.Errorf("addresses %v, %v", c1.LocalAddr(), c1.RemoteAddr())
	}
}

// TestNetConnEOF: Close on one side flushes its output and gives the other
// side io.EOF after the data.
// A Read blocked with nothing to read waits without work: the loop pulls
// once, finds nothing and wakes no one. (It used to wake the reader after
// every empty pull, and the reader queued another: a blocked Read kept the
// loop and a core busy, thousands of pulls in the 200 ms below.)
func TestNetConnBlockedReadIdles(t *testing.T) {
	r := startLoop(t)
	c1, c2 := r.connPair(t)
	defer c1.Close()
	defer c2.Close()
	pulls := bufferevent.CountPullsForTest(c2)
	if err := c2.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Read(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read = %v, want os.ErrDeadlineExceeded", err)
	}
	if n := pulls(); n > 3 {
		t.Fatalf("a Read blocked for 200 ms queued %d pulls on the loop, want at most 3", n)
	}
	// Data arriving later still reaches a blocked Read.
	if err := c2.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = c1.Write([]byte("late")) }()
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c2, buf); err != nil || string(buf) != "late" {
		t.Fatalf("ReadFull = %q, %v", buf, err)
	}
}

// A conn whose reader does not read while its input is full (rbuf full,
// the bufferevent's input at its high watermark) leaves the loop idle. The
// core re-triggers the read callback after every run that leaves the input
// at or above the high watermark (libevent's bufferevent_inbuf_wm_check),
// and the conn's pull, finding no room, left it there: the loop ran the
// pull over and over, a core busy for as long as the reader waited.
func TestNetConnFullInputIdles(t *testing.T) {
	r := startLoop(t)
	c1, c2 := r.connPair(t)
	defer c1.Close()
	defer c2.Close()
	pulls := bufferevent.CountLoopPullsForTest(c2)
	// Three buffers' worth: c2's rbuf and input (at its high watermark) take
	// two, c1's output the third, so the Write returns and nothing moves
	// after the loop has settled.
	data := bytes.Repeat([]byte("x"), 3*bufferevent.NetConnBuffer)
	if _, err := c1.Write(data); err != nil {
		t.Fatal(err)
	}
	// Settle: each Do waits for a loop turn, which runs what the last one
	// queued (c1's push, the pipe's transfer, c2's pull).
	for range 20 {
		if err := r.base.Do(context.Background(), func() {}); err != nil {
			t.Fatal(err)
		}
	}
	before := pulls()
	time.Sleep(200 * time.Millisecond)
	if n := pulls() - before; n > 3 {
		t.Fatalf("with the reader idle and the input full, the loop ran %d pulls in 200 ms, want at most 3", n)
	}
	// Everything still arrives once the reader reads.
	got := make([]byte, len(data))
	if _, err := io.ReadFull(c2, got); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadFull: %v (data equal: %v)", err, bytes.Equal(got, data))
	}
}

func TestNetConnEOF(t *testing.T) {
	r := startLoop(t)
	c1, c2 := r.connPair(t)
	defer c2.Close()
	data := bytes.Repeat([]byte("x"), 300<<10)
	go func() {
		c1.Write(data)
		c1.Close()
	}()
	got, err := io.ReadAll(c2)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadAll = %d bytes, %v; want %d bytes, nil", len(got), err, len(data))
	}
}

// TestNetConnConcurrentMethods follows x/net/nettest's RacyRead, RacyWrite
// and ConcurrentMethods: many goroutines reading, writing, setting
// deadlines and asking for addresses at once, then Close, under -race.
func TestNetConnConcurrentMethods(t *testing.T) {
	r := startLoop(t)
	c1, c2 := r.connPair(t)
	// c2 discards everything.
	discarded := make(chan struct{})
	go func() {
		defer close(discarded)
		io.Copy(io.Discard, c2)
	}()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(3)
		go func() {
			defer wg.Done()
			p := make([]byte, 1000+i)
			for range 50 {
				if _, err := c1.Write(p); err != nil {
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			p := make([]byte, 100)
			c1.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
			c1.Read(p) // nothing arrives: times out or sees Close
		}()
		go func() {
			defer wg.Done()
			_ = c1.LocalAddr().String()
			_ = c1.RemoteAddr().String()
			c1.SetWriteDeadline(time.Now().Add(time.Minute))
		}()
	}
	wg.Wait()
	if err := c1.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-discarded:
	case <-time.After(10 * time.Second):
		t.Fatal("peer did not see EOF after Close")
	}
	c2.Close()
}

// Once the base is closed, NetConn's Close closes the bufferevent on the
// caller's goroutine; conns closed at once from several goroutines must not
// race on what their loop-confined bufferevents share (the base's chain
// cache, which their buffers release chains into).
func TestNetConnCloseAfterBaseClosedConcurrently(t *testing.T) {
	r := startLoop(t)
	var conns []net.Conn
	for range 3 {
		a, b := r.connPair(t)
		conns = append(conns, a, b)
	}
	msg := bytes.Repeat([]byte("x"), 3000)
	for _, c := range conns {
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
	}
	r.stop()
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			if err := c.Close(); err != nil {
				t.Errorf("Close after the base closed: %v", err)
			}
		})
	}
	wg.Wait()
}

// Conns closed from several goroutines while another goroutine closes
// their (stopped) base: a Close that finds the base already refusing work
// closes its bufferevent on its own goroutine, and that must not overlap
// the base's Close, which is still running the work it accepted (other
// conns' closes) and then tearing the events down.
func TestNetConnCloseWhileBaseCloses(t *testing.T) {
	for range 20 {
		r := startLoop(t)
		var conns []net.Conn
		for range 4 {
			a, b := r.connPair(t)
			conns = append(conns, a, b)
		}
		msg := bytes.Repeat([]byte("x"), 3000)
		for _, c := range conns {
			if _, err := c.Write(msg); err != nil {
				t.Fatal(err)
			}
		}
		r.base.LoopBreak()
		<-r.done
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, c := range conns {
			wg.Go(func() {
				<-start
				if err := c.Close(); err != nil {
					t.Errorf("Close while the base closes: %v", err)
				}
			})
		}
		wg.Go(func() {
			<-start
			if err := r.base.Close(); err != nil {
				t.Errorf("base Close: %v", err)
			}
		})
		close(start)
		wg.Wait()
	}
}

// A Read or Write blocked on a conn whose base is closed returns: the
// base's Close closes the conn's bufferevent, what had arrived is still
// delivered, and then both directions fail with ErrClosed (they waited for
// good before). Here the peers are on the same base, and the base closes
// one before the other: a Read may see the peer's end of stream (io.EOF)
// first.
func TestNetConnBaseCloseEndsBlockedCalls(t *testing.T) {
	r := startLoop(t)
	c1, c2 := r.connPair(t)
	c3, c4 := r.connPair(t)
	// c2's Write fills both conns' buffers and the pipe, then blocks.
	writeErr := make(chan error, 1)
	go func() {
		_, err := c2.Write(make([]byte, 8*bufferevent.NetConnBuffer))
		writeErr <- err
	}()
	// c3's second Read blocks: nothing more comes.
	if _, err := c4.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	readErr := make(chan error, 1)
	go func() {
		p := make([]byte, 5)
		if _, err := io.ReadFull(c3, p); err != nil || string(p) != "hello" {
			readErr <- fmt.Errorf("first read: %q, %v", p, err)
			return
		}
		_, err := c3.Read(p)
		readErr <- err
	}()
	// c2's bytes are flowing: c1 gets one now, and the pipeline holds more
	// than that when the base closes.
	if _, err := io.ReadFull(c1, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // both block (a slow loop only makes the test weaker)
	r.base.LoopBreak()
	<-r.done
	if err := r.base.Close(); err != nil {
		t.Fatal(err)
	}
	for name, ch := range map[string]chan error{"c2.Write": writeErr, "c3.Read": readErr} {
		select {
		case err := <-ch:
			if !errors.Is(err, net.ErrClosed) && (name == "c2.Write" || err != io.EOF) {
				t.Errorf("%s after the base closed: %v, want ErrClosed", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s still blocked 10 s after the base closed", name)
		}
	}
	// c1 still gets what had reached it, then ErrClosed or EOF.
	n, err := io.Copy(io.Discard, c1)
	if n == 0 || err != nil && !errors.Is(err, net.ErrClosed) {
		t.Errorf("reading c1 after the base closed: %d bytes, %v; want some bytes, then ErrClosed or EOF", n, err)
	}
	for _, c := range []net.Conn{c1, c2, c3, c4} {
		if err := c.Close(); err != nil {
			t.Errorf("Close after the base closed: %v", err)
		}
	}
}

// An event that reports the end of the input and a write error at once (a
// bufferevent with deferred callbacks coalesces one turn's events: a FIN
// read and a failed write) ends both directions of the conn: Read gives
// io.EOF, Write the error. The EOF used to hide the error, and Write kept
// accepting bytes that could never be sent.
func TestNetConnCoalescedEOFAndError(t *testing.T) {
	r := startLoop(t)
	var c net.Conn
	var a, b *bufferevent.BufferEvent
	var err error
	if derr := r.base.Do(context.Background(), func() {
		if a, b, err = pipe.New(r.base, bufferevent.DeferCallbacks); err != nil {
			return
		}
		c, err = bufferevent.NetConn(a)
	}); derr != nil {
		t.Fatal(derr)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	defer r.base.Do(context.Background(), func() { b.Close() })
	broken := errors.New("write failed")
	if err := r.base.Do(context.Background(), func() {
		_ = a.TriggerEvent(bufferevent.EOF|bufferevent.Error|bufferevent.Reading|bufferevent.Writing, broken, 0)
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Errorf("Read = %d, %v; want 0, io.EOF", n, err)
	}
	if _, err := c.Write([]byte("lost")); !errors.Is(err, broken) {
		t.Errorf("Write = %v; want the write error", err)
	}
}
