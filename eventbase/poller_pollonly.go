//go:build unix && !linux && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd

package eventbase

// Other Unix systems (Solaris, illumos, AIX, ...) get poll(2) only.
func platformPollers() []pollerInfo {
	return []pollerInfo{
		{"poll", FeatureFDs, newPoll},
	}
}
