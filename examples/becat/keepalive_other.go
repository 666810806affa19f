//go:build !linux && !freebsd && !darwin

package main

import (
	"errors"
	"time"
)

// setKeepAlive reports errors.ErrUnsupported: the socket backend (and so
// becat's connections) exists on Unix systems only.
func setKeepAlive(int, time.Duration) error { return errors.ErrUnsupported }
