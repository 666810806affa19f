//go:build unix && !linux

package eventbase

const pollRDHUP = 0
