//go:build !linux

package uring

import (
	"errors"
	"testing"
)

func TestNotLinux(t *testing.T) {
	if _, err := New(8); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("New: %v, want errors.ErrUnsupported", err)
	}
	if _, err := New(0); !errors.Is(err, ErrInvalid) {
		t.Errorf("New(0): %v, want ErrInvalid", err)
	}
	if err := Supported(); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Supported: %v, want errors.ErrUnsupported", err)
	}
	if OpSupported(OpNop) {
		t.Error("OpSupported(OpNop) = true")
	}
	var r *Ring
	if err := r.PrepNop(1); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("PrepNop: %v", err)
	}
}
