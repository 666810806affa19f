package evbuffer

import (
	"fmt"
	"testing"
)

// validate checks the chain-structure invariants (libevent's
// evbuffer_validate_ in test/regress_buffer.c): the list ends at last, the
// sum of chain lengths is Len(), every chain fits its memory, lastData is on
// the list, every chain after it is empty, and lastData is empty only when
// it is first and the buffer is empty.
func (b *Buffer) validate() error {
	if b.first == nil {
		if b.last != nil || b.lastData != nil || b.total != 0 {
			return fmt.Errorf("no chains but last=%p lastData=%p total=%d", b.last, b.lastData, b.total)
		}
		return nil
	}
	sum := 0
	found := false
	var prev *chain
	for c := b.first; c != nil; c = c.next {
		if c == b.lastData {
			found = true
		}
		if c.off < 0 || c.misalign < 0 {
			return fmt.Errorf("chain %p: off=%d misalign=%d", c, c.off, c.misalign)
		}
		if c.buf != nil && c.misalign+c.off > len(c.buf) {
			return fmt.Errorf("chain %p: misalign %d + off %d > cap %d", c, c.misalign, c.off, len(c.buf))
		}
		if c.flags&flagShared != 0 && c.refs.Load() < 1 {
			return fmt.Errorf("chain %p: refs %d", c, c.refs.Load())
		}
		sum += c.off
		prev = c
	}
	if prev != b.last {
		return fmt.Errorf("last %p is not the tail %p", b.last, prev)
	}
	if !found {
		return fmt.Errorf("lastData %p not on the list", b.lastData)
	}
	if b.lastData.off == 0 || b.total == 0 {
		if b.lastData.off != 0 || b.lastData != b.first || b.total != 0 {
			return fmt.Errorf("empty lastData %p is not first %p of an empty buffer (total %d)", b.lastData, b.first, b.total)
		}
	}
	for c := b.lastData.next; c != nil; c = c.next {
		if c.off != 0 {
			return fmt.Errorf("chain %p after lastData holds %d bytes", c, c.off)
		}
	}
	if sum != b.total {
		return fmt.Errorf("chains hold %d bytes, total says %d", sum, b.total)
	}
	return nil
}

// mustValid fails the test if b's invariants do not hold.
func mustValid(t testing.TB, b *Buffer) {
	t.Helper()
	if err := b.validate(); err != nil {
		t.Fatalf("buffer invalid: %v\n%s", err, b.dump())
	}
}

// dump describes b's chains.
func (b *Buffer) dump() string {
	s := fmt.Sprintf("total=%d first=%p last=%p lastData=%p\n", b.total, b.first, b.last, b.lastData)
	for c := b.first; c != nil; c = c.next {
		mark := ""
		if c == b.lastData {
			mark = " <lastData"
		}
		s += fmt.Sprintf("  chain cap=%d misalign=%d off=%d flags=%#x refs=%d%s\n", len(c.buf), c.misalign, c.off, c.flags, c.refs.Load(), mark)
	}
	return s
}

// contents returns a copy of b's bytes.
func contents(t testing.TB, b *Buffer) string {
	t.Helper()
	p := make([]byte, b.Len())
	n, err := b.CopyOut(p)
	if err != nil || n != len(p) {
		t.Fatalf("CopyOut = %d, %v; want %d", n, err, len(p))
	}
	return string(p)
}

// validate checks a chain cache: every chain is plain, empty, of its list's
// class, counted in bytes, and owned by none of the given buffers.
func (cc *ChainCache) validate(bufs ...*Buffer) error {
	owned := map[*chain]string{}
	for i, b := range bufs {
		for c := b.first; c != nil; c = c.next {
			owned[c] = fmt.Sprintf("buffer %d's list", i)
		}
		for name, c := range map[string]*chain{"spare": b.spare, "retired": b.retired} {
			if c != nil {
				owned[c] = fmt.Sprintf("buffer %d's %s", i, name)
			}
		}
	}
	sum := 0
	for class, c := range cc.free {
		for ; c != nil; c = c.next {
			if c.flags != 0 || c.off != 0 || c.misalign != 0 || int(c.class) != class || len(c.buf) != minChainSize<<class {
				return fmt.Errorf("class %d holds chain flags %#x off %d misalign %d class %d size %d", class, c.flags, c.off, c.misalign, c.class, len(c.buf))
			}
			if who, ok := owned[c]; ok {
				return fmt.Errorf("cached chain %p is also %s", c, who)
			}
			sum += len(c.buf)
		}
	}
	if sum != cc.bytes || sum > ChainCacheMaxBytes {
		return fmt.Errorf("cache holds %d bytes, counts %d (bound %d)", sum, cc.bytes, ChainCacheMaxBytes)
	}
	return nil
}
