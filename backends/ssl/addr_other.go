//go:build !unix

package ssl

import "net"

// sockAddrs is not implemented here; NetConn then names the bufferevent
// type instead.
func sockAddrs(int) (local, remote net.Addr) { return nil, nil }
