package evbuffer

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// Mirrors libevent test/regress_buffer.c "evbuffer/remove_buffer_with_empty".
func TestRemoveBufferWithEmpty(t *testing.T) {
	var src, dst Buffer
	aa := []byte("AA")
	noErr(t, src.AddReference(aa, nil))
	noErr(t, src.AddReference(aa, nil))
	noErr(t, dst.Add(aa))
	noErr(t, dst.AddReference(aa[:0], nil))
	mustValid(t, &src)
	mustValid(t, &dst)
	wantStr(t, "src", pull(t, &src, -1), "AAAA")
	wantStr(t, "dst", pull(t, &dst, -1), "AA")
	n, err := src.RemoveBuffer(&dst, 3)
	noErr(t, err)
	wantInt(t, "moved", n, 3)
	mustValid(t, &src)
	mustValid(t, &dst)
	wantStr(t, "src", pull(t, &src, -1), "A")
	wantStr(t, "dst", pull(t, &dst, -1), "AAAAA")
}

// Mirrors libevent test/regress_buffer.c "evbuffer/remove_buffer_with_empty2".
func TestRemoveBufferWithEmpty2(t *testing.T) {
	var src, dst, buf Buffer
	foo := []byte("foo")
	buf.Add(foo)
	buf.AddReference(foo, nil)
	src.AddReference(foo, nil)
	src.AddReference(nil, nil)
	noErr(t, src.AddBuffer(&buf))
	buf.Add(foo)
	buf.AddReference(foo, nil)
	dst.AddReference(foo, nil)
	dst.AddReference(nil, nil)
	noErr(t, dst.AddBuffer(&buf))
	wantInt(t, "src len", src.Len(), 9)
	wantInt(t, "dst len", dst.Len(), 9)
	mustValid(t, &src)
	mustValid(t, &dst)
	wantStr(t, "src", pull(t, &src, -1), "foofoofoo")
	wantStr(t, "dst", pull(t, &dst, -1), "foofoofoo")
	n, err := src.RemoveBuffer(&dst, 8)
	noErr(t, err)
	wantInt(t, "moved", n, 8)
	mustValid(t, &src)
	mustValid(t, &dst)
	wantInt(t, "src len", src.Len(), 1)
	wantInt(t, "dst len", dst.Len(), 17)
	wantStr(t, "src", pull(t, &src, -1), "o")
	wantStr(t, "dst", pull(t, &dst, -1), "foofoofoofoofoofo")
}

// Mirrors libevent test/regress_buffer.c "evbuffer/remove_buffer_with_empty3".
func TestRemoveBufferWithEmpty3(t *testing.T) {
	var src, dst, buf Buffer
	foo := []byte("foo")
	buf.Add(foo)
	buf.AddReference(nil, nil)
	src.AddReference(foo, nil)
	src.AddReference(nil, nil)
	noErr(t, src.PrependBuffer(&buf))
	buf.Add(foo)
	buf.AddReference(nil, nil)
	dst.AddReference(foo, nil)
	dst.AddReference(nil, nil)
	noErr(t, dst.PrependBuffer(&buf))
	wantInt(t, "src len", src.Len(), 6)
	wantInt(t, "dst len", dst.Len(), 6)
	mustValid(t, &src)
	mustValid(t, &dst)
	wantStr(t, "src", pull(t, &src, -1), "foofoo")
	wantStr(t, "dst", pull(t, &dst, -1), "foofoo")
	n, err := src.RemoveBuffer(&dst, 5)
	noErr(t, err)
	wantInt(t, "moved", n, 5)
	mustValid(t, &src)
	mustValid(t, &dst)
	wantStr(t, "src", pull(t, &src, -1), "o")
	wantStr(t, "dst", pull(t, &dst, -1), "foofoofoofo")
}

// Mirrors libevent test/regress_buffer.c "evbuffer/pullup_with_empty".
func TestPullupWithEmpty(t *testing.T) {
	var b Buffer
	b.AddString("foo")
	b.AddReference(nil, nil)
	mustValid(t, &b)
	wantInt(t, "len", b.Len(), 3)
	wantStr(t, "pullup", pull(t, &b, -1), "foo")
	b.Reset()
	mustValid(t, &b)
	if p, err := b.Pullup(-1); p != nil || err != nil {
		t.Fatalf("Pullup(-1) of empty = %q, %v", p, err)
	}
	b.AddString("foo")
	b.AddReference(nil, nil)
	mustValid(t, &b)
	wantStr(t, "pullup", pull(t, &b, 3), "foo")
}

// Mirrors libevent test/regress_buffer.c "evbuffer/remove_buffer_with_empty_front".
func TestRemoveBufferWithEmptyFront(t *testing.T) {
	var b1, b2 Buffer
	noErr(t, b1.AddReference([]byte("foo"), nil))
	noErr(t, b1.Prepend(nil))
	n, err := b1.RemoveBuffer(&b2, 1)
	noErr(t, err)
	wantInt(t, "moved", n, 1)
	noErr(t, b1.AddString("bar"))
	wantStr(t, "b1", pull(t, &b1, -1), "oobar")
	mustValid(t, &b1)
	mustValid(t, &b2)
}

// Mirrors libevent test/regress_buffer.c "evbuffer/remove_buffer_adjust_last_with_datap_with_empty".
func TestRemoveBufferAdjustLastWithDataWithEmpty(t *testing.T) {
	var b1, b2 Buffer
	noErr(t, b1.AddString("aaaaaa"))
	var v [2][]byte
	// Ask for one byte more than the first chain has, to get two chains
	// and leave the second one empty.
	n, err := b1.Reserve(b1.first.space()+1, v[:])
	noErr(t, err)
	wantInt(t, "extents", n, 2)
	v[0][0] = 'b'
	v[0] = v[0][:1]
	noErr(t, b1.Commit(v[:1]))
	mustValid(t, &b1)
	noErr(t, b2.AddString("cc"))
	noErr(t, b2.Prepend([]byte("ddd")))
	noErr(t, b2.PrependBuffer(&b1))
	mustValid(t, &b2)
	noErr(t, b1.AddBuffer(&b2))
	mustValid(t, &b1)
	n, err = b1.RemoveBuffer(&b2, 11)
	noErr(t, err)
	wantInt(t, "moved", n, 11)
	wantStr(t, "b2", pull(t, &b2, -1), "aaaaaabdddc")
	wantStr(t, "b1", pull(t, &b1, -1), "c")
	mustValid(t, &b1)
	mustValid(t, &b2)
}

// Mirrors libevent test/regress_buffer.c "evbuffer/add_buffer_with_empty".
func TestAddBufferWithEmpty(t *testing.T) {
	var src, dst, buf Buffer
	foo := []byte("foo")
	buf.Add(foo)
	src.AddReference(foo, nil)
	src.AddReference(nil, nil)
	noErr(t, src.AddBuffer(&buf))
	buf.Add(foo)
	dst.AddReference(foo, nil)
	dst.AddReference(nil, nil)
	noErr(t, dst.AddBuffer(&buf))
	wantInt(t, "src len", src.Len(), 6)
	wantInt(t, "dst len", dst.Len(), 6)
	mustValid(t, &src)
	mustValid(t, &dst)
	wantStr(t, "src", pull(t, &src, -1), "foofoo")
}

// Mirrors libevent test/regress_buffer.c "evbuffer/add_buffer_with_empty2".
func TestAddBufferWithEmpty2(t *testing.T) {
	var src, dst, buf Buffer
	buf.AddString("foo")
	src.AddReference(nil, nil)
	noErr(t, src.AddBuffer(&buf))
	buf.AddString("foo")
	dst.AddReference(nil, nil)
	noErr(t, dst.AddBuffer(&buf))
	wantInt(t, "src len", src.Len(), 3)
	wantInt(t, "dst len", dst.Len(), 3)
	mustValid(t, &src)
	mustValid(t, &dst)
}

// Mirrors libevent test/regress_buffer.c "evbuffer/reserve2".
func TestReserve2(t *testing.T) {
	var b Buffer
	var v [2][]byte
	n, err := b.Reserve(1024, v[:])
	noErr(t, err)
	wantInt(t, "extents", n, 1)
	wantInt(t, "len", b.Len(), 0)
	if len(v[0]) < 1024 {
		t.Fatalf("extent %d < 1024", len(v[0]))
	}
	cp := v[0]
	fill(v[0][:512], 'X')
	remaining := len(v[0]) - 512
	v[0] = v[0][:512]
	mustValid(t, &b)
	noErr(t, b.Commit(v[:1]))
	wantInt(t, "len", b.Len(), 512)
	mustValid(t, &b)

	// Same-chunk request in the existing chunk; use 8 bytes.
	n, err = b.Reserve(32, v[:])
	noErr(t, err)
	wantInt(t, "extents", n, 1)
	if &v[0][0] != &cp[512] {
		t.Fatal("second reserve is not right after the data")
	}
	wantInt(t, "extent", len(v[0]), remaining)
	fill(v[0][:8], 'Y')
	v[0] = v[0][:8]
	noErr(t, b.Commit(v[:1]))
	wantInt(t, "len", b.Len(), 520)
	remaining -= 8
	mustValid(t, &b)

	// A split request; use one byte of it.
	n, err = b.Reserve(remaining+64, v[:])
	noErr(t, err)
	wantInt(t, "extents", n, 2)
	if &v[0][0] != &cp[520] {
		t.Fatal("split reserve does not start after the data")
	}
	wantInt(t, "extent 0", len(v[0]), remaining)
	if len(v[1]) < 64 {
		t.Fatalf("extent 1 = %d < 64", len(v[1]))
	}
	cp2 := v[1]
	v[0][0] = 'Z'
	v[0] = v[0][:1]
	noErr(t, b.Commit(v[:1]))
	wantInt(t, "len", b.Len(), 521)
	remaining--
	mustValid(t, &b)

	// Split again; use some of both.
	n, err = b.Reserve(remaining+64, v[:])
	noErr(t, err)
	mustValid(t, &b)
	wantInt(t, "extents", n, 2)
	if &v[0][0] != &cp[521] || &v[1][0] != &cp2[0] {
		t.Fatal("reserve did not return the same space")
	}
	wantInt(t, "extent 0", len(v[0]), remaining)
	fill(v[0][:400], 'W')
	v[0] = v[0][:400]
	fill(v[1][:60], 'x')
	v[1] = v[1][:60]
	noErr(t, b.Commit(v[:]))
	wantInt(t, "len", b.Len(), 981)
	mustValid(t, &b)

	var pv [2][]byte
	wantInt(t, "peek", b.Peek(-1, nil, pv[:]), 2)
	wantInt(t, "peek 0", len(pv[0]), 921)
	wantInt(t, "peek 1", len(pv[1]), 60)
	want := strings.Repeat("X", 512) + strings.Repeat("Y", 8) + "Z" + strings.Repeat("W", 400)
	wantStr(t, "chunk 0", string(pv[0]), want)
	wantStr(t, "chunk 1", string(pv[1]), strings.Repeat("x", 60))
}

func fill(p []byte, x byte) {
	for i := range p {
		p[i] = x
	}
}

// Mirrors libevent test/regress_buffer.c "evbuffer/reserve_many",
// "evbuffer/reserve_many2" ("add") and "evbuffer/reserve_many3" ("fill").
func TestReserveMany(t *testing.T) {
	for _, mode := range []string{"", "add", "fill"} {
		t.Run("mode="+mode, func(t *testing.T) {
			var b Buffer
			var v [8][]byte
			n, err := b.Reserve(128, v[:2])
			noErr(t, err)
			mustValid(t, &b)
			wantInt(t, "extents", n, 1)
			sz := len(v[0])
			cp1 := &v[0][0]
			switch mode {
			case "add":
				v[0][0] = 'X'
				v[0] = v[0][:1]
				noErr(t, b.Commit(v[:1]))
			case "fill":
				fill(v[0], 'X')
				noErr(t, b.Commit(v[:1]))
				n, err = b.Reserve(128, v[:2])
				noErr(t, err)
				wantInt(t, "extents", n, 1)
				sz = len(v[0])
				if &v[0][0] == cp1 {
					t.Fatal("reserve after fill returned the full chunk")
				}
				cp1 = &v[0][0]
			}
			// Another chunk gets added.
			n, err = b.Reserve(sz+128, v[:2])
			noErr(t, err)
			mustValid(t, &b)
			wantInt(t, "extents", n, 2)
			sz = len(v[0]) + len(v[1])
			if mode == "add" {
				if &v[0][0] != &b.first.buf[1] {
					t.Fatal("first extent is not after the committed byte")
				}
			} else if &v[0][0] != cp1 {
				t.Fatal("first extent moved")
			}
			cp1 = &v[0][0]
			cp2 := &v[1][0]
			// And a third.
			n, err = b.Reserve(sz+128, v[:3])
			noErr(t, err)
			mustValid(t, &b)
			wantInt(t, "extents", n, 3)
			if &v[0][0] != cp1 || &v[1][0] != cp2 {
				t.Fatal("extents moved")
			}
			sz = len(v[0]) + len(v[1]) + len(v[2])
			// Force a reallocation by asking for more in two extents.
			n, err = b.Reserve(sz+128, v[:2])
			noErr(t, err)
			mustValid(t, &b)
			if mode == "add" {
				wantInt(t, "extents", n, 2)
				if &v[0][0] != cp1 {
					t.Fatal("first extent moved")
				}
			} else {
				wantInt(t, "extents", n, 1)
			}
		})
	}
}

// Mirrors libevent test/regress_buffer.c "evbuffer/reserve_with_empty".
func TestReserveWithEmpty(t *testing.T) {
	var b Buffer
	b.AddString("a")
	var v [2][]byte
	n, err := b.Reserve(b.first.space()+1, v[:])
	noErr(t, err)
	wantInt(t, "extents", n, 2)
	v[0] = v[0][:1]
	v[0][0] = 'b'
	noErr(t, b.Commit(v[:1]))
	b.AddString("c")
	wantStr(t, "contents", pull(t, &b, -1), "abc")
	mustValid(t, &b)
}

// Mirrors libevent test/regress_buffer.c "evbuffer/reserve_invalid_last_with_datap".
func TestReserveInvalidLastWithData(t *testing.T) {
	var b Buffer
	b.AddReference([]byte{}, nil)
	b.Prepend([]byte("foo"))
	b.Add(nil)
	mustValid(t, &b)
	var v [2][]byte
	n, err := b.Reserve(1<<12, v[:])
	noErr(t, err)
	if n < 1 {
		t.Fatalf("extents = %d", n)
	}
	for i := 0; i < n; i++ {
		v[i] = v[i][:0]
	}
	noErr(t, b.Commit(v[:n]))
	mustValid(t, &b)
	n, err = b.Reserve(1<<13, v[:])
	noErr(t, err)
	if n < 1 {
		t.Fatalf("extents = %d", n)
	}
	mustValid(t, &b)
	wantStr(t, "contents", contents(t, &b), "foo")
}

// Mirrors libevent test/regress_buffer.c "evbuffer/expand".
func TestExpand(t *testing.T) {
	data := bytes.Repeat([]byte("X"), 4096)

	// expand on an empty buffer makes exactly one chain, with no waste.
	var b Buffer
	noErr(t, b.Expand(20000))
	mustValid(t, &b)
	a, w, u := b.waste()
	if w != 0 || u != 0 || a < 20000 {
		t.Fatalf("waste = %d, %d, %d", a, w, u)
	}
	if b.first == nil || b.first != b.last || b.first.off != 0 || len(b.first.buf) < 20000 {
		t.Fatalf("bad layout:\n%s", b.dump())
	}
	// A no-op when the space is there.
	mem := &b.first.buf[0]
	b.Add(data[:1024])
	noErr(t, b.Expand(1024))
	if &b.first.buf[0] != mem {
		t.Fatal("expand moved data needlessly")
	}
	mustValid(t, &b)

	// Expand realigns misaligned data when that is worth it.
	var b2 Buffer
	b2.Add(data[:400])
	b2.Add(data[:len(b2.first.buf)-b2.first.off-1])
	if b2.first != b2.last || b2.first.off != len(b2.first.buf)-1 {
		t.Fatalf("bad layout:\n%s", b2.dump())
	}
	noErr(t, b2.Drain(b2.first.off-1))
	wantInt(t, "len", b2.Len(), 1)
	if b2.first.misalign == 0 || b2.first.off != 1 {
		t.Fatalf("bad layout:\n%s", b2.dump())
	}
	mem = &b2.first.buf[0]
	noErr(t, b2.Expand(40))
	if b2.first != b2.last || b2.first.off != 1 || &b2.first.buf[0] != mem || b2.first.misalign != 0 {
		t.Fatalf("expand did not realign in place:\n%s", b2.dump())
	}
	mustValid(t, &b2)

	// add, expand, pullup: this used to crash libevent.
	var b3 Buffer
	for i := 0; i < 3; i++ {
		b3.Add(data)
	}
	mustValid(t, &b3)
	noErr(t, b3.Expand(1024))
	mustValid(t, &b3)
	p, err := b3.Pullup(-1)
	noErr(t, err)
	wantInt(t, "pullup", len(p), 3*4096)
	mustValid(t, &b3)
}

// Mirrors libevent test/regress_buffer.c "evbuffer/expand_overflow".
func TestExpandOverflow(t *testing.T) {
	var b Buffer
	b.AddString("1")
	for _, n := range []int{MaxChainSize + 1, math.MaxInt, math.MaxInt - 1} {
		if err := b.Expand(n); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Expand(%d) = %v, want ErrTooLarge", n, err)
		}
		mustValid(t, &b)
	}
	if err := b.Expand(-1); !errors.Is(err, ErrNegative) {
		t.Fatalf("Expand(-1) = %v", err)
	}
	wantStr(t, "contents", contents(t, &b), "1")
}

// Mirrors libevent test/regress_buffer.c "evbuffer/add1".
func TestAdd1(t *testing.T) {
	var b Buffer
	b.AddString("1")
	mustValid(t, &b)
	noErr(t, b.Expand(2048))
	mustValid(t, &b)
	b.AddString("2")
	mustValid(t, &b)
	b.Printf("3")
	mustValid(t, &b)
	wantStr(t, "contents", pull(t, &b, -1), "123")
}

// Mirrors libevent test/regress_buffer.c "evbuffer/add2".
func TestAdd2(t *testing.T) {
	var b Buffer
	n := minChainSize - 10
	b.Add(bytes.Repeat([]byte("P"), n))
	mustValid(t, &b)
	noErr(t, b.Expand(100))
	mustValid(t, &b)
	b.AddString("2")
	mustValid(t, &b)
	b.Printf("3")
	mustValid(t, &b)
	wantInt(t, "len", b.Len(), n+2)
	s := pull(t, &b, -1)
	wantStr(t, "tail", s[len(s)-3:], "P23")
}

// Mirrors libevent test/regress_buffer.c "evbuffer/reference".
func TestReference(t *testing.T) {
	var src, dst Buffer
	data := []byte("this is what we add as read-only memory.")
	orig := string(data)
	var cc cleanupCounter
	noErr(t, src.AddReference(data, cc.fn))
	var v [1][]byte
	_, err := dst.Reserve(len(data), v[:])
	noErr(t, err)
	n, err := src.Remove(v[0][:10])
	noErr(t, err)
	wantInt(t, "removed", n, 10)
	mustValid(t, &src)
	mustValid(t, &dst)
	// Prepending must not write into the referenced memory.
	noErr(t, src.Prepend([]byte("aaaaa")))
	mustValid(t, &src)
	noErr(t, src.Drain(5))
	_, err = src.Remove(v[0][10:len(data)])
	noErr(t, err)
	v[0] = v[0][:len(data)]
	noErr(t, dst.Commit(v[:]))
	mustValid(t, &src)
	mustValid(t, &dst)
	wantInt(t, "cleanups", cc.calls, 1)
	if &cc.last[0] != &data[0] || len(cc.last) != len(data) {
		t.Fatal("cleanup got another slice")
	}
	wantStr(t, "memory", string(data), orig)
	wantStr(t, "dst", pull(t, &dst, len(data)), orig)
	mustValid(t, &dst)
}

// Mirrors libevent test/regress_buffer.c "evbuffer/reference2".
func TestReference2(t *testing.T) {
	var b Buffer
	n := minChainSize - 10
	b.Add(bytes.Repeat([]byte("P"), n))
	mustValid(t, &b)
	noErr(t, b.Expand(100))
	mustValid(t, &b)
	noErr(t, b.AddReference([]byte("2"), nil))
	mustValid(t, &b)
	b.Printf("3")
	mustValid(t, &b)
	wantInt(t, "len", b.Len(), n+2)
	s := pull(t, &b, -1)
	wantStr(t, "tail", s[len(s)-3:], "P23")
}

// Mirrors libevent test/regress_buffer.c "evbuffer/iterative".
func TestIterative(t *testing.T) {
	abc := "abcdefghijklmnopqrstvuwxyzabcdefghijklmnopqrstvuwxyzabcdefghijklmnopqrstvuwxyzabcdefghijklmnopqrstvuwxyz"
	rounds := 1000
	if testing.Short() {
		rounds = 100
	}
	var b Buffer
	sum, n := 0, 0
	for i := 0; i < rounds; i++ {
		for j := 1; j < len(abc); j++ {
			if _, err := b.Printf(fmt.Sprintf("%%%d.%ds", j, j), abc); err != nil {
				t.Fatal(err)
			}
			if n%337 == 0 {
				mustValid(t, &b)
			}
			sum += j
			n++
		}
	}
	mustValid(t, &b)
	wantInt(t, "len", b.Len(), sum)
	a, w, _ := b.waste()
	if float64(w)/float64(a) >= 0.125 {
		t.Fatalf("wasted %d of %d allocated", w, a)
	}
}

// Mirrors libevent test/regress_buffer.c "evbuffer/find".
func TestFind(t *testing.T) {
	var b Buffer
	b.AddString("1234567890\r\n")
	mustValid(t, &b)
	b.Drain(12)
	mustValid(t, &b)
	b.AddString("1234567890\r")
	mustValid(t, &b)
	if p := b.Find([]byte("\r\n")); p != nil {
		t.Fatalf("Find matched past the end: %q", p)
	}
	b.Drain(11)
	mustValid(t, &b)
	test3 := bytes.Repeat([]byte("a"), 256)
	test3[255] = 'x'
	b.Add(test3)
	mustValid(t, &b)
	if p := b.Find([]byte("xy")); p != nil {
		t.Fatalf("Find(xy) = %q", p)
	}
	p := b.Find([]byte("ax"))
	if string(p) != "ax" {
		t.Fatalf("Find(ax) = %q", p)
	}
}

// Mirrors libevent test/regress_buffer.c "evbuffer/ptr_set".
func TestPtrSet(t *testing.T) {
	var b Buffer
	var pos Ptr
	noErr(t, b.SetPtr(&pos, 0))
	wantInt(t, "pos", pos.Pos, 0)
	if err := b.AdvancePtr(&pos, 1); !errors.Is(err, ErrInvalidPtr) || pos.Pos != -1 {
		t.Fatalf("AdvancePtr past end = %v, pos %d", err, pos.Pos)
	}
	if err := b.SetPtr(&pos, 1); !errors.Is(err, ErrInvalidPtr) || pos.Pos != -1 {
		t.Fatalf("SetPtr past end = %v, pos %d", err, pos.Pos)
	}
	for i, n := range []int{5000, 4000, 3000} {
		var v [1][]byte
		_, err := b.Reserve(n, v[:])
		noErr(t, err)
		v[0] = v[0][:n]
		fill(v[0], byte(i+1))
		noErr(t, b.Commit(v[:]))
		mustValid(t, &b)
	}
	wantInt(t, "len", b.Len(), 12000)
	wantInt(t, "chains", b.chains(), 3)
	if err := b.SetPtr(&pos, 13000); err == nil || pos.Pos != -1 {
		t.Fatal("SetPtr(13000) succeeded")
	}
	noErr(t, b.SetPtr(&pos, 0))
	if err := b.AdvancePtr(&pos, 13000); err == nil || pos.Pos != -1 {
		t.Fatal("AdvancePtr(13000) succeeded")
	}
	noErr(t, b.SetPtr(&pos, 0))
	for _, step := range []int{10000, 1000, 1000} {
		noErr(t, b.AdvancePtr(&pos, step))
	}
	wantInt(t, "pos", pos.Pos, 12000)
	if err := b.AdvancePtr(&pos, 1000); err == nil || pos.Pos != -1 {
		t.Fatal("AdvancePtr past the end succeeded")
	}
	// Positions resolve to the right bytes.
	var one [1]byte
	for _, c := range []struct{ pos, want int }{{0, 1}, {4999, 1}, {5000, 2}, {8999, 2}, {9000, 3}, {11999, 3}} {
		noErr(t, b.SetPtr(&pos, c.pos))
		n, err := b.CopyOutFrom(&pos, one[:])
		if n != 1 || err != nil || int(one[0]) != c.want {
			t.Fatalf("byte at %d = %d (%d, %v), want %d", c.pos, one[0], n, err, c.want)
		}
	}
}

// Mirrors libevent test/regress_buffer.c "evbuffer/search".
func TestSearch(t *testing.T) {
	var b, tmp Buffer
	var pos, end Ptr
	if p := b.Search([]byte("x"), nil); p.Pos != -1 {
		t.Fatal("found in empty buffer")
	}
	noErr(t, b.SetPtr(&pos, 0))
	if p := b.Search([]byte("x"), &pos); p.Pos != -1 {
		t.Fatal("found in empty buffer")
	}
	if p := b.SearchRange([]byte("x"), &pos, &pos); p.Pos != -1 {
		t.Fatal("found in empty buffer")
	}
	if p := b.SearchRange([]byte("x"), &pos, nil); p.Pos != -1 {
		t.Fatal("found in empty buffer")
	}
	for _, s := range []string{"hello", "foo", "cat", "attack"} {
		tmp.Printf("%s", s)
		b.AddBuffer(&tmp)
	}
	wantInt(t, "chains", b.chains(), 4)
	search := func(what string, start, end *Ptr) int {
		t.Helper()
		return b.SearchRange([]byte(what), start, end).Pos
	}
	wantInt(t, "attack", search("attack", nil, nil), 11)
	wantInt(t, "attacker", search("attacker", nil, nil), -1)
	pos = b.Search([]byte("oc"), nil)
	wantInt(t, "oc", pos.Pos, 7)
	pos = b.Search([]byte("cat"), &pos)
	wantInt(t, "cat", pos.Pos, 8)
	pos = b.Search([]byte("tacking"), &pos)
	wantInt(t, "tacking", pos.Pos, -1)
	b.SetPtr(&pos, 5)
	pos = b.Search([]byte("foo"), &pos)
	wantInt(t, "foo", pos.Pos, 5)
	b.AdvancePtr(&pos, 2)
	pos = b.Search([]byte("tat"), &pos)
	wantInt(t, "tat", pos.Pos, 10)

	b.SetPtr(&end, 12)
	wantInt(t, "foo before 12", search("foo", nil, &end), 5)
	wantInt(t, "foocata before 12", search("foocata", nil, &end), 5)
	wantInt(t, "foocatat before 12", search("foocatat", nil, &end), -1)
	wantInt(t, "ack before 12", search("ack", nil, &end), -1)

	noErr(t, b.SetPtr(&end, 17))
	wantInt(t, "attack before 17", search("attack", nil, &end), 11)
	noErr(t, b.SetPtr(&pos, 11))
	wantInt(t, "attack from 11", search("attack", &pos, &end), 11)
	noErr(t, b.SetPtr(&pos, 17))
	wantInt(t, "attack from 17", search("attack", &pos, &end), -1)
	wantInt(t, "attack from 17, no end", search("attack", &pos, nil), -1)
}

// Mirrors libevent test/regress_buffer.c "evbuffer/search_eol".
func TestSearchEOL(t *testing.T) {
	var b Buffer
	b.AddString("string! \r\n\r\nx\n")
	check := func(what string, p Ptr, n, wantPos, wantLen int) {
		t.Helper()
		if p.Pos != wantPos || n != wantLen {
			t.Fatalf("%s: pos %d len %d, want %d %d", what, p.Pos, n, wantPos, wantLen)
		}
	}
	p1, n := b.SearchEOL(nil, EOLCRLF)
	check("CRLF", p1, n, 8, 2)
	p2, n := b.SearchEOL(&p1, EOLCRLF)
	check("CRLF from 8", p2, n, 8, 2)
	noErr(t, b.AdvancePtr(&p1, 1))
	p2, n = b.SearchEOL(&p1, EOLCRLF)
	check("CRLF from 9", p2, n, 9, 1)
	p2, n = b.SearchEOL(&p1, EOLCRLFStrict)
	check("CRLFStrict from 9", p2, n, 10, 2)
	p1, n = b.SearchEOL(nil, EOLLF)
	check("LF", p1, n, 9, 1)
	p2, n = b.SearchEOL(&p1, EOLLF)
	check("LF from 9", p2, n, 9, 1)
	noErr(t, b.AdvancePtr(&p1, 1))
	p2, n = b.SearchEOL(&p1, EOLLF)
	check("LF from 10", p2, n, 11, 1)
	noErr(t, b.SetPtr(&p1, b.Len()))
	p2, n = b.SearchEOL(&p1, EOLLF)
	check("LF from end", p2, n, -1, 0)
}

// Mirrors libevent test/regress_buffer.c "evbuffer/readln".
func TestReadln(t *testing.T) {
	var b, tmp Buffer
	line := func(style EOLStyle, want string) {
		t.Helper()
		got, err := b.ReadLine(style)
		if err != nil || string(got) != want {
			t.Fatalf("ReadLine(%v) = %q, %v; want %q", style, got, err, want)
		}
		mustValid(t, &b)
	}
	noLine := func(style EOLStyle) {
		t.Helper()
		got, err := b.ReadLine(style)
		if !errors.Is(err, ErrNoLine) || got != nil {
			t.Fatalf("ReadLine(%v) = %q, %v; want ErrNoLine", style, got, err)
		}
		mustValid(t, &b)
	}

	// EOLAny.
	b.AddString("complex silly newline\r\n\n\r\n\n\rmore\x00\n")
	line(EOLAny, "complex silly newline")
	line(EOLAny, "more\x00")
	wantInt(t, "len", b.Len(), 0)
	b.AddString("\nno newline")
	line(EOLAny, "")
	noLine(EOLAny)
	b.Drain(b.Len())

	// EOLCRLF.
	b.AddString("Line with\rin the middle\nLine with good crlf\r\n\nfinal\n")
	line(EOLCRLF, "Line with\rin the middle")
	line(EOLCRLF, "Line with good crlf")
	line(EOLCRLF, "")
	line(EOLCRLF, "final")
	b.AddString("x")
	noLine(EOLCRLF)

	// EOLCRLFStrict.
	b.AddString(" and a bad crlf\nand a good one\r\n\r\nMore\r")
	line(EOLCRLFStrict, "x and a bad crlf\nand a good one")
	line(EOLCRLFStrict, "")
	noLine(EOLCRLFStrict)
	b.AddString("\n")
	line(EOLCRLFStrict, "More")
	wantInt(t, "len", b.Len(), 0)
	b.AddString("An internal CR\r is not an eol\r\nNor is a lack of one")
	line(EOLCRLFStrict, "An internal CR\r is not an eol")
	noLine(EOLCRLFStrict)
	b.AddString("\r\n")
	line(EOLCRLFStrict, "Nor is a lack of one")
	wantInt(t, "len", b.Len(), 0)

	// EOLLF.
	b.AddString("An\rand a nl\n\nText")
	line(EOLLF, "An\rand a nl")
	line(EOLLF, "")
	noLine(EOLLF)
	b.AddString("\n")
	line(EOLLF, "Text")

	// EOLNUL.
	wantInt(t, "len", b.Len(), 0)
	b.AddString("NUL\n\x00\x00The all-zeros character which may serve\x00to accomplish time fill\x00and media fill")
	line(EOLNUL, "NUL\n")
	line(EOLNUL, "")
	line(EOLNUL, "The all-zeros character which may serve")
	line(EOLNUL, "to accomplish time fill")
	noLine(EOLNUL)
	b.Drain(b.Len())

	// EOLCRLFStrict across chain boundaries.
	for _, s := range []string{" and a bad crlf\nand a good one\r", "\n\r", "\nMore\r"} {
		tmp.AddString(s)
		b.AddBuffer(&tmp)
		mustValid(t, &b)
	}
	line(EOLCRLFStrict, " and a bad crlf\nand a good one")
	line(EOLCRLFStrict, "")
	noLine(EOLCRLFStrict)
	b.AddString("\n")
	line(EOLCRLFStrict, "More")
	wantInt(t, "len", b.Len(), 0)

	// The "memory problem" case: a failed read consumes nothing. (libevent
	// injects a malloc failure; here a frozen front makes the read fail.)
	tmp.AddString("one line\ntwo line\nblue line")
	b.AddBuffer(&tmp)
	line(EOLLF, "one line")
	b.Freeze(true)
	if _, err := b.ReadLine(EOLLF); !errors.Is(err, ErrFrozen) {
		t.Fatalf("frozen ReadLine err = %v", err)
	}
	b.Unfreeze(true)
	line(EOLLF, "two line")
}

// Mirrors libevent test/regress_buffer.c "evbuffer/callbacks".
func TestCallbacks(t *testing.T) {
	var b, out1, out2 Buffer
	logTo := func(out *Buffer) func(*Buffer, CallbackInfo) {
		return func(_ *Buffer, info CallbackInfo) {
			out.Printf("%d->%d; ", info.OrigSize, info.OrigSize+info.Added-info.Deleted)
		}
	}
	cb1 := b.AddCallback(logTo(&out1))
	cb2 := b.AddCallback(logTo(&out2))
	b.Printf("The %d magic words are spotty pudding", 2) // 0->36
	mustValid(t, &b)
	cb2.SetEnabled(false)
	b.Drain(10) // 36->26
	mustValid(t, &b)
	b.Prepend([]byte("Hello")) // 26->31
	cb2.SetEnabled(true)
	b.AddReference([]byte("Goodbye"), nil) // 31->38
	noErr(t, b.RemoveCallback(cb1))
	mustValid(t, &b)
	b.Drain(b.Len()) // 38->0
	if err := b.RemoveCallback(cb1); !errors.Is(err, ErrNoCallback) {
		t.Fatalf("second RemoveCallback = %v", err)
	}
	b.AddString("X") // 0->1
	noErr(t, b.RemoveCallback(cb2))
	mustValid(t, &b)
	wantStr(t, "log1", pull(t, &out1, -1), "0->36; 36->26; 26->31; 31->38; ")
	wantStr(t, "log2", pull(t, &out2, -1), "0->36; 31->38; 38->0; 0->1; ")

	// libevent's obsolete evbuffer_setcb part: a self-draining callback.
	b.Drain(b.Len())
	out1.Reset()
	drainer := b.AddCallback(func(b *Buffer, info CallbackInfo) {
		if info.Added > info.Deleted {
			b.Drain(b.Len())
		}
	})
	b.AddCallback(logTo(&out1))
	b.Printf("This should get drained right away.")
	wantInt(t, "len", b.Len(), 0)
	noErr(t, b.RemoveCallback(drainer))
	b.Printf("This will not.")
	wantStr(t, "contents", pull(t, &b, -1), "This will not.")
	mustValid(t, &b)
}

// Mirrors libevent test/regress_buffer.c "evbuffer/add_reference" and
// "evbuffer/add_reference_with_offset" (in Go the offset is a reslice; the
// cleanup gets the slice that was added).
func TestAddReference(t *testing.T) {
	for _, prefix := range []string{"", "|prefix| "} {
		t.Run(fmt.Sprintf("prefix=%q", prefix), func(t *testing.T) {
			mem1 := []byte(prefix + "If you have found the answer to such a problem")
			mem2 := []byte(prefix + "you ought to write it up for publication")
			chunk1, chunk2 := mem1[len(prefix):], mem2[len(prefix):]
			var calls []string
			cleanup := func(name string, want []byte) func([]byte) {
				return func(p []byte) {
					if &p[0] != &want[0] || len(p) != len(want) {
						t.Errorf("cleanup %s got another slice", name)
					}
					calls = append(calls, name)
				}
			}
			var b1, b2 Buffer
			noErr(t, b1.AddReference(chunk1, cleanup("111", chunk1)))
			b1.AddString(", ")
			noErr(t, b1.AddReference(chunk2, cleanup("222", chunk2)))
			wantInt(t, "len", b1.Len(), len(chunk1)+len(chunk2)+2)
			tmp := make([]byte, 16)
			n, _ := b1.Remove(tmp[:6])
			wantStr(t, "removed", string(tmp[:n]), "If you")
			n, _ = b1.Remove(tmp[:5])
			wantStr(t, "removed", string(tmp[:n]), " have")
			noErr(t, b1.Prepend([]byte("I have ")))
			wantStr(t, "memory", string(mem1[:len(prefix)+6]), prefix+"If you")
			mustValid(t, &b1)
			b1.Drain(7)
			b1.Drain(len(chunk1) - 11 - 1)
			wantInt(t, "cleanups", len(calls), 0)
			n, _ = b1.Remove(tmp[:1])
			wantStr(t, "last byte", string(tmp[:n]), "m")
			wantStr(t, "cleanups", strings.Join(calls, ","), "111")
			mustValid(t, &b1)
			b1.Drain(6)
			b2.AddString("I ")
			noErr(t, b2.AddBuffer(&b1))
			wantStr(t, "cleanups", strings.Join(calls, ","), "111")
			n, _ = b2.Remove(tmp)
			wantStr(t, "removed", string(tmp[:n]), "I ought to write")
			b2.Drain(b2.Len())
			wantStr(t, "cleanups", strings.Join(calls, ","), "111,222")
			mustValid(t, &b2)
			// Reset (libevent's evbuffer_free) runs the cleanup of undrained
			// references.
			b1.AddString("You shake and shake the ")
			ketchup := []byte("ketchup bottle")
			b1.AddReference(ketchup, cleanup("3333", ketchup))
			b1.AddString(". Nothing comes and then a lot'll.")
			b1.Reset()
			wantStr(t, "cleanups", strings.Join(calls, ","), "111,222,3333")
		})
	}
}

// Mirrors libevent test/regress_buffer.c "evbuffer/multicast".
func TestMulticast(t *testing.T) {
	chunk1 := "If you have found the answer to such a problem"
	chunk2 := "you ought to write it up for publication"
	var b1, b2 Buffer
	b1.AddString(chunk1)
	b1.AddString(", ")
	b1.AddString(chunk2)
	wantInt(t, "len", b1.Len(), len(chunk1)+len(chunk2)+2)
	noErr(t, b2.AddBufferReference(&b1))
	if err := b2.AddBufferReference(&b2); !errors.Is(err, ErrSameBuffer) {
		t.Fatalf("self reference = %v", err)
	}
	if err := b1.AddBufferReference(&b2); !errors.Is(err, ErrNestedReference) {
		t.Fatalf("nested reference = %v", err)
	}
	wantInt(t, "len", b2.Len(), b1.Len())
	mustValid(t, &b1)
	mustValid(t, &b2)
	shared := &b1.first.buf[0]
	tmp := make([]byte, 16)
	for _, b := range []*Buffer{&b1, &b2} {
		n, _ := b.Remove(tmp[:6])
		wantStr(t, "removed", string(tmp[:n]), "If you")
		n, _ = b.Remove(tmp[:5])
		wantStr(t, "removed", string(tmp[:n]), " have")
		noErr(t, b.Prepend([]byte("I have ")))
		mustValid(t, b)
	}
	if shared != &b2.first.next.buf[0] {
		t.Fatal("buffers do not share memory")
	}
	// b2's data survives b1 being discarded.
	b1.Reset()
	n, _ := b2.Remove(tmp[:6])
	wantStr(t, "removed", string(tmp[:n]), "I have")
	n, _ = b2.Remove(tmp[:6])
	wantStr(t, "removed", string(tmp[:n]), "  foun")
	mustValid(t, &b2)
	// Writing to b2 never writes into the shared memory.
	b2.AddString("!")
	wantStr(t, "tail", contents(t, &b2)[b2.Len()-2:], "n!")
}

// Mirrors libevent test/regress_buffer.c "evbuffer/multicast_drain".
func TestMulticastDrain(t *testing.T) {
	var b1, b2 Buffer
	b1.AddString("If you have found the answer to such a problem")
	b1.AddString(", ")
	b1.AddString("you ought to write it up for publication")
	n := b1.Len()
	noErr(t, b2.AddBufferReference(&b1))
	wantInt(t, "len", b2.Len(), n)
	noErr(t, b1.Drain(b1.Len()))
	wantInt(t, "len", b2.Len(), n)
	noErr(t, b2.Drain(b2.Len()))
	mustValid(t, &b1)
	mustValid(t, &b2)
}

// Mirrors libevent test/regress_buffer.c "evbuffer/prepend".
func TestPrepend(t *testing.T) {
	var b1, b2 Buffer
	b1.Prepend([]byte("This string has 29 characters")) // into an empty buffer
	mustValid(t, &b1)
	b1.Prepend([]byte("Short.")) // a new chunk
	mustValid(t, &b1)
	b1.Drain(6 + 11)
	b1.Prepend([]byte("it")) // entirely in the first chunk
	mustValid(t, &b1)
	wantStr(t, "first chunk", string(b1.first.data()[:6]), "it has")
	b1.Prepend([]byte("It is no longer true to say ")) // split over chunks
	mustValid(t, &b1)
	tmp := make([]byte, 127)
	n, _ := b1.Remove(tmp)
	wantStr(t, "contents", string(tmp[:n]), "It is no longer true to say it has 29 characters")

	b1.Printf("Here is string %d. ", 999)
	noErr(t, b2.PrependBuffer(&b1)) // into an empty buffer
	mustValid(t, &b2)
	b1.Printf("Here is string %d. ", 1000)
	noErr(t, b2.PrependBuffer(&b1)) // into a non-empty buffer
	mustValid(t, &b2)
	mustValid(t, &b1)
	n, _ = b2.Remove(tmp)
	wantStr(t, "contents", string(tmp[:n]), "Here is string 1000. Here is string 999. ")

	// A big prepend needs a new chain and runs the callbacks once.
	big := bytes.Repeat([]byte("A"), 8096)
	b2.Reset()
	b2.Prepend([]byte("foo"))
	calls := 0
	cb := b2.AddCallback(func(_ *Buffer, info CallbackInfo) {
		calls++
		if info != (CallbackInfo{OrigSize: 3, Added: 8096}) {
			t.Errorf("info = %+v", info)
		}
	})
	b2.Prepend(big)
	noErr(t, b2.RemoveCallback(cb))
	wantInt(t, "callbacks", calls, 1)
	mustValid(t, &b2)
	wantStr(t, "big", pull(t, &b2, 8096), string(big))
	b2.Drain(8096)
	wantStr(t, "foo", pull(t, &b2, 3), "foo")
}

// Mirrors libevent test/regress_buffer.c "evbuffer/empty_reference_prepend".
func TestEmptyReferencePrepend(t *testing.T) {
	var b Buffer
	b.AddReference([]byte{}, nil)
	mustValid(t, &b)
	b.Prepend([]byte("foo"))
	mustValid(t, &b)
	wantStr(t, "contents", pull(t, &b, -1), "foo")
	mustValid(t, &b)
}

// Mirrors libevent test/regress_buffer.c "evbuffer/empty_reference_prepend_buffer".
func TestEmptyReferencePrependBuffer(t *testing.T) {
	var b1, b2 Buffer
	b1.AddReference([]byte{}, nil)
	mustValid(t, &b1)
	b2.AddString("foo")
	noErr(t, b2.PrependBuffer(&b1))
	mustValid(t, &b2)
	wantStr(t, "b2", pull(t, &b2, -1), "foo")
	if p, err := b1.Pullup(-1); p != nil || err != nil {
		t.Fatalf("b1 pullup = %q, %v", p, err)
	}
	mustValid(t, &b1)
}

// Mirrors libevent test/regress_buffer.c "evbuffer/peek_first_gt".
func TestPeekFirstGT(t *testing.T) {
	var b, tmp Buffer
	tmp.Printf("Contents of chunk 100\n")
	b.AddBuffer(&tmp)
	tmp.Printf("Contents of chunk 1\n")
	b.AddBuffer(&tmp)
	var ptr Ptr
	var v [2][]byte
	b.SetPtr(&ptr, 0)
	wantInt(t, "peek all", b.Peek(-1, &ptr, nil), 2)
	wantInt(t, "peek all", b.Peek(-1, &ptr, v[:]), 2)
	b.AdvancePtr(&ptr, 20)
	wantInt(t, "peek -1 at 20", b.Peek(-1, &ptr, nil), 2)
	wantInt(t, "peek -1 at 20", b.Peek(-1, &ptr, v[:]), 2)
	wantInt(t, "peek 2 at 20", b.Peek(2, &ptr, nil), 1)
	wantInt(t, "peek 2 at 20", b.Peek(2, &ptr, v[:]), 1)
	wantInt(t, "peek 3 at 20", b.Peek(3, &ptr, nil), 2)
	wantInt(t, "peek 3 at 20", b.Peek(3, &ptr, v[:]), 2)
}

// Mirrors libevent test/regress_buffer.c "evbuffer/peek".
func TestPeek(t *testing.T) {
	var b, tmp Buffer
	for i := 0; i < 16; i++ {
		tmp.Printf("Contents of chunk [%d]\n", i)
		b.AddBuffer(&tmp)
	}
	chunk := func(i int) string { return fmt.Sprintf("Contents of chunk [%d]\n", i) }
	var v [20][]byte
	clear := func() { v = [20][]byte{} }
	wantInt(t, "count", b.Peek(-1, nil, nil), 16)
	wantInt(t, "all", b.Peek(-1, nil, v[:]), 16)
	for _, i := range []int{0, 3, 12, 15} {
		wantStr(t, "extent", string(v[i]), chunk(i))
	}
	clear()
	wantInt(t, "one", b.Peek(-1, nil, v[:1]), 1)
	wantStr(t, "extent", string(v[0]), chunk(0))
	if v[1] != nil {
		t.Fatal("wrote past the vecs")
	}
	clear()
	wantInt(t, "40 bytes", b.Peek(40, nil, v[:16]), 2)
	wantStr(t, "extent", string(v[1]), chunk(1))
	if v[2] != nil {
		t.Fatal("filled too many")
	}
	wantInt(t, "count 100", b.Peek(100, nil, nil), 5)
	clear()
	wantInt(t, "60 in one", b.Peek(60, nil, v[:1]), 3)
	wantStr(t, "extent", string(v[0]), chunk(0))
	if v[1] != nil {
		t.Fatal("wrote past the vecs")
	}
	clear()
	wantInt(t, "65536", b.Peek(65536, nil, v[:]), 16)
	if v[16] != nil {
		t.Fatal("filled too many")
	}
	clear()
	wantInt(t, "empty", tmp.Peek(-1, nil, v[:]), 0)
	wantInt(t, "empty 50", tmp.Peek(50, nil, v[:]), 0)
	if v[0] != nil {
		t.Fatal("filled from empty buffer")
	}
	var ptr Ptr
	b.SetPtr(&ptr, 30)
	wantInt(t, "50 from 30", b.Peek(50, &ptr, v[:]), 3)
	wantStr(t, "extent 0", string(v[0]), " of chunk [1]\n")
	wantStr(t, "extent 1", string(v[1]), chunk(2))
	wantStr(t, "extent 2", string(v[2]), chunk(3))
	clear()
	b.AdvancePtr(&ptr, 14)
	wantInt(t, "44 from 44", b.Peek(44, &ptr, v[:]), 2)
	wantStr(t, "extent 0", string(v[0]), chunk(2))
	wantStr(t, "extent 1", string(v[1]), chunk(3))
	clear()
	noErr(t, b.SetPtr(&ptr, b.Len()))
	wantInt(t, "at end", b.Peek(44, &ptr, v[:]), 0)
	if v[0] != nil {
		t.Fatal("filled at end")
	}
}

// Mirrors libevent test/regress_buffer.c "evbuffer/add_iovec".
func TestAddIovec(t *testing.T) {
	data := []string{
		"Guilt resembles a sword with two edges.",
		"On the one hand, it cuts for Justice, imposing practical morality upon those who fear it.",
		"Conscience does not always adhere to rational judgment.",
		"Guilt is always a self-imposed burden, but it is not always rightly imposed.",
	}
	var vecs [][]byte
	total := 0
	for _, s := range data {
		vecs = append(vecs, []byte(s))
		total += len(s)
	}
	var b Buffer
	n, err := b.AddIovec(vecs)
	noErr(t, err)
	wantInt(t, "returned", n, b.Len())
	wantInt(t, "len", b.Len(), total)
	for _, s := range data {
		p := make([]byte, len(s))
		b.Remove(p)
		wantStr(t, "piece", string(p), s)
	}
	wantInt(t, "len", b.Len(), 0)
}

// Mirrors libevent test/regress_buffer.c "evbuffer/copyout".
func TestCopyout(t *testing.T) {
	s := "Still they skirmish to and fro, men my messmates on the snow " +
		"When we headed off the aurochs turn for turn; " +
		"When the rich Allobrogenses never kept amanuenses, " +
		"And our only plots were piled in lakes at Berne."
	wantInt(t, "len", len(s), 206)
	var b Buffer
	b.AddReference([]byte(s[:80]), nil)
	b.AddReference([]byte(s[80:160]), nil)
	b.AddString(s[160:])
	wantInt(t, "len", b.Len(), 206)
	tmp := make([]byte, 1024)
	for _, n := range []int{10, 100, 230} {
		got, err := b.CopyOut(tmp[:n])
		noErr(t, err)
		want := min(n, 206)
		wantInt(t, "copied", got, want)
		wantStr(t, "copy", string(tmp[:got]), s[:want])
	}
	wantInt(t, "len", b.Len(), 206)
	var ptr Ptr
	b.SetPtr(&ptr, 15)
	for _, n := range []int{10, 65, 90, 160, 999} {
		got, err := b.CopyOutFrom(&ptr, tmp[:n])
		noErr(t, err)
		want := min(n, 206-15)
		wantInt(t, "copied", got, want)
		wantStr(t, "copy", string(tmp[:got]), s[15:15+want])
	}
	wantInt(t, "len", b.Len(), 206)
}
