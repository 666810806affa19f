// Command signal-test is libevent's sample/signal-test.c on bufev: a persistent event
// for SIGINT registered with the base (eventbase.NewSignal, delivered through
// os/signal on the loop goroutine). Each Ctrl-C prints a line; the third deletes the
// event, and the loop, left with nothing to wait for, returns.
//
//	go run ./signal-test    # then press Ctrl-C three times
package main
