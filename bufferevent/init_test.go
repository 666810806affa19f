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

// TestInitFailureLeaves pins what a failed Init leaves, as its doc says: an
// argument rejected before anything is built leaves the BufferEvent zero, so
// Init succeeds on it afterwards; a failing build (an error, or nil Ops)
// leaves it finalised, refused by a later Init, with no Ops.Close to run.
func TestInitFailureLeaves(t *testing.T) {
	base := newBase(t)
	tests := []struct {
		name     string
		base     bool // pass the base (else nil)
		cfg      bufferevent.Config
		build    func(backend.Core) (backend.Ops, error) // nil: no build function
		want     error
		reusable bool
	}{
		{"nil base", false, bufferevent.Config{Type: "recorder"}, okBuild, bufferevent.ErrNilBase, true},
		{"nil build", true, bufferevent.Config{Type: "recorder"}, nil, bufferevent.ErrNilBuild, true},
		{"unknown type", true, bufferevent.Config{Type: "no-such-type"}, okBuild, bufferevent.ErrUnknownType, true},
		{"bad options", true, bufferevent.Config{Type: "recorder", Options: 0x100}, okBuild, bufferevent.ErrInvalidOptions, true},
		{"bad write timer", true, bufferevent.Config{Type: "recorder", WriteTimer: 7}, okBuild, bufferevent.ErrInvalidOptions, true},
		{"build error", true, bufferevent.Config{Type: "recorder"}, func(backend.Core) (backend.Ops, error) { return nil, errBoom }, errBoom, false},
		{"nil ops", true, bufferevent.Config{Type: "recorder"}, func(backend.Core) (backend.Ops, error) { return nil, nil }, bufferevent.ErrNilBuild, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bufferevent.BufferEvent
			bb := base
			if !tt.base {
				bb = nil
			}
			if err := bufferevent.Init(&b, bb, tt.cfg, tt.build); !errors.Is(err, tt.want) {
				t.Fatalf("Init = %v, want %v", err, tt.want)
			}
			e := &embedded{}
			err := bufferevent.Init(&b, base, bufferevent.Config{Type: "recorder"}, func(c backend.Core) (backend.Ops, error) {
				e.c = c
				return &e.recorder, nil
			})
			if tt.reusable {
				if err != nil {
					t.Fatalf("Init after the failure = %v, want nil (b left zero)", err)
				}
				if _, err := b.Write([]byte("x")); err != nil {
					t.Fatalf("Write on the re-initialised bufferevent: %v", err)
				}
				if err := b.Close(); err != nil || e.closes != 1 {
					t.Fatalf("Close = %v with %d Ops.Close, want nil and 1", err, e.closes)
				}
				return
			}
			if !errors.Is(err, bufferevent.ErrNotZero) {
				t.Fatalf("Init after a failed build = %v, want ErrNotZero", err)
			}
			if _, err := b.Write([]byte("x")); !errors.Is(err, bufferevent.ErrClosed) {
				t.Fatalf("Write on the failed bufferevent = %v, want ErrClosed", err)
			}
		})
	}
}

var errBoom = errors.New("boom")

func okBuild(backend.Core) (backend.Ops, error) { return &recorder{}, nil }
