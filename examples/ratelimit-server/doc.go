// Command ratelimit-server serves one large file to every client that connects, under a
// per-connection and a group bandwidth limit — libevent's bufferevent rate limiting
// (bufferevent_set_rate_limit, bufferevent_rate_limit_group) on bufev — and prints each
// client's rate once a second.
//
//	go run ./ratelimit-server -file big.iso -conn-rate 1048576 -group-rate 4194304
//	go run ./ratelimit-server -size 1073741824            # serve a generated 1 GiB file
//	go run ./ratelimit-server -backend async              # io_uring completions
//	go run ./ratelimit-server -tls                        # TLS, self-signed certificate
//	nc 127.0.0.1 9100 > /dev/null &                       # a client (run a few)
//
// Every connection gets its own token bucket (-conn-rate bytes per second) and joins one
// group (-group-rate bytes per second for all of them together, shared fairly). Rates are
// turned into token buckets with a tick of -tick (100 ms by default): a connection may send
// rate × tick bytes per tick and save up to -burst-ticks ticks' worth while it is idle.
// 0 disables a limit. The server sends the file and closes the connection; it ignores what
// clients send.
//
// With the socket backend (the default) the file goes out with sendfile: the output buffer
// holds a file segment (evbuffer.AddFile) instead of the bytes, and the limiter decides how
// much each sendfile call may move. The async backend (io_uring) cannot send a file
// segment, so the server feeds each connection's output from the file in 256 KiB pieces as
// it drains; so does -tls (package backends/ssl, with a certificate generated at start for
// localhost, 127.0.0.1 and ::1), whose limits count the bytes on the wire: ciphertext,
// record headers and handshake included.
//
// Each report line gives, per client, the bytes sent since the previous report divided by
// the time since then, and the total; a line with the group's totals follows. The server
// runs until interrupted (SIGINT or SIGTERM) and then closes every connection.
package main
