//go:build unix

package ssl_test

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/bufev/bufev/backends/ssl"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/ratelimit"
)

// Rate limits count ciphertext: ten 1-byte requests answered with 100
// bytes each cost exactly 10 × (payload + 22) bytes of the buckets (TLS 1.3
// AEAD records: 5-byte header, 1-byte inner type, 16-byte tag), both
// ways.
func TestRateLimitCountsCiphertext(t *testing.T) {
	p := testPKI(t)
	base := newBase(t)
	defer base.Close()
	fc, fs := socketPair(t)
	ccfg := p.clientConfig()
	ccfg.MinVersion = tls.VersionTLS13
	scfg := p.serverConfig()
	scfg.SessionTicketsDisabled = true // no post-handshake records
	cli, err := ssl.NewSocket(base, fc, ccfg, ssl.Connecting, bufferevent.CloseOnFree)
	must(t, err)
	srv, err := ssl.NewSocket(base, fs, scfg, ssl.Accepting, bufferevent.CloseOnFree)
	must(t, err)
	must(t, handshake(t, base, cli, srv))
	cfg, err := ratelimit.NewConfig(1<<20, 1<<20, 1<<20, 1<<20, time.Hour)
	must(t, err)
	must(t, cli.SetRateLimit(cfg))
	must(t, srv.SetRateLimit(cfg))
	r0c, w0c, r0s, w0s := cli.ReadLimit(), cli.WriteLimit(), srv.ReadLimit(), srv.WriteLimit()
	const rounds = 10
	replies := 0
	reply := make([]byte, 100)
	buf := make([]byte, 200)
	must(t, srv.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		n, _ := bev.Read(buf)
		for range n {
			_, _ = bev.Write(reply)
		}
	}, nil, nil))
	got := 0
	must(t, cli.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		n, _ := bev.Read(buf)
		got += n
		if got%100 == 0 && got/100 < rounds {
			replies++
			_, _ = bev.Write([]byte{'x'})
		}
	}, nil, nil))
	must(t, cli.Enable(bufferevent.ReadWrite))
	must(t, srv.Enable(bufferevent.ReadWrite))
	_, _ = cli.Write([]byte{'x'})
	if !runUntil(t, base, 10*time.Second, func() bool { return got == rounds*100 }) {
		t.Fatalf("got %d bytes", got)
	}
	settle(t, base)
	const small, big = rounds * (1 + 22), rounds * (100 + 22)
	if d := r0c - cli.ReadLimit(); d != big {
		t.Errorf("client read bucket charged %d; want %d (ciphertext)", d, big)
	}
	if d := w0c - cli.WriteLimit(); d != small {
		t.Errorf("client write bucket charged %d; want %d", d, small)
	}
	if d := r0s - srv.ReadLimit(); d != small {
		t.Errorf("server read bucket charged %d; want %d", d, small)
	}
	if d := w0s - srv.WriteLimit(); d != big {
		t.Errorf("server write bucket charged %d; want %d", d, big)
	}
	must(t, cli.Close())
	must(t, srv.Close())
	settle(t, base)
}
