// Package ssl provides TLS bufferevents on crypto/tls, in socket mode (TLS
// over a socket) and in filter mode (TLS over any bufferevent): libevent's
// bufferevent_openssl_socket_new and bufferevent_openssl_filter_new.
//
// The handshake runs on a short-lived goroutine over an in-memory net.Conn
// fed by the loop; once it completes, the loop drives tls.Conn.Read and
// Write itself, so an open connection has no goroutine of its own.
package ssl
