//go:build linux || darwin || freebsd

package bench

import (
	"flag"
	"net"
	"sync"
	"testing"
)

// stdBuf is the std server's buffer per connection: io.Copy's 32 KiB, the idiom.
var stdBuf = flag.Int("std-buf", 32<<10, "the std server's buffer per connection (io.Copy's 32 KiB by default)")

// startStd is the standard library's idiom: a goroutine per connection, blocking reads and
// writes through a 32 KiB buffer (what io.Copy would use without its splice fast path).
func startStd(tb testing.TB, _ int) (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]struct{}{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = struct{}{}
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
					c.Close()
				}()
				buf := make([]byte, *stdBuf)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}
}
