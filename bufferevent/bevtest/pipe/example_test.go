package pipe_test

import (
	"fmt"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/bevtest/pipe"
	"github.com/bufev/bufev/eventbase"
)

// Two connected bufferevents without sockets: what a writes, b reads.
func Example() {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		panic(err)
	}
	defer base.Close()
	a, b, err := pipe.New(base, 0)
	if err != nil {
		panic(err)
	}
	_ = b.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		buf := make([]byte, 64)
		n, _ := bev.Read(buf)
		fmt.Printf("b read %q\n", buf[:n])
		_ = a.Close()
	}, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		fmt.Println("b event:", what, err)
		_ = bev.Close()
	})
	_ = b.Enable(bufferevent.Read)
	_, _ = a.WriteString("hello")
	fmt.Println("partner of a is b:", pipe.Partner(a) == b)
	_ = base.Loop(0)
	// Output:
	// partner of a is b: true
	// b read "hello"
	// b event: Reading|EOF EOF
}
