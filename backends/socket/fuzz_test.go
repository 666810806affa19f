//go:build linux

package socket

import (
	"net"
	"net/netip"
	"testing"
)

// strAddr is a net.Addr made of two strings, as a caller's own address type would be.
type strAddr struct{ network, s string }

func (a strAddr) Network() string { return a.network }
func (a strAddr) String() string  { return a.s }

// FuzzSockaddr feeds arbitrary addresses to the conversion Connect uses: it never panics,
// and a TCP address that converts comes back as the same address and port.
func FuzzSockaddr(f *testing.F) {
	for _, seed := range []struct{ n, s string }{
		{"tcp", "127.0.0.1:80"}, {"tcp6", "[::1]:443"}, {"tcp", "[fe80::1%1]:22"},
		{"tcp4", "[::ffff:10.0.0.1]:8080"}, {"unix", "/tmp/x.sock"}, {"udp", "1.2.3.4:5"},
		{"tcp", "[fe80::1%nosuchif]:1"}, {"tcp", ":0"}, {"tcp", "1.2.3.4:99999"},
	} {
		f.Add(seed.n, seed.s)
	}
	f.Fuzz(func(t *testing.T, network, s string) {
		sa, err := sockaddrFromNetAddr(strAddr{network, s})
		if err != nil {
			return
		}
		back := netAddrFromSockaddr(sa.sa)
		if back == nil {
			t.Fatalf("%s %q converted to an unknown sockaddr %#v", network, s, sa.sa)
		}
		switch network {
		case "tcp", "tcp4", "tcp6":
			want, _ := netip.ParseAddrPort(s)
			got := back.(*net.TCPAddr).AddrPort()
			if got.Port() != want.Port() || got.Addr().Unmap().WithZone("") != want.Addr().Unmap().WithZone("") {
				t.Fatalf("%q came back as %v", s, got)
			}
		case "unix":
			if back.String() != s {
				t.Fatalf("%q came back as %q", s, back.String())
			}
		}
	})
}
