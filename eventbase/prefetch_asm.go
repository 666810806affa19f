//go:build amd64 || arm64

package eventbase

// prefetchLead asks the CPU to bring the cache line at addr and the two
// lines before it into its caches, without waiting for them (PREFETCHT0,
// PRFM PLDL1KEEP). A prefetch never faults, whatever the address; addr is
// a uintptr so that pointing before an object is not pointer arithmetic.
//
//go:noescape
func prefetchLead(addr uintptr)
