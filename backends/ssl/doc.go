// Package ssl provides TLS bufferevents on crypto/tls, over a socket or over any bufferevent.
package ssl
