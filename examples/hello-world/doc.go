// Command hello-world is libevent's sample/hello-world.c on bufev: it listens on a TCP
// port, writes "Hello, World!\n" to every client, and closes each connection once the
// greeting is flushed. An interrupt (SIGINT, Ctrl-C) makes it exit cleanly two seconds
// later.
//
//	go run ./hello-world -listen :9995
//	nc 127.0.0.1 9995
package main
