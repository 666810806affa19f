//go:build linux

package uring

import (
	"runtime"
	"unsafe"
)

// pinsPerPinner is how many objects one runtime.Pinner holds without allocating (its
// inline store has room for 5 pointers on 64-bit platforms and more on 32-bit ones).
const pinsPerPinner = 5

// pinSet pins the Go objects one operation hands to the kernel. It spreads them over as
// many runtime.Pinners as needed so that, once grown, pinning and unpinning allocate
// nothing. Pinned objects are also kept reachable by the Pinners, so a pinSet is both the
// "do not move" and the "do not free" guarantee.
type pinSet struct {
	ps []*runtime.Pinner
	n  int
}

// pin pins the object p points into. Pointers to memory the Go heap does not own (mmap'd
// buffers, globals) are accepted and ignored by the runtime.
func (s *pinSet) pin(p unsafe.Pointer) {
	i := s.n / pinsPerPinner
	if i == len(s.ps) {
		s.ps = append(s.ps, new(runtime.Pinner))
	}
	s.ps[i].Pin(p)
	s.n++
}

// unpin releases every pin of the set.
func (s *pinSet) unpin() {
	if s.n == 0 {
		return
	}
	for i := 0; i <= (s.n-1)/pinsPerPinner; i++ {
		s.ps[i].Unpin()
	}
	s.n = 0
}
