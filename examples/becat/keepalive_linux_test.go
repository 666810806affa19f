//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bufev/bufev/examples/internal/outlines"
)

// setKeepAlive sets what libevent's evutil_set_tcp_keepalive sets: keepalive
// on, idle time and interval in whole seconds, rounded up.
func TestSetKeepAlive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var on, idle, intvl int
	var serr error
	if err := rc.Control(func(fd uintptr) {
		if serr = setKeepAlive(int(fd), 2500*time.Millisecond); serr != nil {
			return
		}
		on, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
		idle, _ = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE)
		intvl, _ = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL)
	}); err != nil {
		t.Fatal(err)
	}
	if serr != nil || on != 1 || idle != 3 || intvl != 3 {
		t.Fatalf("setKeepAlive: %v; SO_KEEPALIVE %d, TCP_KEEPIDLE %d, TCP_KEEPINTVL %d; want 1, 3, 3", serr, on, idle, intvl)
	}
}

// tcpTimer returns the kernel's timer kind for the IPv4 TCP connection from
// local to remote port on 127.0.0.1 (/proc/net/tcp "tr": 2 is the keepalive
// timer), or -1 if there is no such connection.
func tcpTimer(t *testing.T, local, remote int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("0100007F:%04X 0100007F:%04X", local, remote)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 5 && f[1]+" "+f[2] == want {
			tr, err := strconv.ParseInt(strings.SplitN(f[5], ":", 2)[0], 16, 32)
			if err != nil {
				t.Fatalf("/proc/net/tcp timer field %q", f[5])
			}
			return int(tr)
		}
	}
	return -1
}

func port(a net.Addr) int { return a.(*net.TCPAddr).Port }

// With -K, becat's connection, connected or accepted, runs the kernel's
// keepalive timer (seen in /proc/net/tcp); without it, it does not.
func TestBecatKeepAlive(t *testing.T) {
	for _, listening := range []bool{false, true} {
		for _, k := range []string{"", "30s"} {
			t.Run(fmt.Sprintf("listen=%v/K=%q", listening, k), func(t *testing.T) {
				var flags []string
				if k != "" {
					flags = []string{"-K", k}
				}
				want := 0
				if k != "" {
					want = 2
				}
				// check finds becat's end of the connection c (our end) and
				// waits for its timer to become what it should.
				check := func(c net.Conn) {
					timer := -1
					deadline := time.Now().Add(3 * time.Second)
					for time.Now().Before(deadline) {
						if timer = tcpTimer(t, port(c.RemoteAddr()), port(c.LocalAddr())); timer == want {
							return
						}
						time.Sleep(10 * time.Millisecond)
					}
					t.Errorf("becat's socket timer %d; want %d", timer, want)
				}
				if listening {
					out := &outlines.Writer{}
					addr, done := listen(t, context.Background(), strings.NewReader(""), out, flags...)
					c, err := net.Dial("tcp", addr)
					if err != nil {
						t.Fatal(err)
					}
					check(c)
					io.WriteString(c, "bye\n")
					c.Close()
					if err := <-done; err != nil {
						t.Fatal(err)
					}
					return
				}
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				go func() {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					defer c.Close()
					check(c)
					bufio.NewReader(c).ReadString('\n')
				}()
				host, p, _ := net.SplitHostPort(ln.Addr().String())
				var errOut outlines.Writer
				if err := run(context.Background(), append(flags, host, p), strings.NewReader("hi\n"), io.Discard, &errOut); err != nil {
					t.Fatalf("run: %v %s", err, errOut.String())
				}
			})
		}
	}
}
