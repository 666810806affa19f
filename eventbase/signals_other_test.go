//go:build !unix && !windows

package eventbase

import "os"

var testSignals []os.Signal
