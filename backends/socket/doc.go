// Package socket provides socket bufferevents, outgoing connects (by address or by host
// name) and the listener — libevent's bufferevent_sock.c and listener.c for bufev.
//
// # Usage
//
// A server listens and wraps each accepted socket in a bufferevent:
//
//	base, _ := eventbase.New(eventbase.Config{})
//	ln, err := socket.Listen(base, "tcp", "127.0.0.1:8080", func(l *socket.Listener, fd int, peer net.Addr) {
//		bev, err := socket.New(base, fd, bufferevent.CloseOnFree)
//		if err != nil {
//			unix.Close(fd)
//			return
//		}
//		bev.SetCallbacks(onRead, nil, onEvent)
//		bev.Enable(bufferevent.Read | bufferevent.Write)
//	}, socket.ListenerOptions{Flags: socket.ListenReuseAddr})
//	...
//	base.Dispatch()
//
// A client creates a bufferevent without a socket and connects it:
//
//	bev, _ := socket.New(base, -1, bufferevent.CloseOnFree)
//	bev.SetCallbacks(onRead, nil, onEvent) // onEvent sees Connected, or Error
//	socket.ConnectHostname(ctx, bev, "tcp", "example.com", 443)
//
// The package registers the type "socket" with bufferevent.Register, so
// bufferevent.Open(base, "socket", opts) also works after a blank import.
//
// # Descriptor ownership
//
//   - [New] uses the descriptor it is given and makes it non-blocking. It stays the
//     caller's unless the options have bufferevent.CloseOnFree, in which case Close
//     closes it (libevent's rule).
//   - A socket created by [Connect] or [ConnectHostname] for a bufferevent that had none
//     belongs to the bufferevent and is always closed by Close. (libevent leaks it without
//     BEV_OPT_CLOSE_ON_FREE; bufev does not.)
//   - [NewFromConn] duplicates the descriptor of a net.Conn or *os.File; the duplicate
//     belongs to the bufferevent, the original stays the caller's.
//   - BufferEvent.SetFD hands a new descriptor to the bufferevent under the New rules.
//     The old one is closed if it belongs to the bufferevent (created by a connect or
//     duplicated by NewFromConn), since nobody else can; one the caller handed over is
//     left open, as libevent leaves it. Unlike libevent's bufferevent_setfd, it leaves
//     the buffers frozen as they were.
//   - The [AcceptFunc] receives a descriptor it owns: wrap it with CloseOnFree or close it.
//   - [Listen] always owns its socket; [NewListener] closes its socket on Close only with
//     ListenCloseOnFree.
//
// Every descriptor this package creates — listening, accepted, connecting — is
// close-on-exec and, except with ListenBlocking, non-blocking.
//
// # Nagle's algorithm
//
// As Go's net package does, TCP sockets this package creates or accepts have TCP_NODELAY
// set: the listener sets it on each accepted TCP connection before the [AcceptFunc] runs,
// and [Connect] and [ConnectHostname] set it on the socket they create. Without it, a
// small write that follows another unacknowledged one waits for the peer's delayed
// acknowledgement — 40 ms on Linux — which stalls request-response protocols (a TLS
// handshake, a ping-pong). Opt out per listener with ListenNagle, or per connection with
// [SetNoDelay](bev, false). Descriptors handed to [New], [NewFromConn] or SetFD are left as
// they are (a net.Conn already has TCP_NODELAY); [SetNoDelay] changes them on request.
//
// # Connect semantics
//
// Connect and ConnectHostname never report a network failure from inside the call. They
// return an error only for unusable arguments (an unknown network, a port outside
// 1..65535, a bufferevent of another type, a closed one). A refused or unreachable
// connect, even one the kernel rejects at once, reaches the event callback later as Error
// (with no Reading or Writing bit) and a *net.OpError wrapping the errno, so
// errors.Is(err, syscall.ECONNREFUSED) works; success reaches it as Connected. Output
// written before the connect completes is sent once it does.
//
// ConnectHostname resolves with Go's resolver on a goroutine bounded by the context, and
// handles the result on the loop; it then tries every address in order until one
// connects (libevent tries only the first). A failed lookup reports a [*DNSError]. Close
// and SetFD cancel a lookup in progress.
//
// # Half-close
//
// BufferEvent.Flush(bufferevent.Write, bufferevent.Finished) means "send what is
// buffered, then shut the write side down": once the output is empty (at once if it
// already is, after the connect if one is in progress; writing must be enabled for the
// output to drain) the socket gets shutdown(SHUT_WR),
// so the peer reads everything and then EOF, while this side keeps reading its answer
// until the peer's own EOF. This is what a proxy needs to pass a half-close on (a client
// that sends its request and shuts down its write side) and what a client uses to say
// "no more requests". No event reports the shutdown itself; output added after it fails
// with a Writing|Error event (EPIPE), and a shutdown that fails outside Flush is reported
// the same way. A TLS bufferevent (package ssl) over a socket sends close_notify first,
// then flushes its socket with Finished, which shuts it down the same way. Flush(Read,
// Finished) does nothing, and BufferEvent.SetFD forgets a pending shutdown. libevent's
// socket flush does nothing in any mode (be_socket_flush returns 0): there, a proxy can
// only close both directions, or call shutdown(2) on the descriptor itself and race the
// write event.
//
// # Listener options
//
// [ListenFlags] mirror libevent's LEV_OPT_* flags: ListenReuseAddr (SO_REUSEADDR),
// ListenReusePort (SO_REUSEPORT, to run one listener per loop on one port),
// ListenDisabled, ListenDeferredAccept (TCP_DEFER_ACCEPT), ListenIPv6Only and
// ListenDualStack (IPV6_V6ONLY on or off), ListenCloseOnFree, ListenCloseOnExec,
// ListenBlocking and ListenThreadSafe; ListenNagle (bufev's own) leaves TCP_NODELAY off
// on accepted connections. [ListenerOptions.Backlog] sets listen(2)'s backlog.
// SO_REUSEADDR, SO_REUSEPORT and the IPv6 options are refused for Unix sockets with
// [ErrOption], as libevent refuses them.
//
// The accept loop accepts until the kernel has nothing more; disabling or closing the
// listener from its callback stops it at once, leaving further connections in the
// backlog. Errors such as EMFILE go to the [ErrorFunc]; a listener that stays enabled
// after one pauses (5ms, doubling up to a second) instead of spinning on a socket that
// stays readable.
//
// # Concurrency
//
// Socket bufferevents follow the bufferevent rules: loop-confined unless created with
// bufferevent.ThreadSafe. The package functions taking a bufferevent follow the same rule;
// on a ThreadSafe one they hand their work to the loop. A Listener is loop-confined
// unless created with ListenThreadSafe. All callbacks run on the loop goroutine.
//
// # Performance
//
// Reads go straight from the socket into reserved space at the end of the input buffer
// (evbuffer Reserve/Commit, one read(2) per readiness — on Linux a raw system call, since
// a non-blocking read never blocks and the scheduler need not be told — at most the maximum single read —
// 16 KiB by default, as in libevent; raise it with SetMaxSingleRead for bulk transfers).
// Writes go straight from the output buffer's chains (evbuffer WriteToFD: writev over up
// to 128 chains, sendfile for file segments added with AddFile). Output is written as
// soon as it is added when the socket is idle, so a request-response server answers
// with one system call and no epoll_ctl; only what the socket cannot take waits for the
// write event. Each Write is thus one system call: build a reply in an evbuffer and
// WriteBuffer it once to send it in one piece. No allocation per message in steady
// state.
//
// # Platforms
//
// Linux, macOS, FreeBSD, NetBSD, OpenBSD and DragonFly. Deferred accept exists only on
// Linux (elsewhere Listen fails with an error matching errors.ErrUnsupported). On other
// systems, Windows included, every constructor returns [ErrUnsupported], which matches
// errors.ErrUnsupported: this package's API is built on integer Unix descriptors.
package socket
