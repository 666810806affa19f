//go:build !race

package evbuffer

const raceEnabled = false
