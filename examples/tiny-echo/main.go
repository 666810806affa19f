package main

import (
	"log"
	"net"
	"os"

	"github.com/bufev/bufev/backends/socket"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
)

func main() {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := serve(base, "127.0.0.1:9000"); err != nil {
		log.Fatal(err)
	}
	log.Fatal(base.Dispatch()) // one goroutine runs the loop and every callback
}

// serve echoes every connection accepted on addr.
func serve(base *eventbase.Base, addr string) (*socket.Listener, error) {
	return socket.Listen(base, "tcp", addr, func(_ *socket.Listener, fd int, _ net.Addr) {
		bev, err := socket.New(base, fd, bufferevent.CloseOnFree)
		if err != nil {
			os.NewFile(uintptr(fd), "").Close()
			return
		}
		bev.SetWatermark(bufferevent.Read, 0, 64<<10) // read at most 64 KiB ahead
		bev.SetCallbacks(func(bev *bufferevent.BufferEvent) {
			bev.Output().AddBuffer(bev.Input()) // move the chains: no copy
		}, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
			bev.Close() // EOF, error or timeout
		})
		bev.Enable(bufferevent.Read | bufferevent.Write)
	}, socket.ListenerOptions{Flags: socket.ListenReuseAddr})
}
