// Package bufferevent is the buffered connection type of bufev: libevent's bufferevent in Go.
package bufferevent
