package bufferevent_test

import (
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/backend"
	"github.com/bufev/bufev/eventbase"
	"github.com/bufev/bufev/ratelimit"
)

// TestRateLimitReserveSettle reserves a whole bucket up front, as libevent's IOCP backend
// does when it launches an operation, and settles it on completion: the reservation
// suspends the direction, the refund of the unused part resumes it and leaves the bucket
// charged with the bytes transferred only; group totals count those bytes too. A second
// reservation outstanding at Close goes back to the group.
func TestRateLimitReserveSettle(t *testing.T) {
	for _, d := range []bufferevent.Direction{bufferevent.Read, bufferevent.Write} {
		name := "read"
		if d == bufferevent.Write {
			name = "write"
		}
		t.Run(name, func(t *testing.T) {
			base := newBase(t)
			bev, r, err := newRecorder(base, 0)
			must(t, err)
			defer bev.Close()
			cfg, err := ratelimit.NewConfig(1000, 1000, 1000, 1000, time.Hour)
			must(t, err)
			gcfg, err := ratelimit.NewConfig(5000, 5000, 5000, 5000, time.Hour)
			must(t, err)
			g, err := bufferevent.NewRateLimitGroup(base, gcfg)
			must(t, err)
			defer g.Close()
			must(t, bev.Enable(bufferevent.ReadWrite))
			must(t, bev.SetRateLimit(cfg))
			must(t, bev.JoinGroup(g))
			reserve, settle, susp := r.c.ReserveRead, r.c.SettleRead, r.c.ReadSuspended
			limit := bev.ReadLimit
			if d == bufferevent.Write {
				reserve, settle, susp = r.c.ReserveWrite, r.c.SettleWrite, r.c.WriteSuspended
				limit = bev.WriteLimit
			}
			r.c.Enter()
			reserve(1000) // the whole bucket for an operation in flight
			if susp()&backend.SuspendBandwidth == 0 {
				t.Fatal("reserving the whole bucket did not suspend the direction")
			}
			reserve(0)
			reserve(-3)
			settle(0, 0)
			if susp()&backend.SuspendBandwidth == 0 {
				t.Fatal("an empty settle resumed the direction")
			}
			settle(1000, 300) // the operation moved 300 bytes
			if susp() != 0 {
				t.Fatalf("after the refund: suspended %#x", susp())
			}
			r.c.Leave()
			if got := limit(); got != 700 {
				t.Fatalf("bucket level %d, want 700", got)
			}
			rd, wr := g.Group().Totals()
			total, glevel := rd, g.Group().ReadLimit()
			if d == bufferevent.Write {
				total, glevel = wr, g.Group().WriteLimit()
			}
			if total != 300 || glevel != 4700 {
				t.Fatalf("group total %d, level %d; want 300, 4700", total, glevel)
			}
			r.c.Enter()
			reserve(400)
			r.c.Leave()
			bev.Close() // leaves the group with the reservation outstanding
			rd, wr = g.Group().Totals()
			total, glevel = rd, g.Group().ReadLimit()
			if d == bufferevent.Write {
				total, glevel = wr, g.Group().WriteLimit()
			}
			if total != 300 || glevel != 4700 {
				t.Fatalf("after Close: group total %d, level %d; want 300, 4700", total, glevel)
			}
			_ = base.Loop(eventbase.LoopNonBlock)
		})
	}
}
