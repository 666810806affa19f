// Package filter provides bufferevents that filter the bytes of another
// bufferevent (libevent's bufferevent_filter): an input Func transforms what
// the underlying bufferevent reads before the user sees it, an output Func
// transforms what the user writes before the underlying sends it. Filters
// stack: a filter over a filter over a socket, a pair or TLS.
//
// This file set is being built; the Result and Func types are stable.
package filter
