//go:build windows

package eventbase

import "os"

var testSignals = []os.Signal{os.Interrupt}
