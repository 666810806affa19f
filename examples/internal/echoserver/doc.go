// Package echoserver is the echo service shared by the echo example and the demo: a
// listener whose connections send back what they receive, with watermark backpressure
// so that a client that sends faster than it reads cannot make the server buffer
// without bound.
package echoserver
