//go:build linux

package ssl_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bufev/bufev/backends/socket"
	"github.com/bufev/bufev/backends/ssl"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
)

// echoServer is a TLS echo server: either ssl bufferevents on one loop
// ("bufev") or crypto/tls over net.Conn with a goroutine per connection
// ("stdlib").
type echoServer struct {
	addr  string
	close func()
}

func startBufevEcho(b *testing.B, cfg *tls.Config) *echoServer {
	b.Helper()
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		b.Fatal(err)
	}
	echo := func(in, out *evbuffer.Buffer) { _ = out.AddBuffer(in) }
	var bevs []*bufferevent.BufferEvent
	ln, err := socket.Listen(base, "tcp", "127.0.0.1:0", func(_ *socket.Listener, fd int, _ net.Addr) {
		// As Go's net package does for every TCP connection.
		_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
		bev, err := ssl.NewSocket(base, fd, cfg, ssl.Accepting, bufferevent.CloseOnFree)
		if err != nil {
			b.Error(err)
			return
		}
		bevs = append(bevs, bev)
		_ = bev.SetWatermark(bufferevent.Read, 0, 256<<10)
		_ = bev.SetCallbacks(func(bev *bufferevent.BufferEvent) { _ = bev.WithLock(echo) }, nil,
			func(bev *bufferevent.BufferEvent, what bufferevent.Events, _ error) {
				if what&(bufferevent.EOF|bufferevent.Error) != 0 {
					_ = bev.Close()
				}
			})
		_ = bev.Enable(bufferevent.ReadWrite)
	}, socket.ListenerOptions{})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = base.Loop(eventbase.LoopNoExitOnEmpty)
		close(done)
	}()
	return &echoServer{addr: ln.Addr().String(), close: func() {
		_ = base.Do(context.Background(), func() {
			_ = ln.Close()
			for _, bev := range bevs {
				_ = bev.Close()
			}
		})
		base.LoopBreak()
		<-done
		base.Close()
	}}
}

func startStdEcho(b *testing.B, cfg *tls.Config) *echoServer {
	b.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 32<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						if _, werr := c.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return &echoServer{addr: ln.Addr().String(), close: func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTLSEcho compares a TLS echo server made of ssl bufferevents on
// one loop with crypto/tls over net.Conn and a goroutine per connection,
// in one run. The client is the same for both (crypto/tls over net.Conn).
// PingPong sends one message and waits for its echo (ns/op is the round
// trip); Stream keeps 16 KiB messages flowing both ways (MB/s). cpu-ns/op
// is the whole process's CPU time (client and server) per message: the
// client is identical, so the difference is the server's.
//
//	go test -run '^$' -bench TLSEcho -benchmem ./backends/ssl
func BenchmarkTLSEcho(b *testing.B) {
	p := testPKI(b)
	srvCfg := p.serverConfig()
	cliCfg := p.clientConfig()
	servers := []struct {
		name  string
		start func(*testing.B, *tls.Config) *echoServer
	}{
		{"bufev", startBufevEcho},
		{"stdlib", startStdEcho},
	}
	for _, size := range []int{64, 16 << 10} {
		for _, srv := range servers {
			b.Run(fmt.Sprintf("PingPong-%d/%s", size, srv.name), func(b *testing.B) {
				s := srv.start(b, srvCfg)
				defer s.close()
				c, err := tls.Dial("tcp", s.addr, cliCfg)
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				msg := make([]byte, size)
				reply := make([]byte, size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cpuTime()
				for i := 0; i < b.N; i++ {
					if _, err := c.Write(msg); err != nil {
						b.Fatal(err)
					}
					if _, err := io.ReadFull(c, reply); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
	for _, srv := range servers {
		b.Run("Stream-16384/"+srv.name, func(b *testing.B) {
			s := srv.start(b, srvCfg)
			defer s.close()
			c, err := tls.Dial("tcp", s.addr, cliCfg)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			const size = 16 << 10
			msg := make([]byte, size)
			b.SetBytes(size)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			errc := make(chan error, 1)
			go func() {
				for i := 0; i < b.N; i++ {
					if _, err := c.Write(msg); err != nil {
						errc <- err
						return
					}
				}
				errc <- nil
			}()
			buf := make([]byte, 64<<10)
			total := int64(b.N) * size
			for got := int64(0); got < total; {
				n, err := c.Read(buf[:min(int64(len(buf)), total-got)])
				got += int64(n)
				if err != nil {
					b.Fatal(err)
				}
			}
			if err := <-errc; err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkPlainEchoReference is the same 64-byte ping-pong without TLS
// (socket bufferevents on one loop against net.Conn with a goroutine per
// connection), to separate what the loop and socket layers cost from what
// the TLS layer adds in BenchmarkTLSEcho.
func BenchmarkPlainEchoReference(b *testing.B) {
	for _, name := range []string{"bufev", "stdlib"} {
		b.Run("PingPong-64/"+name, func(b *testing.B) {
			var addr string
			var stop func()
			if name == "bufev" {
				base, err := eventbase.New(eventbase.Config{})
				if err != nil {
					b.Fatal(err)
				}
				echo := func(in, out *evbuffer.Buffer) { _ = out.AddBuffer(in) }
				var bevs []*bufferevent.BufferEvent
				ln, err := socket.Listen(base, "tcp", "127.0.0.1:0", func(_ *socket.Listener, fd int, _ net.Addr) {
					_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
					bev, err := socket.New(base, fd, bufferevent.CloseOnFree)
					if err != nil {
						b.Error(err)
						return
					}
					bevs = append(bevs, bev)
					_ = bev.SetCallbacks(func(bev *bufferevent.BufferEvent) { _ = bev.WithLock(echo) }, nil, nil)
					_ = bev.Enable(bufferevent.ReadWrite)
				}, socket.ListenerOptions{})
				if err != nil {
					b.Fatal(err)
				}
				done := make(chan struct{})
				go func() { _ = base.Loop(eventbase.LoopNoExitOnEmpty); close(done) }()
				addr = ln.Addr().String()
				stop = func() {
					_ = base.Do(context.Background(), func() {
						_ = ln.Close()
						for _, bev := range bevs {
							_ = bev.Close()
						}
					})
					base.LoopBreak()
					<-done
					base.Close()
				}
			} else {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				var wg sync.WaitGroup
				var conns []net.Conn
				var mu sync.Mutex
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						c, err := ln.Accept()
						if err != nil {
							return
						}
						mu.Lock()
						conns = append(conns, c)
						mu.Unlock()
						wg.Add(1)
						go func() {
							defer wg.Done()
							_, _ = io.Copy(c, c)
						}()
					}
				}()
				addr = ln.Addr().String()
				stop = func() {
					ln.Close()
					mu.Lock()
					for _, c := range conns {
						c.Close()
					}
					mu.Unlock()
					wg.Wait()
				}
			}
			defer stop()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			msg, reply := make([]byte, 64), make([]byte, 64)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				if _, err := c.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, reply); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}
