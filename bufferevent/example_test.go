package bufferevent_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/backend"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
)

// loopback is a complete custom bufferevent type: whatever is written to a
// loopback bufferevent comes back as its own input. It is written only
// against the public API, as a program outside this repository would.
type loopback struct {
	c      backend.Core
	kicked bool
	kickFn func()
}

// newLoopback is the type's constructor.
func newLoopback(base *eventbase.Base, opts bufferevent.Options) (*bufferevent.BufferEvent, error) {
	lb := &loopback{}
	return bufferevent.New(base, bufferevent.Config{Type: "loopback", Options: opts}, func(c backend.Core) (backend.Ops, error) {
		lb.c = c
		lb.kickFn = lb.run
		// Start a transfer whenever the user adds output.
		c.Output().AddCallback(func(_ *evbuffer.Buffer, info evbuffer.CallbackInfo) {
			if info.Added > 0 {
				lb.kick()
			}
		})
		return lb, nil
	})
}

func init() {
	// Register the type like the built-in ones (a real backend does this in
	// its package's init).
	bufferevent.Register("loopback", newLoopback)
}

func (lb *loopback) kick() {
	if lb.kicked || !lb.c.OnLoop() {
		return // (a ThreadSafe version would use lb.c.RunInLoop here)
	}
	lb.kicked = true
	lb.c.Base().Defer(lb.kickFn)
}

// run moves output to input on the loop, honouring the input limit, then
// lets the core run the callbacks (watermarks and deferral included).
func (lb *loopback) run() {
	lb.c.Enter()
	defer lb.c.Leave()
	lb.kicked = false
	if lb.c.Closed() || !lb.c.Active(bufferevent.ReadWrite) {
		return
	}
	in, out := lb.c.Input(), lb.c.Output()
	in.Unfreeze(false)
	out.Unfreeze(true)
	n, _ := out.RemoveBuffer(in, lb.c.InputRoom())
	out.Freeze(true)
	in.Freeze(false)
	if n > 0 {
		lb.c.TriggerRead(0)
		lb.c.TriggerWrite(0)
	}
}

func (lb *loopback) Enable(bufferevent.Direction) error  { lb.kick(); return nil }
func (lb *loopback) Disable(bufferevent.Direction) error { return nil }
func (lb *loopback) Flush(_ bufferevent.Direction, mode bufferevent.FlushMode) (bool, error) {
	if mode == bufferevent.Finished {
		lb.c.TriggerEvent(bufferevent.Reading|bufferevent.EOF, nil, bufferevent.TriggerDefer)
	}
	return false, nil
}
func (lb *loopback) AdjustTimeouts() error { return lb.c.AdjustGenericTimeouts() }
func (lb *loopback) Close() error          { return nil }

// Example_customType registers a custom bufferevent type and uses it through
// the ordinary API: callbacks, watermarks, flush and close.
func Example_customType() {
	base, _ := eventbase.New(eventbase.Config{})
	defer base.Close()

	bev, err := bufferevent.Open(base, "loopback", 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	// The read callback runs only once 5 bytes are buffered.
	_ = bev.SetWatermark(bufferevent.Read, 5, 0)
	_ = bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		p := make([]byte, 64)
		n, _ := bev.Read(p)
		fmt.Printf("read %q\n", p[:n])
		_, _ = bev.Flush(bufferevent.Write, bufferevent.Finished)
	}, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		fmt.Println("event:", what, errors.Is(err, io.EOF))
		_ = bev.Close()
	})
	_ = bev.Enable(bufferevent.Read)
	_, _ = bev.Write([]byte("hel"))
	_, _ = bev.Write([]byte("lo"))
	_ = base.Dispatch()

	_, err = bufferevent.Open(base, "carrier-pigeon", 0)
	fmt.Println(err)
	// Output:
	// read "hello"
	// event: Reading|EOF true
	// bufferevent: unknown type "carrier-pigeon" (forgotten import?)
}

// ExampleNetConn runs blocking net.Conn code over a bufferevent: here the
// custom loopback type above, so what the conn writes it reads back.
func ExampleNetConn() {
	base, _ := eventbase.New(eventbase.Config{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = base.Loop(eventbase.LoopNoExitOnEmpty)
	}()

	var conn net.Conn
	var err error
	// NetConn is loop-confined for a loop-confined bufferevent: build both
	// on the loop.
	_ = base.Do(context.Background(), func() {
		var bev *bufferevent.BufferEvent
		if bev, err = bufferevent.Open(base, "loopback", 0); err == nil {
			conn, err = bufferevent.NetConn(bev)
		}
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, _ = conn.Write([]byte("ping"))
	buf := make([]byte, 4)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := io.ReadFull(conn, buf)
	fmt.Println(string(buf[:n]), err)
	_ = conn.Close()

	base.LoopBreak()
	<-done
	_ = base.Close()
	// Output: ping <nil>
}
