//go:build unix

package ssl_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/bufev/bufev/backends/ssl"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/ratelimit"
)

// A group limit on TLS bufferevents throttles ciphertext: two TLS clients in a group
// limited to 4000 bytes per 20 ms tick for writing send 24 KiB of plaintext each. Every
// byte arrives intact; the group's write total equals the ciphertext the clients wrote
// (each client's own, never-binding per-connection bucket counts it independently) and
// exceeds the plaintext by the records' overhead; and the run lasts at least as many
// ticks as that much ciphertext needs (a lower bound only, which load cannot break).
func TestRateLimitGroupThrottlesCiphertext(t *testing.T) {
	const (
		tick    = 20 * time.Millisecond
		rate    = 4000
		clients = 2
		each    = 24 << 10
	)
	p := testPKI(t)
	base := newBase(t)
	defer base.Close()
	gcfg, err := ratelimit.NewConfig(1<<30, 1<<30, rate, rate, tick)
	must(t, err)
	rg, err := bufferevent.NewRateLimitGroup(base, gcfg)
	must(t, err)
	huge, err := ratelimit.NewConfig(1<<40, 1<<40, 1<<40, 1<<40, time.Hour)
	must(t, err)

	payload := make([]byte, each)
	for i := range payload {
		payload[i] = byte(i * 13)
	}
	var clis, srvs []*bufferevent.BufferEvent
	got := make([]bytes.Buffer, clients)
	for i := range clients {
		fc, fs := socketPair(t)
		cli, err := ssl.NewSocket(base, fc, p.clientConfig(), ssl.Connecting, bufferevent.CloseOnFree)
		must(t, err)
		srv, err := ssl.NewSocket(base, fs, p.serverConfig(), ssl.Accepting, bufferevent.CloseOnFree)
		must(t, err)
		must(t, handshake(t, base, cli, srv))
		must(t, srv.SetCallbacks(func(bev *bufferevent.BufferEvent) {
			_, _ = got[i].ReadFrom(bev.Input())
		}, nil, nil))
		must(t, srv.Enable(bufferevent.Read))
		must(t, cli.SetRateLimit(huge))
		must(t, cli.JoinGroup(rg))
		clis, srvs = append(clis, cli), append(srvs, srv)
	}
	w0 := make([]int64, clients)
	for i, cli := range clis {
		w0[i] = cli.WriteLimit()
	}
	start := time.Now()
	for _, cli := range clis {
		_, err := cli.Write(payload)
		must(t, err)
	}
	if !runUntil(t, base, 10*time.Second, func() bool {
		for i := range got {
			if got[i].Len() < each {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("received %d and %d bytes; want %d each", got[0].Len(), got[1].Len(), each)
	}
	elapsed := time.Since(start)
	for i := range got {
		if !bytes.Equal(got[i].Bytes(), payload) {
			t.Errorf("client %d: the data arrived altered", i)
		}
	}
	var cipher int64
	for i, cli := range clis {
		cipher += w0[i] - cli.WriteLimit()
	}
	_, written := rg.Group().Totals()
	if int64(written) != cipher {
		t.Errorf("group write total %d; the clients' own buckets counted %d", written, cipher)
	}
	if cipher <= clients*each {
		t.Errorf("ciphertext %d bytes, not more than the plaintext %d", cipher, clients*each)
	}
	// The group starts at the rate and gains a rate per tick; shares may overdraw it by at
	// most the min share each; the first boundary may come at once.
	minTicks := (cipher-rate-clients*ratelimit.DefaultMinShare)/rate - 1
	if elapsed < time.Duration(minTicks)*tick {
		t.Errorf("%d ciphertext bytes in %v; the group allows no less than %d ticks", cipher, elapsed, minTicks)
	}
	t.Logf("%d plaintext, %d ciphertext bytes in %v (at least %d ticks of %v)", clients*each, cipher, elapsed.Round(time.Millisecond), minTicks, tick)
	for i := range clis {
		must(t, clis[i].Close())
		must(t, srvs[i].Close())
	}
	must(t, rg.Close())
	settle(t, base)
}
