package pair_test

import (
	"fmt"

	"github.com/bufev/bufev/backends/pair"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
)

// A pair carries a request and its reply; Flush(Write, Finished) ends the
// conversation with EOF.
func Example() {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		panic(err)
	}
	defer base.Close()
	client, server, err := pair.New(base, 0)
	if err != nil {
		panic(err)
	}
	// The server answers each request and then says it is done.
	_ = server.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		req := make([]byte, 64)
		n, _ := bev.Read(req)
		fmt.Printf("server got %q\n", req[:n])
		_, _ = fmt.Fprintf(bev, "hello, %s", req[:n])
		_, _ = bev.Flush(bufferevent.Write, bufferevent.Finished)
	}, nil, nil)
	_ = client.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		reply := make([]byte, 64)
		n, _ := bev.Read(reply)
		fmt.Printf("client got %q\n", reply[:n])
	}, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		fmt.Printf("client event %v: %v\n", what, err)
		_ = bev.Close()
		_ = server.Close()
	})
	_ = server.Enable(bufferevent.Read)
	_ = client.Enable(bufferevent.Read)
	_, _ = client.Write([]byte("gopher"))
	_ = base.Dispatch()
	// Output:
	// server got "gopher"
	// client got "hello, gopher"
	// client event Reading|EOF: EOF
}
