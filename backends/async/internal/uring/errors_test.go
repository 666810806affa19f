package uring

import (
	"errors"
	"strings"
	"testing"
)

func TestErrorModel(t *testing.T) {
	cause := errors.New("EPERM stand-in")
	cases := []struct {
		err       error
		wantCause bool
		text      string
	}{
		{&unsupportedError{what: "disabled", errno: cause}, true, "uring: io_uring unsupported: disabled: EPERM stand-in"},
		{&unsupportedError{what: "too old"}, false, "uring: io_uring unsupported: too old"},
	}
	for _, tc := range cases {
		if !errors.Is(tc.err, errors.ErrUnsupported) {
			t.Errorf("%v does not match errors.ErrUnsupported", tc.err)
		}
		if errors.Is(tc.err, cause) != tc.wantCause {
			t.Errorf("%v: errors.Is(cause) = %v", tc.err, !tc.wantCause)
		}
		if tc.err.Error() != tc.text {
			t.Errorf("Error() = %q, want %q", tc.err.Error(), tc.text)
		}
	}
	if err := invalid("x %d", 3); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "x 3") {
		t.Errorf("invalid: %v", err)
	}
	for _, e := range []error{ErrSQFull, ErrClosed, ErrUserDataInUse, ErrReservedUserData, ErrInvalid,
		ErrNoPrepared, ErrCQOverflow, ErrCompletionsLost, ErrDrainTimeout} {
		if !strings.HasPrefix(e.Error(), "uring: ") {
			t.Errorf("sentinel %q lacks the package prefix", e)
		}
	}
}
