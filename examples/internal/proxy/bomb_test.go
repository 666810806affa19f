package proxy

import (
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
	"github.com/bufev/bufev/filters/compress"
)

// TestDecompressingSideBounded: the decompressing side of a tunnel end faces
// whoever connects. A client sending a stream under the codec's ratio limit
// (about 2000:1: 32 MiB from some 30 KiB of zstd) makes the proxy queue no more
// than about MaxOutput for the upstream. Without a read high watermark on the
// filter, its input took up to the bufferevent's default maximum input (16
// MiB) of decompressed bytes in one go, which the relay then queued: 16 MiB
// per connection for a few KiB sent.
func TestDecompressingSideBounded(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	plain := make([]byte, 32<<20)
	for i := 0; i < len(plain); i += 2000 {
		plain[i] = byte(rng.Uint32())
	}
	enc, err := compress.NewEncoder(compress.Zstd, nil)
	if err != nil {
		t.Fatal(err)
	}
	var src, wire evbuffer.Buffer
	_ = src.Add(plain)
	for src.Len() > 0 {
		enc.Filter(&src, &wire, -1, bufferevent.Finished)
		if err := enc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	_ = enc.Close()
	stream, _ := wire.Pullup(-1)

	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	got := make(chan int64, 1)
	go func() {
		c, err := up.Accept()
		if err != nil {
			got <- -1
			return
		}
		defer c.Close()
		n, _ := io.Copy(io.Discard, c)
		got <- n
	}()
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	srv, err := Start(base, Config{Listen: "127.0.0.1:0", Connect: up.Addr().String(), Codec: "zstd", CompressInbound: true})
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		_, _ = c.Write(stream)
		_ = c.(*net.TCPConn).CloseWrite()
	}()
	// Run until the upstream has read to its end (the client's EOF passed
	// on), or 10 s.
	n := int64(-1)
	for deadline := time.Now().Add(10 * time.Second); n < 0 && time.Now().Before(deadline); {
		if err := base.LoopExit(20 * time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if err := base.Dispatch(); err != nil {
			t.Fatal(err)
		}
		select {
		case n = <-got:
		default:
		}
	}
	st := srv.Stats()
	_ = srv.Close()
	t.Logf("%d bytes compressed to %d; upstream got %d; peak queued %d", len(plain), len(stream), n, st.PeakQueued)
	if n != int64(len(plain)) {
		t.Fatalf("upstream got %d bytes, want %d", n, len(plain))
	}
	if st.PeakQueued > 2*MaxOutput {
		t.Fatalf("peak queued %d bytes for the upstream; want at most about MaxOutput (%d)", st.PeakQueued, MaxOutput)
	}
}
