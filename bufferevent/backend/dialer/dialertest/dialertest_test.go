package dialertest_test

import (
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/backend/dialer/dialertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// ClosedPort's address refuses connections while the test runs.
func TestClosedPortRefuses(t *testing.T) {
	addr := dialertest.ClosedPort(t)
	if addr.Port == 0 || !addr.IP.IsLoopback() {
		t.Fatalf("ClosedPort = %v; want a loopback address with a port", addr)
	}
	c, err := net.DialTCP("tcp", nil, addr)
	if err == nil {
		c.Close()
		t.Fatal("connect to ClosedPort succeeded")
	}
	if !dialertest.Refused(err) {
		t.Fatalf("connect to ClosedPort: %v; want ECONNREFUSED", err)
	}
}

func TestOptionName(t *testing.T) {
	tests := []struct {
		opts bufferevent.Options
		want string
	}{
		{0, "plain"},
		{bufferevent.DeferCallbacks, "defer"},
		{bufferevent.ThreadSafe, "lock"},
		{bufferevent.ThreadSafe | bufferevent.DeferCallbacks, "lock_defer"},
		{bufferevent.ThreadSafe | bufferevent.DeferCallbacks | bufferevent.UnlockCallbacks, "unlocked_cbs"},
		{bufferevent.CloseOnFree, "opts"},
	}
	for _, tc := range tests {
		if got := dialertest.OptionName(tc.opts); got != tc.want {
			t.Errorf("OptionName(%v) = %q; want %q", tc.opts, got, tc.want)
		}
	}
}

// Dispatch returns once the loop has nothing left to do: here after a one-shot timer.
func TestDispatchRunsUntilEmpty(t *testing.T) {
	base := dialertest.NewBase(t)
	fired := 0
	ev, err := base.NewTimer(func() { fired++ })
	if err != nil {
		t.Fatal(err)
	}
	if err := ev.AddTimeout(time.Millisecond); err != nil {
		t.Fatal(err)
	}
	dialertest.Dispatch(t, base, 10*time.Second)
	if fired != 1 {
		t.Fatalf("timer fired %d times; want 1", fired)
	}
}
