// Package socket provides socket bufferevents, outgoing connects and the listener.
package socket
