//go:build unix

package ssl_test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/bufev/bufev/backends/ssl"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
)

// choppyConn cuts every write into pieces of 1..max bytes with short pauses
// in between, so the reader sees TLS records cut anywhere.
type choppyConn struct {
	net.Conn
	rng *rand.Rand
	max int
}

func (c *choppyConn) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := min(len(p)-n, 1+c.rng.IntN(c.max))
		w, err := c.Conn.Write(p[n : n+k])
		n += w
		if err != nil {
			return n, err
		}
		if c.rng.IntN(4) == 0 {
			time.Sleep(50 * time.Microsecond)
		}
	}
	return n, nil
}

// The loop decrypts only when a whole record is buffered and skips
// tls.Conn.Read when crypto/tls holds nothing: records cut anywhere by the
// transport, messages of any size (one or several records each) and small
// reads (a read high watermark below a record's size) still echo every
// byte in order.
func TestRecordsCutAnywhere(t *testing.T) {
	p := testPKI(t)
	for _, high := range []int{0, 100, 5000} {
		t.Run(fmt.Sprint("readhigh=", high), func(t *testing.T) {
			base := newBase(t)
			defer base.Close()
			fs, fc := socketPair(t)
			srv, err := ssl.NewSocket(base, fs, p.serverConfig(), ssl.Accepting, bufferevent.CloseOnFree)
			must(t, err)
			defer srv.Close()
			var failure error
			must(t, srv.SetWatermark(bufferevent.Read, 0, high))
			must(t, srv.SetCallbacks(func(bev *bufferevent.BufferEvent) {
				_ = bev.WithLock(func(in, out *evbuffer.Buffer) { _ = out.AddBuffer(in) })
			}, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
				if what != bufferevent.Connected {
					failure = err
				}
			}))
			must(t, srv.Enable(bufferevent.ReadWrite))

			rng := rand.New(rand.NewPCG(1, uint64(high)))
			raw := rawConn(t, fc)
			chop := &choppyConn{Conn: raw, rng: rand.New(rand.NewPCG(2, uint64(high))), max: 700}
			cli := tls.Client(chop, p.clientConfig())
			var sent bytes.Buffer
			var sizes []int
			for range 40 {
				msg := make([]byte, 1+rng.IntN(40000))
				for i := range msg {
					msg[i] = byte(rng.Uint32())
				}
				sent.Write(msg)
				sizes = append(sizes, 1+rng.IntN(40000))
			}
			var wg sync.WaitGroup
			var got bytes.Buffer
			var cliErr error
			done := make(chan struct{})
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer close(done)
				if cliErr = cli.Handshake(); cliErr != nil {
					return
				}
				wg.Add(1)
				go func() { // the only writer: chop's rng is its own
					defer wg.Done()
					data := sent.Bytes()
					for i := 0; len(data) > 0; i++ {
						k := min(len(data), sizes[i%len(sizes)])
						if _, err := cli.Write(data[:k]); err != nil {
							return
						}
						data = data[k:]
					}
				}()
				_, cliErr = io.CopyN(&got, cli, int64(sent.Len()))
			}()
			finished := func() bool {
				select {
				case <-done:
					return true
				default:
					return failure != nil
				}
			}
			ok := runUntil(t, base, 20*time.Second, finished)
			srvErr := failure // the close below ends the server with a dirty shutdown
			raw.Close()
			runUntil(t, base, 50*time.Millisecond, func() bool { return false })
			wg.Wait()
			if !ok {
				t.Fatalf("echo stalled after %d of %d bytes: %s", got.Len(), sent.Len(), ssl.DebugState(srv))
			}
			if srvErr != nil || cliErr != nil {
				t.Fatalf("server error %v, client error %v", srvErr, cliErr)
			}
			if !bytes.Equal(got.Bytes(), sent.Bytes()) {
				t.Fatalf("echo differs (%d bytes back of %d)", got.Len(), sent.Len())
			}
		})
	}
}

// holdConn passes the first write through and holds the later ones until
// release, which sends them in one write.
type holdConn struct {
	net.Conn
	mu     sync.Mutex
	writes int
	held   []byte
}

func (c *holdConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	if c.writes == 1 {
		return c.Conn.Write(p)
	}
	c.held = append(c.held, p...)
	return len(p), nil
}

func (c *holdConn) release() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.Conn.Write(c.held)
	return err
}

// The client's Finished and two application records arrive in one piece,
// so the handshake goroutine hands crypto/tls both records with the
// Finished; afterwards nothing more arrives. The loop must decrypt both:
// crypto/tls holds the second record although nothing is buffered below
// it (the adapter hands one record at a time only after the handshake).
func TestRecordsHandedDuringHandshake(t *testing.T) {
	p := testPKI(t)
	base := newBase(t)
	defer base.Close()
	fs, fc := socketPair(t)
	srv, err := ssl.NewSocket(base, fs, p.serverConfig(), ssl.Accepting, bufferevent.CloseOnFree)
	must(t, err)
	defer srv.Close()
	var got []byte
	var failure error
	must(t, srv.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		buf := make([]byte, 64)
		n, _ := bev.Read(buf)
		got = append(got, buf[:n]...)
	}, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		if what != bufferevent.Connected {
			failure = err
		}
	}))
	must(t, srv.Enable(bufferevent.Read))
	raw := rawConn(t, fc)
	defer raw.Close()
	hc := &holdConn{Conn: raw}
	cfg := p.clientConfig()
	cfg.MinVersion = tls.VersionTLS13 // the client's last flight needs no answer
	cli := tls.Client(hc, cfg)
	errc := make(chan error, 1)
	go func() {
		err := cli.Handshake()
		if err == nil {
			_, err = cli.Write([]byte("first,"))
		}
		if err == nil {
			_, err = cli.Write([]byte("second"))
		}
		if err == nil {
			err = hc.release()
		}
		errc <- err
	}()
	var cliErr error
	cliDone := false
	runUntil(t, base, 5*time.Second, func() bool {
		if !cliDone {
			select {
			case cliErr = <-errc:
				cliDone = true
			default:
			}
		}
		return len(got) >= len("first,second") || failure != nil || cliErr != nil
	})
	if !cliDone {
		cliErr = <-errc
	}
	if cliErr != nil || failure != nil {
		t.Fatalf("client %v, server %v", cliErr, failure)
	}
	if string(got) != "first,second" {
		t.Fatalf("server read %q; want \"first,second\": %s", got, ssl.DebugState(srv))
	}
}

// In filter mode the underlying may stop reading at its own read high
// watermark, or at its maximum input when it has no watermark, before a
// whole record is buffered: the loop then hands crypto/tls the part it has
// instead of waiting for the rest, which would never come. 200 KiB in full
// records cross an underlying limited to 1000 bytes. (With SetMaxInput the
// loop waited for the rest of the first record: nothing arrived.)
func TestRecordsOverUnderlyingWatermark(t *testing.T) {
	for _, limit := range []string{"watermark", "max input"} {
		t.Run(limit, func(t *testing.T) { recordsOverUnderlyingLimit(t, limit) })
	}
}

func recordsOverUnderlyingLimit(t *testing.T, limit string) {
	base := newBase(t)
	defer base.Close()
	cli, srv, ua, _ := tlsOverPair(t, base, bufferevent.CloseOnFree)
	defer cli.Close()
	defer srv.Close()
	if limit == "watermark" {
		must(t, ua.SetWatermark(bufferevent.Read, 0, 1000))
	} else {
		must(t, ua.SetMaxInput(1000))
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), 200<<10/16)
	var got bytes.Buffer
	must(t, cli.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		buf := make([]byte, 32<<10)
		for {
			n, _ := bev.Read(buf)
			if n == 0 {
				return
			}
			got.Write(buf[:n])
		}
	}, nil, nil))
	must(t, cli.Enable(bufferevent.Read))
	_, err := srv.Write(data)
	must(t, err)
	if !runUntil(t, base, 5*time.Second, func() bool { return got.Len() >= len(data) }) {
		t.Fatalf("got %d of %d bytes: %s", got.Len(), len(data), ssl.DebugState(cli))
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatal("data differs")
	}
}

// gateConn passes writes through until hold is set, then keeps them until
// release, which sends them in one write.
type gateConn struct {
	net.Conn
	mu   sync.Mutex
	hold bool
	held []byte
}

func (c *gateConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.hold {
		return c.Conn.Write(p)
	}
	c.held = append(c.held, p...)
	return len(p), nil
}

func (c *gateConn) release() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.Conn.Write(c.held)
	return err
}

// After the handshake, 60 small records arrive in one piece and nothing
// follows: the loop hands crypto/tls all of them at once (one read, one
// allocation inside crypto/tls), and crypto/tls keeps the ones it has not
// returned yet. The server's input is limited to 16 bytes by its read high
// watermark, and the server disables reading after every callback (enabled
// again between loop passes), so the loop must keep calling tls.Conn.Read
// for the records crypto/tls holds although nothing is buffered below it.
func TestRecordsHeldByCryptoTLS(t *testing.T) {
	p := testPKI(t)
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			base := newBase(t)
			defer base.Close()
			fs, fc := socketPair(t)
			srv, err := ssl.NewSocket(base, fs, p.serverConfig(), ssl.Accepting, bufferevent.CloseOnFree)
			must(t, err)
			defer srv.Close()
			var got []byte
			var failure error
			connected, paused := false, false
			must(t, srv.SetWatermark(bufferevent.Read, 0, 16))
			must(t, srv.SetCallbacks(func(bev *bufferevent.BufferEvent) {
				buf := make([]byte, 7)
				for {
					n, _ := bev.Read(buf)
					if n == 0 {
						break
					}
					got = append(got, buf[:n]...)
				}
				_ = bev.Disable(bufferevent.Read)
				paused = true
			}, nil, func(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
				if what == bufferevent.Connected {
					connected = true
				} else {
					failure = err
				}
			}))
			must(t, srv.Enable(bufferevent.Read))
			raw := rawConn(t, fc)
			defer raw.Close()
			gc := &gateConn{Conn: raw}
			cfg := p.clientConfig()
			cfg.MinVersion, cfg.MaxVersion = version, version
			cli := tls.Client(gc, cfg)
			var want []byte
			for i := range 60 {
				want = fmt.Appendf(want, "record %02d;", i)
			}
			errc := make(chan error, 1)
			go func() {
				err := cli.Handshake()
				gc.mu.Lock()
				gc.hold = true
				gc.mu.Unlock()
				for i := 0; err == nil && i < 60; i++ {
					_, err = cli.Write(want[i*10 : i*10+10])
				}
				errc <- err
			}()
			var cliErr error
			cliDone, released := false, false
			ok := runUntil(t, base, 5*time.Second, func() bool {
				if !cliDone {
					select {
					case cliErr = <-errc:
						cliDone = true
					default:
					}
				}
				if cliDone && connected && !released && cliErr == nil {
					released = true
					cliErr = gc.release()
				}
				if paused {
					paused = false
					_ = srv.Enable(bufferevent.Read)
				}
				return len(got) >= len(want) || failure != nil || cliErr != nil
			})
			if cliErr != nil || failure != nil {
				t.Fatalf("client %v, server %v", cliErr, failure)
			}
			if !ok || !bytes.Equal(got, want) {
				t.Fatalf("server read %q; want %q: %s", got, want, ssl.DebugState(srv))
			}
		})
	}
}
