//go:build !unix

package evbuffer

import "time"

// cpuNow is not measured here.
func cpuNow() time.Duration { return 0 }
