package eventbase

import (
	"errors"
	"testing"
)

// NewHandlerEvent refuses a nil Handler and a closed base with the same
// errors as NewEvent.
func TestNewHandlerEventErrors(t *testing.T) {
	b := localBase(t)
	if _, err := b.NewHandlerEvent(-1, Read, nil); !errors.Is(err, ErrNilCallback) {
		t.Fatalf("nil Handler: %v, want ErrNilCallback", err)
	}
	var typedNil *countHandler
	if _, err := b.NewHandlerEvent(-1, 0x4000, typedNil); !errors.Is(err, ErrInvalidEvents) {
		t.Fatalf("unknown bits: %v, want ErrInvalidEvents", err)
	}
	b.Close()
	if _, err := b.NewHandlerEvent(-1, Read, &countHandler{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed base: %v, want ErrClosed", err)
	}
	if _, err := b.NewEvent(-1, Read, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("NewEvent on a closed base with a nil callback: %v, want ErrClosed", err)
	}
}

type countHandler struct{ n int }

func (h *countHandler) HandleEvent(int, What) { h.n++ }
