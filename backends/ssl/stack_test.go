package ssl_test

import (
	"bytes"
	"crypto/tls"
	"testing"
	"time"

	"github.com/bufev/bufev/backends/filter"
	"github.com/bufev/bufev/backends/pair"
	"github.com/bufev/bufev/backends/ssl"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
)

// TLS over a filter bufferevent over a pair, and TLS inside TLS: filter
// mode works over any bufferevent type. 1 MiB goes each way intact.
func TestStacked(t *testing.T) {
	cert, pool := exampleCert()
	srvCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	cliCfg := &tls.Config{RootCAs: pool, ServerName: "example.test"}
	for _, name := range []string{"over-filter", "tls-in-tls"} {
		t.Run(name, func(t *testing.T) {
			base, err := eventbase.New(eventbase.Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer base.Close()
			ua, ub, err := pair.New(base, 0)
			if err != nil {
				t.Fatal(err)
			}
			var la, lb *bufferevent.BufferEvent
			if name == "over-filter" {
				if la, err = filter.New(ua, nil, nil, bufferevent.CloseOnFree); err != nil {
					t.Fatal(err)
				}
				if lb, err = filter.New(ub, nil, nil, bufferevent.CloseOnFree); err != nil {
					t.Fatal(err)
				}
			} else {
				if la, err = ssl.NewFilter(base, ua, cliCfg, ssl.Connecting, bufferevent.CloseOnFree); err != nil {
					t.Fatal(err)
				}
				if lb, err = ssl.NewFilter(base, ub, srvCfg, ssl.Accepting, bufferevent.CloseOnFree); err != nil {
					t.Fatal(err)
				}
			}
			a, err := ssl.NewFilter(base, la, cliCfg, ssl.Connecting, bufferevent.CloseOnFree, ssl.HandshakeTimeout(2*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			b, err := ssl.NewFilter(base, lb, srvCfg, ssl.Accepting, bufferevent.CloseOnFree, ssl.HandshakeTimeout(2*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
			var gotA, gotB bytes.Buffer
			buf := make([]byte, 32<<10)
			reader := func(dst *bytes.Buffer) bufferevent.ReadFunc {
				return func(bev *bufferevent.BufferEvent) {
					for {
						n, _ := bev.Read(buf)
						if n == 0 {
							return
						}
						dst.Write(buf[:n])
					}
				}
			}
			var failure error
			ev := func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
				if what != bufferevent.Connected {
					failure = err
				}
			}
			if err := a.SetCallbacks(reader(&gotA), nil, ev); err != nil {
				t.Fatal(err)
			}
			if err := b.SetCallbacks(reader(&gotB), nil, ev); err != nil {
				t.Fatal(err)
			}
			_ = a.Enable(bufferevent.ReadWrite)
			_ = b.Enable(bufferevent.ReadWrite)
			_, _ = a.Write(data)
			_, _ = b.Write(data)
			deadline := time.Now().Add(20 * time.Second)
			for (gotA.Len() < len(data) || gotB.Len() < len(data)) && failure == nil && time.Now().Before(deadline) {
				timer, _ := base.NewTimer(func() { base.LoopBreak() })
				_ = timer.AddTimeout(10 * time.Millisecond)
				_ = base.Loop(eventbase.LoopOnce)
				timer.Free()
			}
			if failure != nil {
				for _, x := range []*bufferevent.BufferEvent{a, b, la, lb} {
					if x.Type() == ssl.TypeName {
						t.Log(ssl.DebugState(x))
					}
				}
				t.Fatal(failure)
			}
			if !bytes.Equal(gotA.Bytes(), data) || !bytes.Equal(gotB.Bytes(), data) {
				t.Fatalf("received %d and %d bytes of %d, or corrupted", gotA.Len(), gotB.Len(), len(data))
			}
			_ = a.Close()
			_ = b.Close()
			for range 3 {
				_ = base.Loop(eventbase.LoopNonBlock)
			}
		})
	}
}

// A client that writes a lot before its handshake completes: in TLS 1.3
// its data follows its Finished at once, so the server's handshake input
// fills (64 KiB) while the handshake goroutine still needs the Finished at
// its front. Regression test for a lost wake-up of that goroutine.
func TestPipelinedDataDuringHandshake(t *testing.T) {
	cert, pool := exampleCert()
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	ua, ub, err := pair.New(base, 0)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := ssl.NewFilter(base, ua, &tls.Config{RootCAs: pool, ServerName: "example.test"}, ssl.Connecting, bufferevent.CloseOnFree)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ssl.NewFilter(base, ub, &tls.Config{Certificates: []tls.Certificate{cert}}, ssl.Accepting, bufferevent.CloseOnFree, ssl.HandshakeTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte{'p'}, 1<<20)
	_, _ = cli.Write(data)
	got := 0
	var failure error
	buf := make([]byte, 64<<10)
	_ = srv.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		for {
			n, _ := bev.Read(buf)
			if n == 0 {
				return
			}
			got += n
		}
	}, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		if what != bufferevent.Connected {
			failure = err
		}
	})
	_ = srv.Enable(bufferevent.Read)
	deadline := time.Now().Add(20 * time.Second)
	for got < len(data) && failure == nil && time.Now().Before(deadline) {
		timer, _ := base.NewTimer(func() { base.LoopBreak() })
		_ = timer.AddTimeout(10 * time.Millisecond)
		_ = base.Loop(eventbase.LoopOnce)
		timer.Free()
	}
	if failure != nil || got != len(data) {
		t.Fatalf("server got %d of %d bytes (%v)", got, len(data), failure)
	}
	_ = cli.Close()
	_ = srv.Close()
	for range 3 {
		_ = base.Loop(eventbase.LoopNonBlock)
	}
}
