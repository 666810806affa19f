//go:build !unix && !windows

package eventbase

// No poller exists for this platform: New returns ErrNoMethod.
func platformPollers() []pollerInfo { return nil }
