//go:build linux

package socket_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/bufev/bufev/backends/socket"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
)

// A server that upper-cases what it receives, and a client that connects by host name,
// sends a line, prints the answer and closes; both on one event loop.
func Example() {
	base, _ := eventbase.New(eventbase.Config{})
	defer base.Close()

	ln, err := socket.Listen(base, "tcp", "127.0.0.1:0", func(l *socket.Listener, fd int, _ net.Addr) {
		bev, err := socket.New(base, fd, bufferevent.CloseOnFree)
		if err != nil {
			os.NewFile(uintptr(fd), "").Close()
			return
		}
		bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
			buf := make([]byte, 64)
			n, _ := bev.Read(buf)
			for i, c := range buf[:n] {
				if 'a' <= c && c <= 'z' {
					buf[i] = c - 'a' + 'A'
				}
			}
			bev.Write(buf[:n])
		}, nil, func(bev *bufferevent.BufferEvent, _ bufferevent.Events, _ error) { bev.Close() })
		bev.Enable(bufferevent.Read | bufferevent.Write)
	}, socket.ListenerOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()

	client, _ := socket.New(base, -1, bufferevent.CloseOnFree)
	client.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		buf := make([]byte, 64)
		n, _ := bev.Read(buf)
		fmt.Printf("answer: %s", buf[:n])
		bev.Close()
		base.LoopExit(0)
	}, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		if what&bufferevent.Connected != 0 {
			fmt.Println("connected")
			return
		}
		fmt.Println("client:", what, err)
		base.LoopExit(0)
	})
	client.Enable(bufferevent.Read | bufferevent.Write)
	client.WriteString("hello, bufev\n") // queued until the connect completes
	port := ln.Addr().(*net.TCPAddr).Port
	if err := socket.ConnectHostname(context.Background(), client, "tcp4", "localhost", port); err != nil {
		fmt.Println(err)
		return
	}
	base.Dispatch()
	// Output:
	// connected
	// answer: HELLO, BUFEV
}

// Connect failures arrive through the event callback, never from Connect itself.
func ExampleConnect() {
	base, _ := eventbase.New(eventbase.Config{})
	defer base.Close()

	// A port that is bound but not listening refuses connections.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr()
	l.Close()

	bev, _ := socket.New(base, -1, bufferevent.CloseOnFree)
	defer bev.Close()
	bev.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		fmt.Println("event:", what)
		var op *net.OpError
		fmt.Println("refused:", errorsAs(err, &op) && op.Op == "dial")
	})
	fmt.Println("Connect returned:", socket.Connect(bev, addr))
	base.Dispatch()
	// Output:
	// Connect returned: <nil>
	// event: Error
	// refused: true
}

// ListenReuseAddr and friends mirror libevent's LEV_OPT_* flags; a disabled listener
// leaves connections in the backlog until Enable.
func ExampleListen() {
	base, _ := eventbase.New(eventbase.Config{})
	defer base.Close()
	ln, err := socket.Listen(base, "tcp", "127.0.0.1:0", func(l *socket.Listener, fd int, peer net.Addr) {
		fmt.Println("accepted a connection from", peer.(*net.TCPAddr).IP)
		os.NewFile(uintptr(fd), "").Close()
		l.Close() // closing from the callback is fine
	}, socket.ListenerOptions{Flags: socket.ListenReuseAddr | socket.ListenDisabled, Backlog: 16})
	if err != nil {
		fmt.Println(err)
		return
	}
	c, _ := net.Dial("tcp", ln.Addr().String())
	defer c.Close()
	fmt.Println("enabled:", ln.Enabled())
	ln.Enable()
	base.Dispatch()
	// Output:
	// enabled: false
	// accepted a connection from 127.0.0.1
}

func errorsAs(err error, target **net.OpError) bool { return errors.As(err, target) }
