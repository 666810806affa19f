//go:build linux

package ssl_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"testing"
	"time"

	"github.com/bufev/bufev/backends/ssl"
	"github.com/bufev/bufev/bufferevent"
)

// FuzzRecordsAfterHandshake completes a real handshake with a crypto/tls
// client, which then sends arbitrary bytes as the record stream (in two
// writes split at split) and ends it: the server ssl bufferevent must report
// Connected, then exactly one Error or EOF carrying an error — no panic, no
// hang on a record header it follows (the adapter's record tracking parses
// what the peer sends), nothing left behind after Close. The seeds hold an
// oversized header, a header announcing more than is sent, a plaintext
// alert, and records cut at every place.
func FuzzRecordsAfterHandshake(f *testing.F) {
	cert, pool := exampleCert()
	f.Add([]byte{}, uint8(0))
	f.Add([]byte{23, 3, 3, 0, 10, 1, 2, 3}, uint8(3))
	f.Add([]byte{23, 3, 3, 0xff, 0xff}, uint8(2))
	f.Add([]byte{23, 3, 3, 0x48, 0x01, 0}, uint8(5))
	f.Add([]byte{21, 3, 3, 0, 2, 1, 0}, uint8(1))
	f.Add([]byte{23, 3, 3, 0, 0, 23, 3, 3, 0, 0, 23}, uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, split uint8) {
		runRecordsAfterHandshake(t, cert, pool, data, int(split))
	})
}

func runRecordsAfterHandshake(t *testing.T, cert tls.Certificate, pool *x509.CertPool, data []byte, split int) {
	base := newBase(t)
	defer base.Close()
	sfd, cfd := socketPair(t)
	srv, err := ssl.NewSocket(base, sfd, &tls.Config{Certificates: []tls.Certificate{cert}}, ssl.Accepting, bufferevent.CloseOnFree)
	must(t, err)
	var events []evRec
	must(t, srv.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		_ = bev.Input().Drain(bev.Input().Len())
	}, nil, recorder(&events)))
	must(t, srv.Enable(bufferevent.Read))
	cfg := &tls.Config{ServerName: "example.test", RootCAs: pool}
	done := make(chan error, 1)
	go func() {
		c := rawConn(t, cfd)
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		tc := tls.Client(c, cfg)
		if err := tc.Handshake(); err != nil {
			done <- err
			return
		}
		k := min(split, len(data))
		_, _ = c.Write(data[:k])
		_, _ = c.Write(data[k:])
		_ = c.(*net.UnixConn).CloseWrite()
		_, _ = io.Copy(io.Discard, c) // until the server closes
		done <- nil
	}()
	if !runUntil(t, base, 5*time.Second, func() bool { return len(events) >= 2 }) {
		t.Fatalf("events %v after %d bytes: want Connected, then Error or EOF", events, len(data))
	}
	settle(t, base)
	if len(events) != 2 || events[0].what != bufferevent.Connected ||
		events[1].what&(bufferevent.Error|bufferevent.EOF) == 0 || events[1].err == nil {
		t.Fatalf("events %v after %d bytes: want Connected, then one Error or EOF with an error", events, len(data))
	}
	must(t, srv.Close())
	settle(t, base)
	if err := <-done; err != nil {
		t.Fatalf("client: %v", err)
	}
}
