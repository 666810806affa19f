package evbuffer

import (
	"testing"
	"unsafe"
)

func TestChainCacheClasses(t *testing.T) {
	if cacheClasses != numClasses {
		t.Fatalf("cacheClasses = %d, numClasses = %d", cacheClasses, numClasses)
	}
}

// reserveData reserves n bytes of b in one extent and returns its address.
func reserveData(t *testing.T, b *Buffer, n int) unsafe.Pointer {
	t.Helper()
	var v [1][]byte
	if _, err := b.Reserve(n, v[:]); err != nil {
		t.Fatal(err)
	}
	return unsafe.Pointer(unsafe.SliceData(v[0]))
}

// fillDrain reserves n bytes, commits 64 of them and drains them: one echo
// of a bufferevent's input.
func fillDrain(t *testing.T, b *Buffer, n int) unsafe.Pointer {
	t.Helper()
	var v [1][]byte
	if _, err := b.Reserve(n, v[:]); err != nil {
		t.Fatal(err)
	}
	p := unsafe.Pointer(unsafe.SliceData(v[0]))
	v[0] = v[0][:64]
	if err := b.Commit(v[:]); err != nil {
		t.Fatal(err)
	}
	if err := b.Drain(64); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestChainCache(t *testing.T) {
	const big = 256 << 10 // above the spare chain's 4 KiB bound
	t.Run("last freed is next handed out", func(t *testing.T) {
		var cc ChainCache
		var b Buffer
		b.SetChainCache(&cc)
		p := fillDrain(t, &b, big)
		if cc.Bytes() != big {
			t.Fatalf("cache holds %d bytes after the drain, want %d", cc.Bytes(), big)
		}
		if q := reserveData(t, &b, big); q != p {
			t.Fatal("the next reserve got other memory than the chain just freed")
		}
		if cc.Bytes() != 0 {
			t.Fatalf("cache holds %d bytes after the reserve, want 0", cc.Bytes())
		}
	})
	t.Run("shared by buffers", func(t *testing.T) {
		var cc ChainCache
		var a, b Buffer
		a.SetChainCache(&cc)
		b.SetChainCache(&cc)
		p := fillDrain(t, &a, big)
		if q := reserveData(t, &b, big); q != p {
			t.Fatal("b did not reuse the chain a freed")
		}
	})
	t.Run("chain goes to the freeing buffer's cache", func(t *testing.T) {
		var c1, c2 ChainCache
		var a, b Buffer
		a.SetChainCache(&c1)
		b.SetChainCache(&c2)
		var v [1][]byte
		if _, err := a.Reserve(big, v[:]); err != nil {
			t.Fatal(err)
		}
		v[0] = v[0][:10]
		if err := a.Commit(v[:]); err != nil {
			t.Fatal(err)
		}
		if err := b.AddBuffer(&a); err != nil {
			t.Fatal(err)
		}
		if err := b.Drain(10); err != nil {
			t.Fatal(err)
		}
		if c1.Bytes() != 0 || c2.Bytes() != big {
			t.Fatalf("caches hold %d and %d bytes, want 0 and %d", c1.Bytes(), c2.Bytes(), big)
		}
		if err := c2.validate(&a, &b); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("bounded", func(t *testing.T) {
		var cc ChainCache
		bufs := make([]Buffer, 6)
		for i := range bufs {
			bufs[i].SetChainCache(&cc)
			var v [1][]byte
			if _, err := bufs[i].Reserve(big, v[:]); err != nil {
				t.Fatal(err)
			}
			v[0] = v[0][:1]
			if err := bufs[i].Commit(v[:]); err != nil {
				t.Fatal(err)
			}
		}
		for i := range bufs {
			if err := bufs[i].Drain(1); err != nil {
				t.Fatal(err)
			}
		}
		if cc.Bytes() != ChainCacheMaxBytes {
			t.Fatalf("cache holds %d bytes, want its bound %d", cc.Bytes(), ChainCacheMaxBytes)
		}
		if err := cc.validate(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("references and shared chains stay out", func(t *testing.T) {
		var cc ChainCache
		var b, c Buffer
		b.SetChainCache(&cc)
		c.SetChainCache(&cc)
		cleanups := 0
		if err := b.AddReference(make([]byte, 100), func([]byte) { cleanups++ }); err != nil {
			t.Fatal(err)
		}
		b.Add(make([]byte, 5000)) // an 8 KiB chain, above the spare bound
		if err := c.AddBufferReference(&b); err != nil {
			t.Fatal(err)
		}
		if err := b.Drain(b.Len()); err != nil {
			t.Fatal(err)
		}
		if cleanups != 0 || cc.Bytes() != 0 {
			t.Fatalf("after draining the shared source: %d cleanups, cache %d bytes; want 0 and 0", cleanups, cc.Bytes())
		}
		if err := c.Drain(c.Len()); err != nil {
			t.Fatal(err)
		}
		if cleanups != 1 {
			t.Fatalf("%d reference cleanups, want 1", cleanups)
		}
		if err := cc.validate(&b, &c); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("no allocations", func(t *testing.T) {
		var cc ChainCache
		var in, out Buffer
		in.SetChainCache(&cc)
		out.SetChainCache(&cc)
		echo := func() {
			var v [1][]byte
			_, _ = in.Reserve(big, v[:])
			v[0] = v[0][:64]
			_ = in.Commit(v[:])
			_ = out.AddBuffer(&in)
			_ = out.Drain(64)
		}
		echo()
		if a := testing.AllocsPerRun(100, echo); a != 0 {
			t.Fatalf("an echo through a chain cache allocates %v times", a)
		}
	})
}
