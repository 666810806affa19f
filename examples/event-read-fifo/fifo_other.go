//go:build !(linux || darwin || freebsd)

package main

import (
	"errors"
	"fmt"
)

var errNoFIFO = fmt.Errorf("event-read-fifo: named pipes are not supported on this platform: %w", errors.ErrUnsupported)

func openFIFO(string) (int, error) { return -1, errNoFIFO }

func readFD(int, []byte) (int, error) { return 0, errNoFIFO }

func closeFD(int) error { return nil }
