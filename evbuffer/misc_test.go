package evbuffer

import (
	"bytes"
	"errors"
	"io"
	"math"
	"net"
	"strings"
	"testing"
	"testing/iotest"
)

// Bad input through the API gets a clear error and leaves the buffer valid
// and unchanged.
func TestBadInput(t *testing.T) {
	var b, o Buffer
	b.AddString("hello world\n")
	o.AddString("other")
	var v [2][]byte
	var p Ptr
	tests := []struct {
		name string
		op   func() error
		want error
	}{
		{"Drain(-1)", func() error { return b.Drain(-1) }, ErrNegative},
		{"RemoveBuffer(-1)", func() error { _, err := b.RemoveBuffer(&o, -1); return err }, ErrNegative},
		{"Reserve(-1)", func() error { _, err := b.Reserve(-1, v[:]); return err }, ErrNegative},
		{"Reserve(no vecs)", func() error { _, err := b.Reserve(10, nil); return err }, ErrNoVecs},
		{"Reserve(huge)", func() error { _, err := b.Reserve(math.MaxInt, v[:1]); return err }, ErrTooLarge},
		{"Reserve(huge, 2)", func() error { _, err := b.Reserve(math.MaxInt, v[:]); return err }, ErrTooLarge},
		{"Expand(huge)", func() error { return b.Expand(MaxChainSize + 1) }, ErrTooLarge},
		{"Expand(-5)", func() error { return b.Expand(-5) }, ErrNegative},
		{"Pullup(beyond)", func() error { _, err := b.Pullup(1000); return err }, ErrShort},
		{"Commit(foreign)", func() error { return b.Commit([][]byte{make([]byte, 4)}) }, ErrCommit},
		{"Commit(shifted)", func() error {
			if _, err := b.Reserve(8, v[:1]); err != nil {
				return err
			}
			return b.Commit([][]byte{v[0][1:4]})
		}, ErrCommit},
		{"SetPtr(-1)", func() error { return b.SetPtr(&p, -1) }, ErrInvalidPtr},
		{"SetPtr(beyond)", func() error { return b.SetPtr(&p, 1000) }, ErrInvalidPtr},
		{"AdvancePtr(-1)", func() error { b.SetPtr(&p, 0); return b.AdvancePtr(&p, -1) }, ErrInvalidPtr},
		{"CopyOutFrom(bad ptr)", func() error { _, err := b.CopyOutFrom(&Ptr{Pos: 99}, make([]byte, 1)); return err }, ErrInvalidPtr},
		{"ReadLine(bad style)", func() error { _, err := b.ReadLine(EOLStyle(9)); return err }, ErrBadStyle},
		{"SetMaxLineLength(0)", func() error { return b.SetMaxLineLength(0) }, ErrNegative},
		{"SetMaxRead(0)", func() error { return b.SetMaxRead(0) }, ErrNegative},
		{"SetMaxRead(huge)", func() error { return b.SetMaxRead(math.MaxInt) }, ErrTooLarge},
		{"AddBufferReference(self)", func() error { return b.AddBufferReference(&b) }, ErrSameBuffer},
		{"RemoveCallback(foreign)", func() error { return b.RemoveCallback(o.AddCallback(nil)) }, ErrNoCallback},
		{"ReadFromFD(-1)", func() error { _, err := b.ReadFromFD(-1, 10); return err }, nil},
		{"AddBuffer(nil)", func() error { return b.AddBuffer(nil) }, ErrNil},
		{"PrependBuffer(nil)", func() error { return b.PrependBuffer(nil) }, ErrNil},
		{"RemoveBuffer(nil)", func() error { _, err := b.RemoveBuffer(nil, 1); return err }, ErrNil},
		{"AddBufferReference(nil)", func() error { return b.AddBufferReference(nil) }, ErrNil},
		{"AddFileSegment(nil)", func() error { return b.AddFileSegment(nil, 0, -1) }, ErrNil},
		{"SetPtr(nil)", func() error { return b.SetPtr(nil, 0) }, ErrNil},
		{"AdvancePtr(nil)", func() error { return b.AdvancePtr(nil, 0) }, ErrNil},
		{"RemoveCallback(nil)", func() error { return b.RemoveCallback(nil) }, ErrNoCallback},
		{"WriteToFD(-1)", func() error { _, err := b.WriteToFD(-1, 10); return err }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.op()
			if err == nil {
				t.Fatal("no error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "evbuffer: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			mustValid(t, &b)
			wantStr(t, "contents", contents(t, &b), "hello world\n")
			wantStr(t, "other", contents(t, &o), "other")
		})
	}
}

// A line longer than the limit is an error, not unbounded scanning or
// memory; nothing is consumed.
func TestLineTooLong(t *testing.T) {
	var b Buffer
	noErr(t, b.SetMaxLineLength(8))
	b.AddString("0123456789") // no end of line yet, already too long
	if _, err := b.ReadLine(EOLLF); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("err = %v", err)
	}
	b.Drain(b.Len())
	b.AddString("01234567\r\n")
	line, err := b.ReadLine(EOLCRLFStrict)
	noErr(t, err)
	wantStr(t, "line", string(line), "01234567")
	b.AddString("012345678\n")
	if _, err := b.ReadLineSlice(EOLLF); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("err = %v", err)
	}
	wantInt(t, "len", b.Len(), 10)
	b.AddString("0123456") // short and incomplete: just not there yet
	b.Drain(10)
	if _, err := b.ReadLine(EOLLF); !errors.Is(err, ErrNoLine) {
		t.Fatalf("err = %v", err)
	}
	wantInt(t, "default", new(Buffer).MaxLineLength(), DefaultMaxLineLength)
}

// ReadLineSlice returns a slice that stays intact until the next
// modification even when its chain was freed by the read.
func TestReadLineSliceValidity(t *testing.T) {
	var b, other Buffer
	b.AddString("first line\n")
	line, err := b.ReadLineSlice(EOLLF)
	noErr(t, err)
	// Other buffers allocating from the pools must not reuse the chain.
	for i := 0; i < 100; i++ {
		other.Add(bytes.Repeat([]byte("z"), 1000))
	}
	wantStr(t, "line", string(line), "first line")
	mustValid(t, &b)
	// Lines across chains come from the scratch slice.
	var tmp Buffer
	tmp.AddString("spl")
	b.AddBuffer(&tmp)
	tmp.AddString("it\nrest")
	b.AddBuffer(&tmp)
	line, err = b.ReadLineSlice(EOLLF)
	noErr(t, err)
	wantStr(t, "line", string(line), "split")
	wantStr(t, "rest", contents(t, &b), "rest")
	other.Reset()
}

// Lines that start in one chain and end in the next, for every style and
// the awkward splits (CR at the end of the first chain, LF first in the
// second, the line ending with the second chain, a reference chain first,
// a too-long line), read with ReadLineSlice and ReadLine: the results match
// the model, the buffer stays valid, the rest is intact, and a spanning
// ReadLineSlice result stays valid while other buffers allocate.
func TestReadLineAcrossChains(t *testing.T) {
	cases := []struct {
		name        string
		first, next string
		ref         bool // first chain is an AddReference chain
	}{
		{"LF", "GET /a", "b HTTP/1.1\nnext", false},
		{"CR at chain end", "line\r", "\nnext", false},
		{"LF first in next", "line", "\nnext", false},
		{"CRLF in next", "li", "ne\r\nnext", false},
		{"NUL", "ab\x00", "cd\x00ef", false},
		{"ends with next chain", "ab", "c\n", false},
		{"run of CR LF", "a\r", "\r\n\nb", false},
		{"reference first", "refer", "ence\nnext", true},
		{"no end", "abc", "def", false},
	}
	for _, tc := range cases {
		for st := EOLAny; st <= EOLNUL; st++ {
			for _, copying := range []bool{false, true} {
				var b, other Buffer
				if tc.ref {
					b.AddReference([]byte(tc.first), nil)
				} else {
					var tmp Buffer
					tmp.AddString(tc.first)
					b.AddBuffer(&tmp)
				}
				var tmp Buffer
				tmp.AddString(tc.next)
				b.AddBuffer(&tmp)
				if b.chains() != 2 {
					t.Fatalf("%s: setup made %d chains", tc.name, b.chains())
				}
				all := tc.first + tc.next
				want, consumed, wantErr := modelReadLine([]byte(all), st, b.MaxLineLength())
				var got []byte
				var err error
				if copying {
					got, err = b.ReadLine(st)
				} else {
					got, err = b.ReadLineSlice(st)
				}
				if !errors.Is(err, wantErr) || string(got) != string(want) {
					t.Fatalf("%s %v copying=%v: got %q, %v; want %q, %v", tc.name, st, copying, got, err, want, wantErr)
				}
				mustValid(t, &b)
				wantStr(t, tc.name+" rest", contents(t, &b), all[consumed:])
				for i := 0; i < 50; i++ {
					other.Add(bytes.Repeat([]byte("z"), 1000))
				}
				if string(got) != string(want) {
					t.Fatalf("%s %v: line changed to %q while other buffers allocated", tc.name, st, got)
				}
				other.Reset()
				b.Reset()
			}
		}
	}
	// Too long across chains: an error, nothing consumed.
	var b, tmp Buffer
	noErr(t, b.SetMaxLineLength(5))
	tmp.AddString("abcd")
	b.AddBuffer(&tmp)
	tmp.AddString("efgh\nrest")
	b.AddBuffer(&tmp)
	if _, err := b.ReadLineSlice(EOLLF); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("long spanning line: %v", err)
	}
	wantStr(t, "untouched", contents(t, &b), "abcdefgh\nrest")
	mustValid(t, &b)
}

// Callbacks may remove themselves or others and add callbacks while running.
func TestCallbackRemovalInside(t *testing.T) {
	var b Buffer
	var log []string
	var c1, c2, c3 *Callback
	c1 = b.AddCallback(func(b *Buffer, _ CallbackInfo) {
		log = append(log, "c1")
		b.RemoveCallback(c1)
	})
	c2 = b.AddCallback(func(b *Buffer, _ CallbackInfo) {
		log = append(log, "c2")
		if c3.Enabled() {
			b.RemoveCallback(c3) // already ran this time: newest first
			b.AddCallback(func(*Buffer, CallbackInfo) { log = append(log, "new") })
		}
	})
	c3 = b.AddCallback(func(b *Buffer, _ CallbackInfo) { log = append(log, "c3") })
	b.AddString("x")
	wantStr(t, "first run", strings.Join(log, ","), "c3,c2,c1")
	log = nil
	b.AddString("y")
	wantStr(t, "second run", strings.Join(log, ","), "new,c2")
	if c1.Enabled() || c3.Enabled() || !c2.Enabled() {
		t.Fatal("Enabled wrong after removal")
	}
	wantInt(t, "callbacks", len(b.ext.cbs), 2)
}

// A callback that modifies the buffer runs the callbacks again with the
// new change.
func TestCallbackRecursion(t *testing.T) {
	var b Buffer
	var infos []CallbackInfo
	b.AddCallback(func(b *Buffer, info CallbackInfo) {
		infos = append(infos, info)
		if b.Len() > 3 {
			b.Drain(2)
		}
	})
	b.AddString("abcde")
	want := []CallbackInfo{{0, 5, 0}, {5, 0, 2}, {3, 0, 0}}
	if len(infos) != 2 || infos[0] != want[0] || infos[1] != want[1] {
		t.Fatalf("infos = %+v", infos)
	}
}

type queueDeferrer struct{ q []func() }

func (d *queueDeferrer) Defer(fn func()) { d.q = append(d.q, fn) }

func (d *queueDeferrer) run() {
	for len(d.q) > 0 {
		fn := d.q[0]
		d.q = d.q[1:]
		fn()
	}
}

// Deferred callbacks coalesce: one pending run per buffer, reporting every
// change since the last run; no allocation per schedule.
func TestDeferredCallbacks(t *testing.T) {
	var b Buffer
	var d queueDeferrer
	b.DeferCallbacks(&d)
	var infos []CallbackInfo
	b.AddCallback(func(_ *Buffer, info CallbackInfo) { infos = append(infos, info) })
	b.AddString("hello")
	b.AddString(" world")
	b.Drain(3)
	wantInt(t, "scheduled", len(d.q), 1)
	wantInt(t, "ran", len(infos), 0)
	d.run()
	if len(infos) != 1 || infos[0] != (CallbackInfo{OrigSize: 0, Added: 11, Deleted: 3}) {
		t.Fatalf("infos = %+v", infos)
	}
	b.AddString("!")
	d.run()
	if len(infos) != 2 || infos[1] != (CallbackInfo{OrigSize: 8, Added: 1}) {
		t.Fatalf("infos = %+v", infos)
	}
	allocs := testing.AllocsPerRun(100, func() {
		b.AddString("x")
		b.Drain(1)
		d.q = d.q[:0] // drop without running: schedules must not allocate
		b.ext.deferPending = false
	})
	if allocs != 0 {
		t.Fatalf("deferred schedule allocates %v per run", allocs)
	}
	// Back to inline.
	b.DeferCallbacks(nil)
	n := len(infos)
	b.AddString("y")
	wantInt(t, "inline", len(infos), n+1)
}

// The io interfaces, exercised with the testing/iotest readers.
func TestIOInterfaces(t *testing.T) {
	data := strings.Repeat("The quick brown fox jumps over the lazy dog.\n", 500)
	readers := map[string]func(io.Reader) io.Reader{
		"plain":    func(r io.Reader) io.Reader { return r },
		"onebyte":  iotest.OneByteReader,
		"half":     iotest.HalfReader,
		"dataerr":  iotest.DataErrReader,
		"timeout":  iotest.TimeoutReader,
		"truncate": func(r io.Reader) io.Reader { return io.LimitReader(r, 1000) },
	}
	for name, wrap := range readers {
		t.Run(name, func(t *testing.T) {
			var b Buffer
			n, err := b.ReadFrom(wrap(strings.NewReader(data)))
			want := data
			switch name {
			case "timeout":
				if !errors.Is(err, iotest.ErrTimeout) {
					t.Fatalf("ReadFrom err = %v", err)
				}
				want = data[:n]
			case "truncate":
				want = data[:1000]
				noErr(t, err)
			default:
				noErr(t, err)
			}
			wantInt(t, "ReadFrom", int(n), len(want))
			mustValid(t, &b)
			if err := iotest.TestReader(&b, []byte(want)); err != nil {
				t.Fatal(err)
			}
		})
	}
	var b Buffer
	b.WriteString(data)
	b.Write([]byte("tail"))
	var sb strings.Builder
	n, err := b.WriteTo(&sb)
	noErr(t, err)
	wantInt(t, "WriteTo", int(n), len(data)+4)
	wantStr(t, "WriteTo", sb.String(), data+"tail")
	if x, err := b.ReadByte(); err != io.EOF {
		t.Fatalf("ReadByte on empty = %q, %v", x, err)
	}
	if n, err := b.Read(make([]byte, 4)); n != 0 || err != io.EOF {
		t.Fatalf("Read on empty = %d, %v", n, err)
	}
	// A short writer stops WriteTo with io.ErrShortWrite and keeps the rest.
	b.WriteString("abcdef")
	n, err = b.WriteTo(shortWriter{})
	if !errors.Is(err, io.ErrShortWrite) || n != 1 {
		t.Fatalf("WriteTo(short) = %d, %v", n, err)
	}
	wantStr(t, "rest", contents(t, &b), "bcdef")
	// Frozen ends refuse.
	b.Freeze(false)
	if _, err := b.Write([]byte("x")); !errors.Is(err, ErrFrozen) {
		t.Fatalf("Write frozen = %v", err)
	}
	if _, err := b.ReadFrom(strings.NewReader("x")); !errors.Is(err, ErrFrozen) {
		t.Fatalf("ReadFrom frozen = %v", err)
	}
	b.Unfreeze(false)
	b.Freeze(true)
	if _, err := b.ReadByte(); !errors.Is(err, ErrFrozen) {
		t.Fatalf("ReadByte frozen = %v", err)
	}
	if _, err := b.WriteTo(io.Discard); !errors.Is(err, ErrFrozen) {
		t.Fatalf("WriteTo frozen = %v", err)
	}
	// Observing a front-frozen buffer is allowed (a documented difference).
	if n, err := b.CopyOut(make([]byte, 2)); n != 2 || err != nil {
		t.Fatalf("CopyOut frozen = %d, %v", n, err)
	}
}

type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return min(1, len(p)), nil }

// Pool recycling must never hand out memory still shared with another
// buffer (multicast) or still referenced.
func TestSharedMemoryNotRecycled(t *testing.T) {
	var a, b Buffer
	a.AddString(strings.Repeat("s", 500))
	noErr(t, b.AddBufferReference(&a))
	a.Reset() // a's chain stays alive for b
	var junk []*Buffer
	for i := 0; i < 200; i++ {
		var x Buffer
		x.AddString(strings.Repeat("j", 500))
		junk = append(junk, &x)
	}
	wantStr(t, "shared", contents(t, &b), strings.Repeat("s", 500))
	for _, x := range junk {
		x.Reset()
	}
}

// Reserve with one extent may hand out a spare chain that is neither the
// first chain with space nor the last chain; Commit accepts it (libevent
// would refuse the commit in this layout).
func TestCommitIntoMiddleSpare(t *testing.T) {
	var b Buffer
	b.Add(bytes.Repeat([]byte("a"), 4000))
	var v [3][]byte
	_, err := b.Reserve(3000, v[:])
	noErr(t, err)
	_, err = b.Reserve(b.tailSpace(3)+100, v[:])
	noErr(t, err)
	wantInt(t, "chains", b.chains(), 3)
	n, err := b.Reserve(2000, v[:1])
	noErr(t, err)
	wantInt(t, "extents", n, 1)
	if &v[0][0] != &b.first.next.buf[0] {
		t.Fatalf("expected the middle spare chain:\n%s", b.dump())
	}
	copy(v[0], "bbbbbbbbbb")
	v[0] = v[0][:10]
	noErr(t, b.Commit(v[:1]))
	mustValid(t, &b)
	wantStr(t, "tail", contents(t, &b)[3995:], "aaaaabbbbbbbbbb")
	b.AddString("c")
	wantStr(t, "tail", contents(t, &b)[4005:], "bbbbbc")
	mustValid(t, &b)
}

// A Ptr stays correct across changes to its buffer and when its Pos is set
// by hand.
func TestPtrRevalidation(t *testing.T) {
	var b, tmp Buffer
	for _, s := range []string{"0123", "4567", "89ab"} {
		tmp.AddString(s)
		b.AddBuffer(&tmp)
	}
	var p Ptr
	noErr(t, b.SetPtr(&p, 6))
	at := func() string {
		t.Helper()
		var x [1]byte
		n, err := b.CopyOutFrom(&p, x[:])
		if err != nil || n != 1 {
			t.Fatalf("CopyOutFrom(%d) = %d, %v", p.Pos, n, err)
		}
		return string(x[:])
	}
	wantStr(t, "at 6", at(), "6")
	b.AddString("cdef") // appends keep it
	wantStr(t, "after add", at(), "6")
	b.Drain(5) // drain re-resolves: offset 6 now holds 'b'
	wantStr(t, "after drain", at(), "b")
	b.Prepend([]byte("xy"))
	wantStr(t, "after prepend", at(), "9")
	p.Pos = 0
	wantStr(t, "hand-set", at(), "x")
	b.Pullup(-1)
	p.Pos = 3
	wantStr(t, "after pullup", at(), "6")
}

// WriteTo a TCP connection sends many chains with one writev and allocates
// nothing per call.
func TestWriteToConn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		p, _ := io.ReadAll(c)
		got <- p
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	var b, tmp Buffer
	var want []byte
	for i := 0; i < 300; i++ {
		s := strings.Repeat(string(rune('a'+i%26)), 1+i%50)
		tmp.AddString(s)
		b.AddBuffer(&tmp)
		want = append(want, s...)
	}
	n, err := b.WriteTo(c)
	if err != nil || int(n) != len(want) {
		t.Fatalf("WriteTo = %d, %v", n, err)
	}
	mustValid(t, &b)
	allocs := testing.AllocsPerRun(20, func() {
		tmp.AddString("abc")
		b.AddBuffer(&tmp)
		tmp.AddString("def")
		b.AddBuffer(&tmp)
		if _, err := b.WriteTo(c); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("WriteTo allocates %v per call", allocs)
	}
	c.Close()
	p := <-got
	if !bytes.HasPrefix(p, want) || len(p) != len(want)+21*6 {
		t.Fatalf("received %d bytes, want %d", len(p), len(want)+21*6)
	}
}

// Buffers on different goroutines may share memory through
// AddBufferReference: each drains and resets its own buffer while the other
// reads the shared bytes. Run with -race.
func TestMulticastConcurrentSafe(t *testing.T) {
	for round := 0; round < 50; round++ {
		var src Buffer
		var refs [4]Buffer
		for i := 0; i < 8; i++ {
			src.AddString(strings.Repeat(string(rune('a'+i)), 700))
		}
		want := contents(t, &src)
		cleanups := 0
		src.AddReference([]byte("tail"), func([]byte) { cleanups++ })
		want += "tail"
		for i := range refs {
			noErr(t, refs[i].AddBufferReference(&src))
		}
		done := make(chan string, len(refs))
		for i := range refs {
			go func(b *Buffer) {
				got := make([]byte, b.Len())
				n, _ := b.Remove(got)
				b.Reset()
				done <- string(got[:n])
			}(&refs[i])
		}
		src.Drain(1000)
		src.Reset()
		for range refs {
			if got := <-done; got != want {
				t.Fatalf("round %d: a reader saw different bytes", round)
			}
		}
		if cleanups != 1 {
			t.Fatalf("round %d: %d cleanups", round, cleanups)
		}
	}
}

// AddIovec copies into one chain even when the last chain has a little room.
func TestAddIovecLayout(t *testing.T) {
	var b Buffer
	b.Add(bytes.Repeat([]byte("a"), 1000)) // 24 bytes left in the first chain
	vecs := [][]byte{bytes.Repeat([]byte("b"), 30), bytes.Repeat([]byte("c"), 40), nil, []byte("d")}
	n, err := b.AddIovec(vecs)
	noErr(t, err)
	wantInt(t, "added", n, 71)
	mustValid(t, &b)
	wantStr(t, "contents", contents(t, &b)[995:], "aaaaa"+strings.Repeat("b", 30)+strings.Repeat("c", 40)+"d")
	if b.chains() > 2 {
		t.Fatalf("AddIovec used %d chains:\n%s", b.chains(), b.dump())
	}
	n, err = b.AddIovec(nil)
	if n != 0 || err != nil {
		t.Fatalf("AddIovec(nil) = %d, %v", n, err)
	}
}

// heldMemory is the chain memory b holds outside its readable bytes'
// chains: the spare chain and the chain kept for a ReadLineSlice result.
func (b *Buffer) heldMemory() int {
	n := 0
	if b.spare != nil {
		n += len(b.spare.buf)
	}
	if b.retired != nil {
		n += len(b.retired.buf)
	}
	return n
}

// An emptied buffer keeps one plain chain of at most 4 KiB and reuses it;
// FlagKeepMemory raises the bound to 1 MiB, FlagReleaseMemory keeps nothing,
// Shrink and Reset give the memory back.
func TestSpareChain(t *testing.T) {
	t.Run("default keeps and reuses up to 4 KiB", func(t *testing.T) {
		var b Buffer
		b.AddString("hello")
		mem := &b.first.buf[0]
		b.Drain(5)
		if b.first != nil || b.spare == nil || &b.spare.buf[0] != mem {
			t.Fatalf("emptied chain not kept as the spare:\n%s", b.dump())
		}
		mustValid(t, &b)
		b.AddString("again")
		if b.spare != nil || &b.first.buf[0] != mem {
			t.Fatal("spare not reused by Add")
		}
		mustValid(t, &b)
		wantStr(t, "contents", contents(t, &b), "again")
		out := make([]byte, 10)
		n, err := b.Remove(out)
		noErr(t, err)
		wantStr(t, "removed", string(out[:n]), "again")
		if b.spare == nil || &b.spare.buf[0] != mem || b.Len() != 0 {
			t.Fatal("Remove of everything did not keep the chain")
		}
		mustValid(t, &b)
	})
	t.Run("bound", func(t *testing.T) {
		var b Buffer
		b.Add(make([]byte, 100))
		b.Drain(100)
		small := len(b.spare.buf)
		// A bigger chain within the bound replaces a smaller spare.
		b.Add(make([]byte, 3000))
		b.Add(make([]byte, 3000)) // links a 4 KiB chain after the spare-made one
		b.Drain(b.Len())
		if got := b.heldMemory(); got != maxAutoSize || small >= maxAutoSize {
			t.Fatalf("held %d bytes after draining 1 KiB + 4 KiB chains, want %d", got, maxAutoSize)
		}
		// Big chains go back to the pools.
		b.Shrink()
		b.Add(make([]byte, 100000))
		b.Drain(b.Len())
		if got := b.heldMemory(); got > maxAutoSize {
			t.Fatalf("idle buffer holds %d bytes, bound is %d", got, maxAutoSize)
		}
		// Whatever the sequence, an idle buffer holds at most 4 KiB.
		var v [4][]byte
		for _, n := range []int{10, 5000, 70000, 1 << 20, 3} {
			b.Add(make([]byte, n))
			b.Reserve(n, v[:])
			b.Prepend([]byte("x"))
			b.ReadLineSlice(EOLLF)
			b.Pullup(-1)
			b.Drain(b.Len())
			if got := b.heldMemory(); got > maxAutoSize || b.first != nil && b.first.next == nil && len(b.first.buf) > 2<<20 {
				t.Fatalf("after %d bytes: idle buffer holds %d bytes", n, got)
			}
		}
	})
	t.Run("only plain pooled chains", func(t *testing.T) {
		var b Buffer
		b.AddReference([]byte("ref"), nil)
		b.Drain(3)
		if b.spare != nil {
			t.Fatal("kept a reference chain")
		}
		var src Buffer
		src.AddString("shared")
		b.AddBufferReference(&src)
		b.Drain(b.Len())
		if b.spare != nil {
			t.Fatal("kept a multicast chain")
		}
		src.Reset()
	})
	t.Run("FlagKeepMemory", func(t *testing.T) {
		var b Buffer
		b.SetFlags(FlagKeepMemory)
		b.Add(make([]byte, 64<<10))
		mem := &b.first.buf[0]
		b.Drain(b.Len())
		if b.spare == nil || len(b.spare.buf) != 64<<10 {
			t.Fatalf("FlagKeepMemory did not keep the 64 KiB chain: %v", b.heldMemory())
		}
		b.Add(make([]byte, 64<<10))
		if &b.first.buf[0] != mem || b.spare != nil {
			t.Fatal("big spare not reused")
		}
		b.Drain(b.Len())
		b.ClearFlags(FlagKeepMemory)
		if b.spare != nil {
			t.Fatal("ClearFlags(FlagKeepMemory) kept a spare above 4 KiB")
		}
		b.AddString("x")
		b.Drain(1)
		b.ClearFlags(FlagKeepMemory)
		if b.spare == nil {
			t.Fatal("ClearFlags(FlagKeepMemory) dropped a spare within the default bound")
		}
	})
	t.Run("FlagReleaseMemory", func(t *testing.T) {
		var b Buffer
		b.AddString("x")
		b.Drain(1)
		b.SetFlags(FlagReleaseMemory | FlagKeepMemory)
		if b.spare != nil {
			t.Fatal("SetFlags(FlagReleaseMemory) kept the spare")
		}
		out := make([]byte, 4)
		for _, op := range []func(){
			func() { b.Drain(1) },
			func() { b.Remove(out) },
			func() { b.ReadLineSlice(EOLLF) },
			func() { b.ReadLine(EOLLF) },
		} {
			b.AddString("abc\n")
			op()
			b.Drain(b.Len())
			if b.spare != nil {
				t.Fatal("FlagReleaseMemory: kept a spare")
			}
			// A ReadLineSlice result keeps its chain until the next
			// modification.
			b.AddString("z")
			b.Drain(1)
			if b.first != nil || b.heldMemory() != 0 {
				t.Fatalf("FlagReleaseMemory: empty buffer holds memory:\n%s", b.dump())
			}
		}
	})
	t.Run("Shrink and Reset", func(t *testing.T) {
		var b Buffer
		b.AddString("line\nrest")
		line, err := b.ReadLineSlice(EOLLF)
		noErr(t, err)
		wantStr(t, "line", string(line), "line")
		b.Drain(b.Len())
		if b.heldMemory() == 0 {
			t.Fatal("nothing kept")
		}
		b.Shrink()
		if b.heldMemory() != 0 || b.first != nil {
			t.Fatal("Shrink kept memory")
		}
		b.AddString("keep me")
		b.Shrink()
		wantStr(t, "contents after Shrink", contents(t, &b), "keep me")
		mustValid(t, &b)
		b.Drain(b.Len())
		b.Reset()
		if b.heldMemory() != 0 || b.first != nil {
			t.Fatal("Reset kept memory")
		}
	})
}

// Expand promises room for the next Add: when it makes a spare chain after
// the last one with data, Add uses it instead of allocating.
func TestExpandThenAddUsesSpare(t *testing.T) {
	var b Buffer
	b.Add(bytes.Repeat([]byte("a"), 4000)) // a 4 KiB chain with 96 bytes free
	noErr(t, b.Expand(3000))
	if b.chains() != 2 {
		t.Fatalf("Expand did not link a spare chain:\n%s", b.dump())
	}
	spare := &b.last.buf[0]
	b.Add(bytes.Repeat([]byte("b"), 3000))
	if b.chains() != 2 || &b.last.buf[0] != spare {
		t.Fatalf("Add did not use the spare chain:\n%s", b.dump())
	}
	mustValid(t, &b)
	wantStr(t, "seam", contents(t, &b)[3990:4010], "aaaaaaaaaabbbbbbbbbb")
}
