// Command le-proxy is libevent's sample/le-proxy.c on bufev: a TCP proxy. Every
// connection accepted on LISTEN-ADDR gets an outbound connection to CONNECT-ADDR, and
// bytes are relayed both ways by moving chains between the two bufferevents, without
// copying.
//
//	le-proxy [-s] [-W] [-cafile FILE] [-servername NAME] [-insecure] [-idle D] LISTEN-ADDR CONNECT-ADDR
//	go run ./le-proxy 127.0.0.1:8080 example.com:80
//	go run ./le-proxy -s 127.0.0.1:8443 example.com:443
//
// -s speaks TLS to the upstream (the client side stays plain): by default as a TLS
// filter over a socket bufferevent (ssl.NewFilter), with -W as a TLS socket
// bufferevent (ssl.NewSocket). Unlike the C sample, which does not verify the server,
// the certificate is checked against the system roots (or -cafile) for -servername
// (default: CONNECT-ADDR's host); -insecure skips the check as the sample does.
//
// Backpressure is the sample's (see internal/proxy): when the output queued for one
// side reaches 512 KiB, reading from the other side stops until that output drained
// to 256 KiB, so a slow reader cannot make the proxy buffer without bound. On EOF the
// remaining data is flushed to the other side, which then shuts its write side down
// (after close_notify with -s): a half-close passes through, and the other direction
// keeps flowing until it ends too (the C sample closes both at the first EOF, which
// breaks clients that half-close after their request). On an error the other side is
// closed once its output drained.
//
// -idle closes a connection that relayed nothing for that long while nothing waited to
// be sent, and one whose peer took none of its pending output for that long (default
// 10 minutes, as nginx's proxy_timeout; 0 never closes one, as the C sample): without
// it a half-closed connection whose other end neither sends nor closes would stay open
// for good.
package main
