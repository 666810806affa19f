// Package eventbase is the reactor every bufev object runs on: libevent's event_base in Go.
package eventbase
