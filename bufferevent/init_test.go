package bufferevent_test

import (
	"errors"
	"testing"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/backend"
)

// embedded is a recorder that holds its bufferevent, as the socket backend
// does (Init).
type embedded struct {
	recorder
	bev bufferevent.BufferEvent
}

// TestInit builds a bufferevent in place: the handle is the embedded value,
// it reads and closes as New's do, and Init refuses a nil, a used and a
// failed BufferEvent, checking its arguments as New does.
func TestInit(t *testing.T) {
	base := newBase(t)
	e := &embedded{}
	build := func(c backend.Core) (backend.Ops, error) {
		e.c = c
		return &e.recorder, nil
	}
	if err := bufferevent.Init(&e.bev, base, bufferevent.Config{Type: "recorder"}, build); err != nil {
		t.Fatal(err)
	}
	bev := &e.bev
	if bufferevent.BackendOps(bev) != &e.recorder || e.c.Handle() != bev {
		t.Fatal("the built bufferevent is not the embedded one")
	}
	var got []byte
	if err := bev.SetCallbacks(func(b *bufferevent.BufferEvent) {
		p := make([]byte, b.Input().Len())
		n, _ := b.Input().Read(p)
		got = append(got, p[:n]...)
	}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := bev.Enable(bufferevent.Read); err != nil {
		t.Fatal(err)
	}
	e.deliver([]byte("hello"))
	if string(got) != "hello" {
		t.Fatalf("read callback got %q, want hello", got)
	}
	if err := bufferevent.Init(bev, base, bufferevent.Config{Type: "recorder"}, build); !errors.Is(err, bufferevent.ErrNotZero) {
		t.Fatalf("Init of a built bufferevent: %v, want ErrNotZero", err)
	}
	if err := bufferevent.Init(nil, base, bufferevent.Config{Type: "recorder"}, build); !errors.Is(err, bufferevent.ErrNotZero) {
		t.Fatalf("Init of nil: %v, want ErrNotZero", err)
	}
	if err := bev.Close(); err != nil {
		t.Fatal(err)
	}
	if e.closes != 1 {
		t.Fatalf("Ops.Close ran %d times, want 1", e.closes)
	}

	var fresh bufferevent.BufferEvent
	if err := bufferevent.Init(&fresh, nil, bufferevent.Config{Type: "recorder"}, build); !errors.Is(err, bufferevent.ErrNilBase) {
		t.Fatalf("nil base: %v, want ErrNilBase", err)
	}
	if err := bufferevent.Init(&fresh, base, bufferevent.Config{Type: "recorder", Options: 0x100}, build); !errors.Is(err, bufferevent.ErrInvalidOptions) {
		t.Fatalf("bad options: %v, want ErrInvalidOptions", err)
	}
	boom := errors.New("boom")
	if err := bufferevent.Init(&fresh, base, bufferevent.Config{Type: "recorder"}, func(backend.Core) (backend.Ops, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("build error: %v, want boom", err)
	}
	if err := bufferevent.Init(&fresh, base, bufferevent.Config{Type: "recorder"}, build); !errors.Is(err, bufferevent.ErrNotZero) {
		t.Fatalf("Init after a failed build: %v, want ErrNotZero", err)
	}
}
