//go:build !amd64 && !arm64

package eventbase

// prefetchLead does nothing on this architecture (see prefetch_asm.go).
func prefetchLead(uintptr) {}
