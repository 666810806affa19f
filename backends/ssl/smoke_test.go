//go:build unix

package ssl_test

import (
	"testing"
	"time"

	"github.com/bufev/bufev/backends/ssl"
	"github.com/bufev/bufev/bufferevent"
)

func TestSmokeSocket(t *testing.T) {
	p := testPKI(t)
	base := newBase(t)
	defer base.Close()
	fa, fb := tcpFDs(t)
	cli, err := ssl.NewSocket(base, fa, p.clientConfig(), ssl.Connecting, bufferevent.CloseOnFree)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ssl.NewSocket(base, fb, p.serverConfig(), ssl.Accepting, bufferevent.CloseOnFree)
	if err != nil {
		t.Fatal(err)
	}
	var connected int
	var got, got2 []byte
	ev := func(b *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		t.Logf("event %v %v", what, err)
		if what == bufferevent.Connected {
			connected++
		}
	}
	srv.SetCallbacks(func(b *bufferevent.BufferEvent) {
		buf := make([]byte, 100)
		n, _ := b.Read(buf)
		got = append(got, buf[:n]...)
		b.Write([]byte("pong"))
	}, nil, ev)
	cli.SetCallbacks(func(b *bufferevent.BufferEvent) {
		buf := make([]byte, 100)
		n, _ := b.Read(buf)
		got2 = append(got2, buf[:n]...)
	}, nil, ev)
	srv.Enable(bufferevent.Read)
	cli.Enable(bufferevent.Read)
	cli.Write([]byte("ping"))
	if !runUntil(t, base, 5*time.Second, func() bool { return string(got2) == "pong" }) {
		t.Fatalf("connected=%d got=%q got2=%q", connected, got, got2)
	}
	cs, err := ssl.ConnectionState(cli)
	t.Logf("version %x cipher %x err %v", cs.Version, cs.CipherSuite, err)
	cli.Close()
	srv.Close()
	runUntil(t, base, 100*time.Millisecond, func() bool { return false })
}
