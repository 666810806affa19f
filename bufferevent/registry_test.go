package bufferevent_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/backend"
	"github.com/bufev/bufev/bufferevent/bevtest/pipe"
	"github.com/bufev/bufev/eventbase"
)

func mustPanic(t *testing.T, name string, fn func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", name)
		}
	}()
	fn()
}

func TestRegister(t *testing.T) {
	restore := bufferevent.UnregisterAllTypesForTest()
	defer restore()
	open := func(*eventbase.Base, bufferevent.Options) (*bufferevent.BufferEvent, error) { return nil, nil }
	bufferevent.Register("zeta", open)
	bufferevent.Register("alpha", open)
	if got, want := bufferevent.Types(), []string{"alpha", "zeta"}; !slices.Equal(got, want) {
		t.Errorf("Types() = %v; want %v", got, want)
	}
	mustPanic(t, "duplicate", func() { bufferevent.Register("alpha", open) })
	mustPanic(t, "nil opener", func() { bufferevent.Register("beta", nil) })
	mustPanic(t, "empty name", func() { bufferevent.Register("", open) })
	if got := bufferevent.Types(); len(got) != 2 {
		t.Errorf("failed registrations changed Types(): %v", got)
	}
}

func TestUnknownType(t *testing.T) {
	base := newBase(t)
	_, err := bufferevent.Open(base, "nosuchtype", 0)
	if !errors.Is(err, bufferevent.ErrUnknownType) || !strings.Contains(err.Error(), "forgotten import?") {
		t.Errorf("Open(unknown) error = %v; want ErrUnknownType with a forgotten import hint", err)
	}
	_, err = bufferevent.New(base, bufferevent.Config{Type: "nosuchtype"}, func(backend.Core) (backend.Ops, error) {
		t.Error("build called for an unknown type")
		return nil, nil
	})
	if !errors.Is(err, bufferevent.ErrUnknownType) {
		t.Errorf("New(unknown) error = %v; want ErrUnknownType", err)
	}
}

func TestOpenRegistered(t *testing.T) {
	base := newBase(t)
	if !slices.Contains(bufferevent.Types(), pipe.TypeName) {
		t.Fatalf("Types() = %v; want it to contain %q", bufferevent.Types(), pipe.TypeName)
	}
	bev, err := bufferevent.Open(base, pipe.TypeName, 0)
	if err != nil {
		t.Fatal(err)
	}
	if bev.Type() != pipe.TypeName {
		t.Errorf("Type() = %q", bev.Type())
	}
	if p := pipe.Partner(bev); p == nil {
		t.Error("Partner = nil")
	} else {
		p.Close()
	}
	if err := bev.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	if _, err := bufferevent.Open(nil, pipe.TypeName, 0); !errors.Is(err, bufferevent.ErrNilBase) {
		t.Errorf("Open(nil base) = %v; want ErrNilBase", err)
	}
}

func newBase(t testing.TB) *eventbase.Base {
	t.Helper()
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { base.Close() })
	return base
}
