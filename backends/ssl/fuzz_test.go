package ssl_test

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/bufev/bufev/backends/pair"
	"github.com/bufev/bufev/backends/ssl"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
)

// clientHello captures the first flight of a crypto/tls client.
func clientHello(t testing.TB) []byte {
	c1, c2 := net.Pipe()
	defer c1.Close()
	go func() {
		_ = tls.Client(c2, &tls.Config{ServerName: "example.test"}).Handshake()
		c2.Close()
	}()
	buf := make([]byte, 4096)
	n, err := c1.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

// FuzzServerInput feeds arbitrary bytes, then the end of the stream, to a
// server ssl bufferevent (filter mode over a pair): it must end with
// exactly one Error, EOF or Timeout event — never Connected, never a
// panic — and its handshake goroutine must be gone after Close.
func FuzzServerInput(f *testing.F) {
	cert, _ := exampleCert()
	hello := clientHello(f)
	f.Add([]byte{})
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add(hello)
	f.Add(hello[:len(hello)/2])
	f.Add(append(append([]byte{}, hello...), 23, 3, 3, 0, 10, 1, 2, 3))
	f.Add([]byte{22, 3, 1, 0xff, 0xff})
	f.Add([]byte{21, 3, 3, 0, 2, 2, 40})
	f.Fuzz(func(t *testing.T, data []byte) { runFuzzOneCert(t, cert, data) })
}

func runFuzzOneCert(t *testing.T, cert tls.Certificate, data []byte) {
	{
		base, err := eventbase.New(eventbase.Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer base.Close()
		ua, ub, err := pair.New(base, 0)
		if err != nil {
			t.Fatal(err)
		}
		srv, err := ssl.NewFilter(base, ub, &tls.Config{Certificates: []tls.Certificate{cert}},
			ssl.Accepting, bufferevent.CloseOnFree, ssl.HandshakeTimeout(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var events []bufferevent.Events
		_ = srv.SetCallbacks(nil, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
			events = append(events, what)
			if err == nil {
				t.Errorf("event %v without an error", what)
			}
			base.LoopBreak()
		})
		_ = ua.Enable(bufferevent.ReadWrite)
		_, _ = ua.Write(data)
		_, _ = ua.Flush(bufferevent.Write, bufferevent.Finished)
		timer, _ := base.NewTimer(func() { base.LoopBreak() })
		_ = timer.AddTimeout(5 * time.Second)
		_ = base.Loop(eventbase.LoopNoExitOnEmpty)
		timer.Free()
		if len(events) != 1 || events[0]&(bufferevent.Error|bufferevent.EOF|bufferevent.Timeout) == 0 {
			t.Fatalf("events %v for %d bytes of input; want one Error, EOF or Timeout", events, len(data))
		}
		_ = srv.Close()
		_ = ua.Close()
		for range 3 {
			_ = base.Loop(eventbase.LoopNonBlock)
		}
	}
}
