//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package socket

import (
	"net"
	"net/netip"
)

// This platform (Windows, Plan 9, WebAssembly, Solaris, AIX...) has no socket
// implementation here: constructors return ErrUnsupported, which matches
// errors.ErrUnsupported. On Windows the event base polls SOCKET handles with WSAPoll, but
// the descriptor-as-int API of this package and evbuffer's fd I/O are Unix-only.

const supported = false

const defaultBacklog = 128

type sockaddr struct{ family int }

type connectResult int

const (
	connectInProgress connectResult = iota
	connectDone
	connectFailed
)

func closeFD(int) error                                     { return ErrUnsupported }
func localAddr(int) net.Addr                                { return nil }
func peerAddr(int) net.Addr                                 { return nil }
func setNonblock(int) error                                 { return ErrUnsupported }
func setCloexec(int) error                                  { return ErrUnsupported }
func listenFD(int, int) error                               { return ErrUnsupported }
func checkListenFlags(string, ListenFlags) error            { return ErrUnsupported }
func removeSocketFile(string)                               {}
func acceptConn(int, bool) (int, net.Addr, error)           { return -1, nil, ErrUnsupported }
func isAcceptRetriable(error) bool                          { return false }
func isTemporary(error) bool                                { return false }
func isStreamSocket(int) error                              { return ErrUnsupported }
func dupFD(int) (int, error)                                { return -1, ErrUnsupported }
func newSocket(int) (int, error)                            { return -1, ErrUnsupported }
func startConnect(int, sockaddr) (connectResult, error)     { return connectFailed, ErrUnsupported }
func finishConnect(int) (bool, error)                       { return true, ErrUnsupported }
func sockaddrFromNetAddr(net.Addr) (sockaddr, error)        { return sockaddr{}, ErrUnsupported }
func sockaddrFromAddrPort(netip.AddrPort) (sockaddr, error) { return sockaddr{}, ErrUnsupported }
func listenSocket(string, string, ListenFlags, int) (int, string, error) {
	return -1, "", ErrUnsupported
}

func readFD(int, []byte) (int, error) { return 0, ErrUnsupported }

const afUnix = 1

func setNoDelay(int, bool) error { return ErrUnsupported }

func shutdownWrite(int) error { return ErrUnsupported }
