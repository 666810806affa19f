package bufferevent_test

import (
	"testing"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/bevtest/pipe"
	"github.com/bufev/bufev/eventbase"
)

func TestSmoke(t *testing.T) {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	a, b, err := pipe.New(base, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	b.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		p := make([]byte, 100)
		n, _ := bev.Read(p)
		got += string(p[:n])
		if len(got) == 5 {
			a.Close()
			b.Close()
		}
	}, nil, nil)
	b.Enable(bufferevent.Read)
	a.Write([]byte("hello"))
	if err := base.Dispatch(); err != nil {
		t.Fatal(err)
	}
	if got != "hello" {
		t.Fatalf("got %q", got)
	}
}
