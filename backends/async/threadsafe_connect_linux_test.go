package async

import (
	"errors"
	"testing"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/backend/dialer/dialertest"
)

// Connect(bev, nil) on a ThreadSafe bufferevent without a socket is an argument error
// the caller gets back, as on a loop-confined one — not a connect queued for the loop
// that silently never starts.
func TestThreadSafeConnectNilNoSocket(t *testing.T) {
	base := dialertest.NewBase(t)
	for _, opts := range []bufferevent.Options{0, bufferevent.ThreadSafe} {
		bev, err := New(base, -1, opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := Connect(bev, nil); !errors.Is(err, ErrNoAddress) {
			t.Errorf("options %v: Connect(bev, nil) = %v; want ErrNoAddress", opts, err)
		}
		if err := bev.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
