// Command becat is libevent's sample/becat.c on bufev: a netcat over bufferevents. It
// connects to HOST PORT (or, with -l, listens there) and copies standard input to the
// connection and the connection to standard output.
//
//	becat [-l [-k]] [-S] [-N] [-s ADDR] [-p PORT] [-K DUR] [-t DUR] [-T DUR] [-b N] [-v] HOST PORT
//	becat -l [-k] [-s ADDR] -p PORT [options]  # listen on ADDR (default 127.0.0.1) PORT
//	go run ./becat -l 127.0.0.1 9999          # listen
//	go run ./becat 127.0.0.1 9999             # connect
//	go run ./becat -p 40000 127.0.0.1 9999    # connect from local port 40000
//	go run ./becat -S -l 127.0.0.1 9443       # TLS with a self-signed certificate
//	go run ./becat -S 127.0.0.1 9443
//
// -l listens instead of connecting and serves one connection (with -k, one after
// another: a new connection is accepted once the current one ended). -S speaks TLS
// (package backends/ssl, a TLS filter over the socket bufferevent): the listener uses a self-signed certificate
// generated at start and the client does not verify it, as the C sample; it prints the
// certificate's SHA-256 fingerprint on both sides so it can be compared by eye. -t
// and -T set the connection's read and write timeouts, -b its maximum single read. By
// default the connection stays open after standard input ends, until the peer closes
// it, as netcat does; -N, as nc -N, shuts the connection's write side down once what
// was read from standard input has been sent (Flush(Write, Finished): after
// close_notify with -S), so the peer sees EOF, and goes on printing what the peer
// sends until it closes: a request whose server answers after the end of the request
// gets its answer.
//
// -s and -p are the source address and port, as in libevent's becat and ncat:
// connecting, the socket is bound to them before it connects (then becat
// dials with the standard library's net.Dialer, blocking before the loop
// starts, and hands the connected socket to a socket bufferevent); listening,
// they are the address to listen on and replace HOST and PORT, which may
// then be left out ("-s *does* affect -l, unlike ncat", says libevent's
// usage; its -s ignores its argument and always uses 127.1, a bug not
// copied). -K turns TCP keepalive on for the connection, the first probe
// after that much idle time and then one at that interval (libevent's -K,
// in seconds there, applied through evutil_set_tcp_keepalive).
//
// # Standard input
//
// A terminal, a pipe or a file given as standard input is not something an event loop
// can poll in general (files are always "ready", terminals need raw mode, Windows
// consoles are not sockets), so becat reads it on one goroutine and hands each chunk
// to the loop with Base.Do, which runs a function on the loop goroutine and waits for
// it. The chunk is appended to the connection's output there; when that output holds
// more than 1 MiB, the reading goroutine waits until the write callback reports it
// drained to 256 KiB, so a slow peer slows the reading of standard input instead of
// growing memory. Everything else — the connection, the listener, the timeouts — is
// on the loop.
package main
