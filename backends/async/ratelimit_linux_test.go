//go:build linux

package async

import (
	"bytes"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/ratelimit"
)

// Rate limits on completion-based bufferevents, which size each prepared operation by
// MaxToRead/MaxToWrite and charge the buckets when it completes: a per-connection write
// limit, a group write limit and a group read limit, each on three pairs moving 12000
// bytes apiece. Every byte arrives intact; the group's totals count exactly the bytes
// moved; and the run cannot be faster than the credited rate allows (a lower bound on the
// time only, which a loaded machine cannot break: it only makes the run slower).
func TestRateLimitLimitsTransfers(t *testing.T) {
	const (
		tick = 20 * time.Millisecond
		rate = 2000 // bytes per tick, per connection or for the group
		each = 12000
	)
	tests := []struct {
		name  string
		pairs int
		group bool
		dir   bufferevent.Direction // the limited direction: the writers' or the readers'
	}{
		// One connection: every ring flush has a single connection to send for, so each
		// send is written at once (directSend) and cut short by the limit.
		{name: "per-connection write limit, one connection", pairs: 1, dir: bufferevent.Write},
		{name: "per-connection write limit", pairs: 3, dir: bufferevent.Write},
		{name: "group write limit", pairs: 3, group: true, dir: bufferevent.Write},
		{name: "group read limit", pairs: 3, group: true, dir: bufferevent.Read},
	}
	for _, tt := range tests {
		forEachMode(t, func(t *testing.T) {
			t.Run(tt.name, func(t *testing.T) {
				pairs := tt.pairs
				checkFDs(t)
				base := newBase(t)
				rr, wr := int64(1<<30), int64(1<<30)
				if tt.dir == bufferevent.Read {
					rr = rate
				} else {
					wr = rate
				}
				cfg, err := ratelimit.NewConfig(rr, rr, wr, wr, tick)
				if err != nil {
					t.Fatal(err)
				}
				var rg *bufferevent.RateLimitGroup
				if tt.group {
					if rg, err = bufferevent.NewRateLimitGroup(base, cfg); err != nil {
						t.Fatal(err)
					}
				}
				payload := make([]byte, each)
				for i := range payload {
					payload[i] = byte(i * 7)
				}
				var all []*bufferevent.BufferEvent
				received := 0
				for range pairs {
					a, b, err := asyncPair(base, 0, false)
					if err != nil {
						t.Fatal(err)
					}
					all = append(all, a, b)
					limited := a
					if tt.dir == bufferevent.Read {
						limited = b
					}
					if rg != nil {
						err = limited.JoinGroup(rg)
					} else {
						err = limited.SetRateLimit(cfg)
					}
					if err != nil {
						t.Fatal(err)
					}
					var got bytes.Buffer
					b.SetCallbacks(func(bev *bufferevent.BufferEvent) {
						n := bev.Input().Len()
						_, _ = got.ReadFrom(bev.Input())
						received += n
						if got.Len() == each && !bytes.Equal(got.Bytes(), payload) {
							t.Error("the data arrived altered")
						}
						if received == pairs*each {
							for _, bev := range all {
								bev.Close() // leaves the group at once
							}
						}
					}, nil, nil)
					b.Enable(bufferevent.Read)
				}
				start := time.Now()
				for i := 0; i < len(all); i += 2 {
					if _, err := all[i].Write(payload); err != nil {
						t.Fatal(err)
					}
				}
				dispatch(t, base, 10*time.Second)
				elapsed := time.Since(start)
				if received != pairs*each {
					t.Fatalf("received %d bytes; want %d", received, pairs*each)
				}
				// Credit: the buckets start at the rate and gain a rate per tick (the first
				// boundary may come at once: one tick less); a connection's own bucket is
				// never overdrawn, a member's share may overdraw the group by at most the
				// min share.
				minTicks := (each-rate)/rate - 1
				if rg != nil {
					minTicks = (pairs*each-rate-pairs*int(ratelimit.DefaultMinShare))/rate - 1
				}
				if elapsed < time.Duration(minTicks)*tick {
					t.Errorf("moved %d bytes in %v; the limit allows no less than %d ticks (%v)",
						pairs*each, elapsed, minTicks, time.Duration(minTicks)*tick)
				}
				if rg != nil {
					r, w := rg.Group().Totals()
					got := w
					if tt.dir == bufferevent.Read {
						got = r
					}
					if got != uint64(pairs*each) {
						t.Errorf("group totals %d read, %d written; want %d in the limited direction", r, w, pairs*each)
					}
					if err := rg.Close(); err != nil {
						t.Fatal(err)
					}
				}
				t.Logf("%d bytes in %v (at least %d ticks of %v)", pairs*each, elapsed.Round(time.Millisecond), minTicks, tick)
			})
		})
	}
}
