// Command event-read-fifo is libevent's sample/event-read-fifo.c on bufev: it creates a
// named pipe (FIFO), watches it with a persistent read event and prints what arrives.
// As in the sample, on Linux the FIFO is opened read-write, so writers may come and go
// without the reader seeing end-of-file; elsewhere it is opened read-only and the first
// writer's close ends the program ("Connection closed"). SIGINT ends it too, and the
// FIFO is removed on the way out.
//
//	go run ./event-read-fifo -path /tmp/event.fifo &
//	echo hello > /tmp/event.fifo
package main
