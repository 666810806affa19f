//go:build !unix

package main

import (
	"errors"
	"fmt"
	"runtime"
)

// The server hands files to buffers by descriptor (evbuffer.AddFile), which needs a Unix
// system.
var errNoFD = fmt.Errorf("ratelimit-server: serving a file by descriptor is not supported on %s: %w", runtime.GOOS, errors.ErrUnsupported)

func openFile(string) (int, error)              { return -1, errNoFD }
func preadFile(int, []byte, int64) (int, error) { return 0, errNoFD }
func closeFile(int) error                       { return errNoFD }
