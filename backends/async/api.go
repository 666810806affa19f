package async

import (
	"net"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
)

// TypeName is the name async bufferevents are registered under (bufferevent.Open,
// BufferEvent.Type). A constant: safe for concurrent use.
const TypeName = "async"

func init() {
	bufferevent.Register(TypeName, func(base *eventbase.Base, opts bufferevent.Options) (*bufferevent.BufferEvent, error) {
		return New(base, -1, opts)
	})
}

// ListenFlags select a Listener's behaviour; they mirror the socket package's flags
// (libevent's LEV_OPT_*) that apply to a completion-based listener.
// Values are immutable: safe for concurrent use.
type ListenFlags uint32

// These constants are immutable: safe for concurrent use.
const (
	// ListenBlocking leaves accepted sockets in blocking mode
	// (LEV_OPT_LEAVE_SOCKETS_BLOCKING). By default they are non-blocking.
	ListenBlocking ListenFlags = 1 << iota
	// ListenCloseOnFree closes the listening socket when the listener is closed
	// (LEV_OPT_CLOSE_ON_FREE). Listen always sets it.
	ListenCloseOnFree
	// ListenReuseAddr sets SO_REUSEADDR before binding (LEV_OPT_REUSEABLE). TCP only.
	ListenReuseAddr
	// ListenReusePort sets SO_REUSEPORT (LEV_OPT_REUSEABLE_PORT). TCP only.
	ListenReusePort
	// ListenDisabled creates the listener disabled (LEV_OPT_DISABLED).
	ListenDisabled
)

// ListenerOptions configure Listen and NewListener. The zero value is an enabled
// listener with the default backlog whose accepted sockets are non-blocking and
// close-on-exec.
// A ListenerOptions is a plain value; safe for concurrent use.
type ListenerOptions struct {
	// Flags select libevent's listener options.
	Flags ListenFlags
	// Backlog is passed to listen(2). For Listen, 0 or less means 4096 (clamped by the
	// kernel). For NewListener, 0 leaves the socket as it is (it must already listen), a
	// negative value listens with the default and a positive one with that value.
	Backlog int
	// MaxAcceptBackoff caps the pause after an accept error such as EMFILE (5ms,
	// doubling). 0 means one second.
	MaxAcceptBackoff time.Duration
}

// AcceptFunc receives each accepted connection: a connected, non-blocking (unless
// ListenBlocking), close-on-exec socket now owned by the callee, and the peer's address
// (*net.TCPAddr or *net.UnixAddr). Hand fd to New with bufferevent.CloseOnFree, or close
// it. The listener calls it on the loop goroutine only: Loop-confined.
type AcceptFunc func(l *Listener, fd int, peer net.Addr)

// ErrorFunc receives an accept error that is not transient (EMFILE, ENFILE, EINVAL...).
// The listener calls it on the loop goroutine only (Loop-confined); it may Disable or
// Close the listener. A listener that stays enabled pauses before accepting again.
type ErrorFunc func(l *Listener, err error)
