//go:build linux

package async_test

import (
	"fmt"
	"net"

	"github.com/bufev/bufev/backends/async"
	"github.com/bufev/bufev/backends/socket"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
	"golang.org/x/sys/unix"
)

// newBEV picks the async backend where io_uring is available and the socket backend
// elsewhere.
func newBEV(base *eventbase.Base, fd int) (*bufferevent.BufferEvent, error) {
	if async.Available() == nil {
		return async.New(base, fd, bufferevent.CloseOnFree)
	}
	return socket.New(base, fd, bufferevent.CloseOnFree)
}

// An echo server and a client on one loop: the server echoes what it reads, the client
// prints the echo and closes everything.
func Example() {
	base, _ := eventbase.New(eventbase.Config{})
	defer base.Close()
	var server *bufferevent.BufferEvent
	accept := func(fd int) {
		bev, err := newBEV(base, fd)
		if err != nil {
			unix.Close(fd)
			return
		}
		server = bev
		bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
			bev.WriteBuffer(bev.Input()) // moves the chains, no copy
		}, nil, nil)
		bev.Enable(bufferevent.Read)
	}
	var addr net.Addr // the listener closes itself after its first connection
	if async.Available() == nil {
		ln, err := async.Listen(base, "tcp", "127.0.0.1:0", func(l *async.Listener, fd int, _ net.Addr) {
			accept(fd)
			l.Close()
		}, async.ListenerOptions{})
		if err != nil {
			fmt.Println(err)
			return
		}
		addr = ln.Addr()
	} else {
		ln, err := socket.Listen(base, "tcp", "127.0.0.1:0", func(l *socket.Listener, fd int, _ net.Addr) {
			accept(fd)
			l.Close()
		}, socket.ListenerOptions{})
		if err != nil {
			fmt.Println(err)
			return
		}
		addr = ln.Addr()
	}

	client, _ := newBEV(base, -1)
	client.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		if bev.Input().Len() < len("hello, ring") {
			return
		}
		p, _ := bev.Input().Pullup(-1)
		fmt.Printf("echo: %s\n", p)
		bev.Close()
		server.Close()
	}, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		if what&bufferevent.Connected != 0 {
			fmt.Println("connected")
		}
	})
	client.Enable(bufferevent.Read)
	if async.Available() == nil {
		async.Connect(client, addr)
	} else {
		socket.Connect(client, addr)
	}
	client.WriteString("hello, ring")
	base.Dispatch()
	// Output:
	// connected
	// echo: hello, ring
}
