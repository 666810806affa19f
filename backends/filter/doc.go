// Package filter provides bufferevents that filter the bytes of another bufferevent.
package filter
