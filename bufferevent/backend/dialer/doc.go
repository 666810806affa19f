// Package dialer is the backend-neutral half of a hostname connect, for authors of
// connect-capable bufferevent types (backends/socket, backends/async, or your own): it
// validates the network, host and port a ConnectHostname receives, resolves the host
// with Go's resolver on a goroutine bounded by a context, hands the addresses back on
// the event loop, cancels a lookup that is no longer wanted, keeps the addresses left to
// try in order, and defines the [DNSError] a failed lookup reports. Opening sockets and
// connecting them stays in the backend: that is how each type does I/O.
//
// It is what libevent's bufferevent_socket_connect_hostname does around
// evutil_getaddrinfo_async_, except that every address is tried in turn, as net.Dial
// does, rather than only the first.
//
// # Using it in a backend
//
// Keep one [Dialer] in the backend's state. In ConnectHostname:
//
//  1. [ParseTarget] the arguments; return its error (wrapped as the backend reports
//     unusable addresses) before touching the bufferevent.
//  2. On the loop: cancel a lookup in progress, suspend reading and writing with
//     backend.SuspendLookup, then [Dialer.Start] with the base (any [Loop]) and a
//     deliver function.
//  3. deliver runs on the loop goroutine. Enter the core, drop the result if the
//     bufferevent is closed or [Dialer.End] says it is stale, lift SuspendLookup, then
//     [Dialer.Settle]: a non-nil error is the *DNSError to report with the Error event;
//     otherwise connect to [Dialer.Next], and after a failed connect try Next again while
//     [Dialer.More] holds, reporting the last connect error when none is left (wrap it
//     with [DialError]).
//
// Close, SetFD and another Connect call [Dialer.Cancel] (and lift SuspendLookup if it
// reports a lookup was in progress) and [Dialer.Discard].
//
// The goroutine a lookup runs on ends when the resolver returns, at the latest when the
// context passed to Start is done or [Dialer.Cancel] is called; it then posts one
// function to the loop with RunInLoop. If the loop's base is closed by then the result
// is dropped.
package dialer
