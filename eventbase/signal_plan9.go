//go:build plan9

package eventbase

import "os"

// Plan 9 has notes, not numbered signals: signal events are rejected.
func validSignal(int) bool { return false }

func osSignal(int) os.Signal { return nil }

func signalNumber(os.Signal) (int, bool) { return 0, false }
