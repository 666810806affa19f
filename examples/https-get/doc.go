// Command https-get fetches a URL over bufev's TLS backend and prints the response's
// status line and headers (with -body, the body too) — libevent's
// sample/https-client.c without evhttp: a TLS filter bufferevent (backends/ssl) over a
// socket bufferevent connected with ConnectHostname, a hand-written HTTP/1.1 request,
// and the response read line by line from the input evbuffer.
//
//	go run ./https-get https://www.example.com/
//	go run ./https-get -cafile ca.pem -body https://127.0.0.1:8443/hello
//
// The server's certificate is verified for the URL's host against the system roots, or
// against the CAs in -cafile. There is no -insecure flag on purpose.
package main
