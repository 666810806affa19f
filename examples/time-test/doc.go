// Command time-test is libevent's sample/time-test.c on bufev: a timer that fires every
// two seconds and prints how long it has been since the previous call. By default the
// event is a one-shot timer that the callback adds again; with -p it is persistent
// (eventbase.Persist) and the loop re-arms it.
//
//	go run ./time-test          # one-shot timer re-added in the callback
//	go run ./time-test -p       # persistent timer
//	go run ./time-test -interval 100ms -count 5
//
// It runs until interrupted, or until -count calls have happened.
package main
