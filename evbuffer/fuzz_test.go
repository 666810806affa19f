package evbuffer

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"unsafe"
)

// modelLine finds the first line of s in the given style the simple way:
// the line length and EOL length, or -1.
func modelLine(s []byte, style EOLStyle) (int, int) {
	switch style {
	case EOLLF:
		return bytes.IndexByte(s, '\n'), 1
	case EOLNUL:
		return bytes.IndexByte(s, 0), 1
	case EOLCRLFStrict:
		return bytes.Index(s, []byte("\r\n")), 2
	case EOLCRLF:
		i := bytes.IndexByte(s, '\n')
		if i > 0 && s[i-1] == '\r' {
			return i - 1, 2
		}
		return i, 1
	case EOLAny:
		i := bytes.IndexAny(s, "\r\n")
		if i < 0 {
			return -1, 0
		}
		n := 0
		for _, x := range s[i:] {
			if x != '\r' && x != '\n' {
				break
			}
			n++
		}
		return i, n
	}
	return -1, 0
}

// modelReadLine returns what ReadLine should do on s.
func modelReadLine(s []byte, style EOLStyle, maxLine int) (line []byte, consumed int, err error) {
	i, n := modelLine(s, style)
	switch {
	case i >= 0 && i <= maxLine:
		return s[:i], i + n, nil
	case i > maxLine || len(s) >= maxLine+2:
		return nil, 0, ErrLineTooLong
	}
	return nil, 0, ErrNoLine
}

// fuzzState runs operations on two buffers and on their models.
type fuzzState struct {
	t        *testing.T
	b, o     Buffer // main buffer and the other one, for moves
	mb, mo   []byte // their models
	cbLen    int    // length the last callback reported
	cbCalls  int    // callback runs
	cbAdded  int    // bytes the callbacks were told were added
	cbDel    int    // and deleted
	mAdded   int    // bytes the model added to main
	mDel     int    // and deleted
	refs     int    // references added
	cleanups int    // reference cleanups run
	ptr      Ptr
	ptrSet   bool
	step     int

	// Completion I/O in flight on main (PinRead, PinWrite): the extents
	// handed out, what the write's extents held at launch, and whether a
	// Reset discarded the write's bytes.
	rvecs, wvecs [][]byte
	wcopy        []byte
	wGone        bool

	// Chain caches the buffers may use (operation 25).
	cache, cache2 ChainCache
}

func (f *fuzzState) fatalf(format string, a ...any) {
	f.t.Helper()
	f.t.Fatalf("step %d: %s\nmain:\n%sother:\n%s", f.step, fmt.Sprintf(format, a...), f.b.dump(), f.o.dump())
}

func (f *fuzzState) check() {
	f.t.Helper()
	for _, x := range []struct {
		name string
		b    *Buffer
		m    []byte
	}{{"main", &f.b, f.mb}, {"other", &f.o, f.mo}} {
		if err := x.b.validate(); err != nil {
			f.fatalf("%s invalid: %v", x.name, err)
		}
		if x.b.Len() != len(x.m) {
			f.fatalf("%s Len = %d, model %d", x.name, x.b.Len(), len(x.m))
		}
		got := make([]byte, x.b.Len())
		if n, err := x.b.CopyOut(got); n != len(got) || err != nil {
			f.fatalf("%s CopyOut = %d, %v", x.name, n, err)
		}
		if i := firstDiff(got, x.m); i >= 0 {
			f.fatalf("%s differs from the model at byte %d", x.name, i)
		}
	}
	if f.cbLen != len(f.mb) {
		f.fatalf("callbacks saw length %d, model %d", f.cbLen, len(f.mb))
	}
	for _, cc := range []*ChainCache{&f.cache, &f.cache2} {
		if err := cc.validate(&f.b, &f.o); err != nil {
			f.fatalf("chain cache: %v", err)
		}
	}
	if f.ptrSet && f.ptr.Pos <= len(f.mb) {
		got := make([]byte, len(f.mb)-f.ptr.Pos)
		n, err := f.b.CopyOutFrom(&f.ptr, got)
		if err != nil || n != len(got) || !bytes.Equal(got, f.mb[f.ptr.Pos:]) {
			f.fatalf("CopyOutFrom(ptr %d) = %d bytes, %v; differs at %d", f.ptr.Pos, n, err, firstDiff(got[:n], f.mb[f.ptr.Pos:]))
		}
	}
}

func (f *fuzzState) payload(n int, seed byte) []byte {
	p := make([]byte, n)
	alphabet := []byte("ab\r\n\x00xyz")
	for i := range p {
		p[i] = alphabet[(int(seed)+i*7+i/3)%len(alphabet)]
	}
	return p
}

func runOps(t *testing.T, data []byte) {
	f := &fuzzState{t: t}
	f.b.AddCallback(func(b *Buffer, info CallbackInfo) {
		f.cbCalls++
		f.cbAdded += info.Added
		f.cbDel += info.Deleted
		if info.OrigSize != f.cbLen {
			f.fatalf("callback OrigSize %d, last seen %d", info.OrigSize, f.cbLen)
		}
		if info.Added < 0 || info.Deleted < 0 || info.OrigSize+info.Added-info.Deleted != b.Len() {
			f.fatalf("callback info %+v, Len %d", info, b.Len())
		}
		f.cbLen = b.Len()
	})
	cleanup := func([]byte) { f.cleanups++ }
	next := func() int {
		if len(data) == 0 {
			return 0
		}
		x := int(data[0])
		data = data[1:]
		return x
	}
	size := func() int {
		// Mostly small, sometimes around chain sizes.
		x := next()
		switch x % 4 {
		case 0, 1:
			return x % 40
		case 2:
			return 1000 + x*13
		}
		return x * 37
	}
	for len(data) > 0 && f.step < 500 {
		f.step++
		before, calls := len(f.mb), f.cbCalls
		op := next() % 32
		if f.pinSkips(op) {
			f.check()
			continue
		}
		switch op {
		case 0: // Add
			p := f.payload(size(), byte(next()))
			if err := f.b.Add(p); err != nil {
				f.fatalf("Add: %v", err)
			}
			f.mb = append(f.mb, p...)
		case 1: // AddString
			p := f.payload(size(), byte(next()))
			f.b.AddString(string(p))
			f.mb = append(f.mb, p...)
		case 2: // Prepend
			p := f.payload(size(), byte(next()))
			f.b.Prepend(p)
			f.mb = append(append([]byte{}, p...), f.mb...)
		case 3: // AddReference, or AddSpace (caller memory as empty space)
			n, seed := size(), byte(next())
			if seed%4 == 0 {
				// The release poisons the memory, so that a buffer still reading it
				// afterwards disagrees with the model, and must never come while a
				// read in flight uses it.
				if err := f.b.AddSpace(make([]byte, n), func(p []byte) {
					for _, v := range f.rvecs {
						if len(v) > 0 && len(p) > 0 && uintptr(unsafe.Pointer(&v[0])) >= uintptr(unsafe.Pointer(&p[0])) &&
							uintptr(unsafe.Pointer(&v[0])) < uintptr(unsafe.Pointer(&p[0]))+uintptr(len(p)) {
							f.fatalf("AddSpace memory released while a read in flight uses it")
						}
					}
					for i := range p {
						p[i] = 'Z'
					}
					f.cleanups++
				}); err != nil {
					f.fatalf("AddSpace: %v", err)
				}
				if n > 0 {
					f.refs++
				}
				break
			}
			p := f.payload(n, seed)
			f.b.AddReference(p, cleanup)
			f.refs++
			f.mb = append(f.mb, p...)
		case 4: // Drain
			n := size()
			f.b.Drain(n)
			f.mb = f.mb[min(n, len(f.mb)):]
		case 5: // Remove
			p := make([]byte, size())
			n, err := f.b.Remove(p)
			want := min(len(p), len(f.mb))
			if err != nil || n != want || !bytes.Equal(p[:n], f.mb[:n]) {
				f.fatalf("Remove = %d, %v", n, err)
			}
			f.mb = f.mb[n:]
		case 6: // Pullup
			n := size()
			p, err := f.b.Pullup(n)
			switch {
			case errors.Is(err, ErrPinned) && (f.rvecs != nil || f.wvecs != nil):
				// Refused: it would have moved memory the kernel owns.
			case n > len(f.mb):
				if !errors.Is(err, ErrShort) {
					f.fatalf("Pullup(%d) beyond length: %v", n, err)
				}
			case err != nil || !bytes.Equal(p, f.mb[:n]):
				f.fatalf("Pullup(%d) = %q, %v", n, p, err)
			}
		case 7, 8: // Reserve + Commit of a part, or ReadWith
			if op == 8 && next()%2 == 0 {
				want := size()
				use := next() % (want + 1)
				p := f.payload(use, byte(next()))
				k, err := f.b.ReadWith(want, func(q []byte) (int, error) {
					if len(q) != want && want <= maxPooledSize {
						f.fatalf("ReadWith(%d) offered %d bytes", want, len(q))
					}
					return copy(q, p), nil
				})
				if err != nil || (want > 0 && k != min(use, want)) {
					f.fatalf("ReadWith(%d) = %d, %v; want %d", want, k, err, use)
				}
				f.mb = append(f.mb, p[:k]...)
				break
			}
			nv := 1 + next()%3
			var v [3][]byte
			want := size()
			n, err := f.b.Reserve(want, v[:nv])
			if err != nil {
				f.fatalf("Reserve: %v", err)
			}
			got := 0
			for i := 0; i < n; i++ {
				got += len(v[i])
			}
			if got < want {
				f.fatalf("Reserve(%d) gave %d bytes", want, got)
			}
			use := min(want, got)
			if next()%2 == 0 {
				use = next() % (got + 1)
			}
			p := f.payload(use, byte(next()))
			rest := p
			for i := 0; i < n; i++ {
				k := copy(v[i], rest)
				v[i] = v[i][:k]
				rest = rest[k:]
			}
			if err := f.b.Commit(v[:n]); err != nil {
				f.fatalf("Commit: %v", err)
			}
			f.mb = append(f.mb, p...)
		case 9: // Expand
			f.b.Expand(size())
		case 10: // AddBuffer other -> main
			f.b.AddBuffer(&f.o)
			f.mb = append(f.mb, f.mo...)
			f.mo = nil
		case 11: // PrependBuffer other -> main
			f.b.PrependBuffer(&f.o)
			f.mb = append(append([]byte{}, f.mo...), f.mb...)
			f.mo = nil
		case 12: // RemoveBuffer main -> other
			n := size()
			got, err := f.b.RemoveBuffer(&f.o, n)
			want := min(n, len(f.mb))
			if err != nil || got != want {
				f.fatalf("RemoveBuffer(%d) = %d, %v", n, got, err)
			}
			f.mo = append(f.mo, f.mb[:got]...)
			f.mb = f.mb[got:]
		case 13: // AddBufferReference main -> other (main keeps its data)
			err := f.o.AddBufferReference(&f.b)
			if err == nil {
				f.mo = append(f.mo, f.mb...)
			} else if !errors.Is(err, ErrNestedReference) {
				f.fatalf("AddBufferReference: %v", err)
			}
		case 14: // fill other
			p := f.payload(size(), byte(next()))
			f.o.Add(p)
			f.mo = append(f.mo, p...)
		case 15, 16: // ReadLine / ReadLineSlice
			style := EOLStyle(next() % 5)
			maxLine := 1 + next()%64
			f.b.SetMaxLineLength(maxLine)
			want, consumed, wantErr := modelReadLine(f.mb, style, maxLine)
			var got []byte
			var err error
			if op == 15 {
				got, err = f.b.ReadLine(style)
			} else {
				got, err = f.b.ReadLineSlice(style)
			}
			if !errors.Is(err, wantErr) || !bytes.Equal(got, want) {
				f.fatalf("ReadLine(%v, max %d) = %q, %v; model %q, %v", style, maxLine, got, err, want, wantErr)
			}
			f.mb = f.mb[consumed:]
		case 17: // Search
			n := 1 + next()%4
			start := 0
			if len(f.mb) > 0 {
				start = next() % (len(f.mb) + 1)
			}
			var what []byte
			if len(f.mb) > 0 && next()%2 == 0 {
				at := next() % len(f.mb)
				what = append([]byte{}, f.mb[at:min(at+n, len(f.mb))]...)
			} else {
				what = f.payload(n, byte(next()))
			}
			var sp Ptr
			if err := f.b.SetPtr(&sp, start); err != nil {
				f.fatalf("SetPtr(%d): %v", start, err)
			}
			got := f.b.Search(what, &sp)
			want := bytes.Index(f.mb[start:], what)
			if want >= 0 {
				want += start
			}
			if got.Pos != want {
				f.fatalf("Search(%q from %d) = %d, want %d", what, start, got.Pos, want)
			}
		case 18: // ReadByte
			x, err := f.b.ReadByte()
			if len(f.mb) == 0 {
				if err == nil {
					f.fatalf("ReadByte of empty buffer succeeded")
				}
			} else {
				if err != nil || x != f.mb[0] {
					f.fatalf("ReadByte = %q, %v", x, err)
				}
				f.mb = f.mb[1:]
			}
		case 19: // Peek everything
			var v [8][]byte
			n := f.b.Peek(-1, nil, v[:])
			var got []byte
			for i := 0; i < min(n, len(v)); i++ {
				got = append(got, v[i]...)
			}
			if !bytes.HasPrefix(f.mb, got) || (n < len(v) && len(got) != len(f.mb)) {
				f.fatalf("Peek = %d extents, %d bytes", n, len(got))
			}
		case 20: // set a position to track
			if err := f.b.SetPtr(&f.ptr, next()%(len(f.mb)+1)); err != nil {
				f.fatalf("SetPtr: %v", err)
			}
			f.ptrSet = true
		case 21: // advance the tracked position
			if f.ptrSet && f.ptr.Pos >= 0 && f.ptr.Pos <= len(f.mb) {
				n := next() % 50
				err := f.b.AdvancePtr(&f.ptr, n)
				if (err == nil) != (f.ptr.Pos >= 0) {
					f.fatalf("AdvancePtr err %v with pos %d", err, f.ptr.Pos)
				}
				if err != nil {
					f.ptrSet = false
				}
			}
		case 22: // SearchEOL against the model
			style := EOLStyle(next() % 5)
			p, n := f.b.SearchEOL(nil, style)
			wp, wn := modelLine(f.mb, style)
			if wp < 0 {
				wn = 0
			}
			if p.Pos != wp || n != wn {
				f.fatalf("SearchEOL(%v) = %d/%d, model %d/%d", style, p.Pos, n, wp, wn)
			}
		case 24: // AddIovec
			var vecs [][]byte
			for k := next() % 4; k >= 0; k-- {
				p := f.payload(size(), byte(next()))
				vecs = append(vecs, p)
				f.mb = append(f.mb, p...)
			}
			if _, err := f.b.AddIovec(vecs); err != nil {
				f.fatalf("AddIovec: %v", err)
			}
		case 25: // memory policy: toggle FlagKeepMemory or FlagReleaseMemory, or Shrink, or a chain cache, on either buffer
			x := next()
			b := &f.b
			if x&2 != 0 {
				b = &f.o
			}
			if x&16 != 0 {
				// One cache shared by both buffers, a second one, or none.
				switch {
				case x&32 != 0:
					b.SetChainCache(nil)
				case x&64 != 0:
					b.SetChainCache(&f.cache2)
				default:
					b.SetChainCache(&f.cache)
				}
				break
			}
			flag := FlagKeepMemory
			if x&4 != 0 {
				flag = FlagReleaseMemory
			}
			switch {
			case x&8 != 0:
				b.Shrink()
			case x&1 != 0:
				b.SetFlags(flag)
			default:
				b.ClearFlags(flag)
			}
			if b.spare != nil && (b.flags&FlagReleaseMemory != 0 || len(b.spare.buf) > maxAutoSize && b.flags&FlagKeepMemory == 0) {
				f.fatalf("spare chain of %d bytes with flags %#x", len(b.spare.buf), b.flags)
			}
		case 26: // PinRead: the kernel will fill the extents at CommitRead
			nv := 1 + next()%3
			v := make([][]byte, nv)
			want := 1 + size()
			k, err := f.b.PinRead(want, v)
			if err != nil {
				f.fatalf("PinRead(%d, %d vecs): %v", want, nv, err)
			}
			got := 0
			for _, x := range v[:k] {
				got += len(x)
			}
			if got != want {
				f.fatalf("PinRead(%d) handed out %d bytes", want, got)
			}
			f.rvecs = v[:k]
		case 27: // CommitRead of part of the space: the kernel writes now
			if f.rvecs == nil {
				break
			}
			total := 0
			for _, x := range f.rvecs {
				total += len(x)
			}
			n := next() % (total + 1)
			p := f.payload(n, byte(next()))
			rest := p
			for _, x := range f.rvecs {
				rest = rest[copy(x, rest):]
			}
			if err := f.b.CommitRead(n); err != nil {
				f.fatalf("CommitRead(%d): %v", n, err)
			}
			f.rvecs = nil
			f.mb = append(f.mb, p...)
		case 28: // PinWrite: the extents must hold the front bytes
			nv := 1 + next()%4
			v := make([][]byte, nv)
			want := size()
			k, err := f.b.PinWrite(want, v)
			if err != nil {
				f.fatalf("PinWrite(%d, %d vecs): %v", want, nv, err)
			}
			var got []byte
			for _, x := range v[:k] {
				got = append(got, x...)
			}
			if len(got) > want || !bytes.HasPrefix(f.mb, got) || (k < nv && len(got) != min(want, len(f.mb))) {
				f.fatalf("PinWrite(%d) handed out %d extents, %d bytes", want, k, len(got))
			}
			if k > 0 {
				f.wvecs, f.wcopy, f.wGone = v[:k], got, false
			}
		case 29: // CommitWrite: the kernel sent part of the extents
			if f.wvecs == nil {
				break
			}
			f.checkWriteExtents()
			n := next() % (len(f.wcopy) + 1)
			if err := f.b.CommitWrite(n); err != nil {
				f.fatalf("CommitWrite(%d): %v", n, err)
			}
			if !f.wGone {
				f.mb = f.mb[n:]
			}
			f.wvecs, f.wcopy = nil, nil
		case 30: // move all of main to other, at its end or its front
			var err error
			if next()%2 == 0 {
				err = f.o.AddBuffer(&f.b)
				f.mo = append(f.mo, f.mb...)
			} else {
				err = f.o.PrependBuffer(&f.b)
				f.mo = append(append([]byte{}, f.mb...), f.mo...)
			}
			if err != nil {
				f.fatalf("moving main to other: %v", err)
			}
			f.mb = nil
		case 31: // Reset main (no callbacks; a write's bytes are gone)
			f.b.Reset()
			f.mb, before, f.cbLen = nil, 0, 0
			f.ptrSet = false
			if f.wvecs != nil {
				f.wGone = true
			}
		case 23: // Printf
			x := next()
			want := fmt.Sprintf("%d:%s", x, "v")
			n, err := f.b.Printf("%d:%s", x, "v")
			if err != nil || n != len(want) {
				f.fatalf("Printf = %d, %v", n, err)
			}
			f.mb = append(f.mb, want...)
		}
		if f.ptrSet && f.ptr.Pos > len(f.mb) {
			f.ptrSet = false
		}
		// Every operation adds or removes (never both): exactly one
		// callback run reports its change.
		switch d := len(f.mb) - before; {
		case d > 0:
			f.mAdded += d
		case d < 0:
			f.mDel -= d
		}
		if want := calls + min(1, abs(len(f.mb)-before)); f.cbCalls != want {
			f.fatalf("op %d: %d callback runs, want %d", op, f.cbCalls-calls, want-calls)
		}
		if f.cbAdded != f.mAdded || f.cbDel != f.mDel {
			f.fatalf("op %d: callbacks saw +%d -%d in all, model +%d -%d", op, f.cbAdded, f.cbDel, f.mAdded, f.mDel)
		}
		f.check()
	}
	if f.rvecs != nil {
		if err := f.b.CommitRead(0); err != nil {
			t.Fatalf("final CommitRead: %v", err)
		}
		f.rvecs = nil
	}
	if f.wvecs != nil {
		f.checkWriteExtents()
		if err := f.b.CommitWrite(0); err != nil {
			t.Fatalf("final CommitWrite: %v", err)
		}
	}
	f.b.Reset()
	f.o.Reset()
	if f.cleanups != f.refs {
		t.Fatalf("%d references added, %d cleanups ran", f.refs, f.cleanups)
	}
}

// pinSkips reports whether op cannot run on main because a read in flight
// freezes its end or a write in flight its front; it checks that the buffer
// refuses such a change with ErrFrozen.
func (f *fuzzState) pinSkips(op int) bool {
	f.t.Helper()
	rd, wr := f.b.InFlight()
	if rd != (f.rvecs != nil) || wr != (f.wvecs != nil) {
		f.fatalf("InFlight = %v, %v; model %v, %v", rd, wr, f.rvecs != nil, f.wvecs != nil)
	}
	switch op {
	case 0, 1, 3, 7, 8, 10, 23, 24: // add to main's end
		if rd {
			if err := f.b.Add([]byte("x")); !errors.Is(err, ErrFrozen) {
				f.fatalf("Add during a read in flight: %v", err)
			}
			f.b.Unfreeze(false)
			if err := f.b.AddString("x"); !errors.Is(err, ErrFrozen) {
				f.fatalf("AddString after Unfreeze during a read in flight: %v", err)
			}
			return true
		}
	case 2, 4, 5, 11, 12, 15, 16, 18, 30: // take from main's front
		if wr {
			if err := f.b.Drain(1); len(f.mb) > 0 && !errors.Is(err, ErrFrozen) {
				f.fatalf("Drain during a write in flight: %v", err)
			}
			return true
		}
	case 26:
		if rd {
			if _, err := f.b.PinRead(1, make([][]byte, 1)); !errors.Is(err, ErrInFlight) {
				f.fatalf("second PinRead: %v", err)
			}
			return true
		}
	case 28:
		if wr {
			if _, err := f.b.PinWrite(1, make([][]byte, 1)); !errors.Is(err, ErrInFlight) {
				f.fatalf("second PinWrite: %v", err)
			}
			return true
		}
	}
	return false
}

// checkWriteExtents fails if the memory of the write in flight changed
// since PinWrite (the buffer reused or moved a pinned chain).
func (f *fuzzState) checkWriteExtents() {
	f.t.Helper()
	var got []byte
	for _, x := range f.wvecs {
		got = append(got, x...)
	}
	if !bytes.Equal(got, f.wcopy) {
		f.fatalf("the extents of the write in flight changed (first difference at %d)", firstDiff(got, f.wcopy))
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// FuzzBuffer applies random operation sequences to two Buffers and to a
// []byte model of each and compares contents, lengths, positions, callback
// reports and reference cleanups after every step.
func FuzzBuffer(f *testing.F) {
	f.Add([]byte{0, 10, 1, 4, 5})
	f.Add([]byte{0, 200, 3, 3, 100, 7, 2, 8, 12, 3, 10, 15, 1, 7})
	f.Add([]byte{3, 2, 1, 2, 3, 4, 13, 0, 5, 5, 4, 12, 20, 3, 2, 1})
	f.Add([]byte{7, 0, 2, 1, 8, 1, 3, 130, 9, 11, 14, 22, 13, 12, 40, 17, 1, 2, 3})
	f.Add(bytes.Repeat([]byte{0, 255, 6, 2, 250, 12, 3, 15, 0, 0, 16, 3, 10, 11, 20, 5, 21, 7}, 8))
	// Completion I/O: reads and writes in flight among moves, drains,
	// pullups, shares and resets.
	f.Add([]byte{0, 2, 1, 26, 1, 6, 4, 9, 10, 27, 30, 5, 28, 3, 2, 14, 29, 7, 31, 26, 0, 2, 30, 1, 27, 9, 9})
	f.Add([]byte{0, 255, 6, 26, 2, 254, 12, 250, 13, 0, 28, 1, 40, 6, 10, 31, 29, 3, 27, 200, 4, 11, 30, 0})
	f.Add([]byte{14, 3, 1, 0, 199, 2, 28, 3, 199, 13, 26, 0, 3, 31, 0, 9, 3, 29, 50, 27, 17, 2, 30, 1, 6, 3})
	f.Fuzz(runOps)
}

// TestOpsRandom runs the operation fuzzer over pseudo-random inputs so the
// default test run covers it too.
func TestOpsRandom(t *testing.T) {
	n := 40
	if testing.Short() {
		n = 10
	}
	seed := uint32(1)
	for i := 0; i < n; i++ {
		data := make([]byte, 200+i%300)
		for j := range data {
			seed = seed*1664525 + 1013904223
			data[j] = byte(seed >> 24)
		}
		runOps(t, data)
	}
}

// FuzzReadLine checks ReadLine and SearchEOL against the model for any
// content split into chains at any points.
func FuzzReadLine(f *testing.F) {
	f.Add([]byte("a\r\nb\n\rc\x00d\r"), uint8(3), uint8(0), uint8(10))
	f.Add([]byte("complex silly newline\r\n\n\r\n\n\rmore\x00\n"), uint8(5), uint8(1), uint8(64))
	f.Fuzz(func(t *testing.T, data []byte, split, style, maxLine uint8) {
		var b Buffer
		for rest, k := data, 0; len(rest) > 0; k++ {
			n := min(len(rest), 1+(int(split)+k)%7)
			var tmp Buffer
			tmp.Add(rest[:n])
			b.AddBuffer(&tmp)
			rest = rest[n:]
		}
		st := EOLStyle(style % 5)
		ml := 1 + int(maxLine)
		b.SetMaxLineLength(ml)
		model := append([]byte{}, data...)
		for i := 0; i < 100; i++ {
			want, consumed, wantErr := modelReadLine(model, st, ml)
			var got []byte
			var err error
			name := "ReadLineSlice"
			if (int(split)+i)%3 == 2 {
				got, err = b.ReadLine(st)
				name = "ReadLine"
			} else {
				got, err = b.ReadLineSlice(st)
			}
			if !errors.Is(err, wantErr) || !bytes.Equal(got, want) {
				t.Fatalf("%s(%v) on %q = %q, %v; model %q, %v", name, st, model, got, err, want, wantErr)
			}
			if err != nil {
				break
			}
			model = model[consumed:]
			mustValid(t, &b)
		}
	})
}

// FuzzSearch checks Search and SearchRange against bytes.Index over any
// chain split.
func FuzzSearch(f *testing.F) {
	f.Add([]byte("hellofoocatattack"), []byte("tat"), uint8(3), uint8(0), uint8(12))
	f.Fuzz(func(t *testing.T, data, what []byte, split, start, end uint8) {
		var b Buffer
		for rest, k := data, 0; len(rest) > 0; k++ {
			n := min(len(rest), 1+(int(split)+k)%5)
			var tmp Buffer
			tmp.Add(rest[:n])
			b.AddBuffer(&tmp)
			rest = rest[n:]
		}
		s := int(start) % (len(data) + 1)
		e := int(end) % (len(data) + 1)
		var sp, ep Ptr
		noErr(t, b.SetPtr(&sp, s))
		noErr(t, b.SetPtr(&ep, e))
		want := -1
		if len(what) > 0 && s <= e {
			if i := bytes.Index(data[s:e], what); i >= 0 {
				want = s + i
			}
		}
		if got := b.SearchRange(what, &sp, &ep); got.Pos != want {
			t.Fatalf("SearchRange(%q, %d, %d) in %q = %d, want %d", what, s, e, data, got.Pos, want)
		}
		want = -1
		if len(what) > 0 {
			if i := bytes.Index(data[s:], what); i >= 0 {
				want = s + i
			}
		}
		if got := b.Search(what, &sp); got.Pos != want {
			t.Fatalf("Search(%q, %d) in %q = %d, want %d", what, s, data, got.Pos, want)
		}
	})
}
