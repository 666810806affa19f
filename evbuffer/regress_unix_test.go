//go:build unix

package evbuffer

import (
	"bytes"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// tempFile writes data to a new temporary file and returns an open
// descriptor for it (closed at cleanup unless the test hands it over).
func tempFile(t testing.TB, data []byte) int {
	t.Helper()
	name := filepath.Join(t.TempDir(), "evbuffer-test")
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	return fd
}

// Mirrors libevent test/regress_buffer.c "evbuffer/freeze_start" and
// "evbuffer/freeze_end", with the exact table of expected results.
func TestFreeze(t *testing.T) {
	const text = "I've known the wind by water banks to shake\n" +
		"The late leaves down, which frozen where they fell\n" +
		"And held in ice as dancers in a spell\n" +
		"Fluttered all winter long into a lake..."
	for _, front := range []bool{true, false} {
		name := "end"
		if front {
			name = "start"
		}
		t.Run(name, func(t *testing.T) {
			a, c := socketpair(t)
			var buf, two, tmp Buffer
			buf.AddString(text)
			two.AddString("abc")
			tmp.AddString("xyz")
			buf.Freeze(front)
			two.Freeze(front)
			if !buf.Frozen(front) || buf.Frozen(!front) {
				t.Fatal("Frozen reports the wrong end")
			}
			// want checks an error against the table: ok at the start
			// (front frozen) or at the end.
			want := func(op string, err error, okWhenFrontFrozen bool) {
				t.Helper()
				ok := okWhenFrontFrozen == front
				if ok && err != nil {
					t.Fatalf("%s: %v, want success", op, err)
				}
				if !ok && !errors.Is(err, ErrFrozen) {
					t.Fatalf("%s: %v, want ErrFrozen", op, err)
				}
				mustValid(t, &buf)
			}
			orig := buf.Len()

			// Operations on the end of buf.
			want("Add(0 bytes)", buf.Add(nil), true)
			var v [1][]byte
			n, err := buf.Reserve(10, v[:])
			want("Reserve", err, true)
			if err == nil {
				wantInt(t, "extents", n, 1)
				fill(v[0][:10], 'X')
				v[0] = v[0][:10]
			}
			want("Commit", buf.Commit(v[:]), true)
			want("AddReference", buf.AddReference([]byte(text[:5]), nil), true)
			n, err = buf.Printf("Hello %s", "world")
			want("Printf", err, true)
			if err == nil {
				wantInt(t, "Printf", n, 11)
			}
			want("AddBuffer", buf.AddBuffer(&tmp), true)
			fd := tempFile(t, []byte("file_freeze_test_file"))
			want("AddFile", buf.AddFile(fd, 0, 21), true)
			if front {
				tmp.AddString("xyz")
			}
			l := tmp.Len()
			if _, err := tmp.WriteToFD(a, -1); err != nil {
				t.Fatal(err)
			}
			n, err = buf.ReadFromFD(c, -1)
			want("ReadFromFD", err, true)
			if err == nil {
				wantInt(t, "read", n, l)
			} else {
				// Empty the socket for the next steps.
				tmp.ReadFromFD(c, -1)
				tmp.Drain(tmp.Len())
			}
			if !front {
				wantInt(t, "len", buf.Len(), orig)
			}
			orig = buf.Len()

			// Operations on the front of buf.
			var one [1]byte
			n, err = buf.Remove(one[:])
			want("Remove", err, false)
			if err == nil {
				wantInt(t, "removed", n, 1)
			}
			want("Drain", buf.Drain(3), false)
			want("Prepend", buf.Prepend([]byte("dummy")), false)
			_, err = buf.ReadLine(EOLLF)
			want("ReadLine", err, false)
			tmp.AddString("xyz")
			n, err = buf.RemoveBuffer(&tmp, 3)
			want("RemoveBuffer", err, false)
			if err == nil {
				wantInt(t, "moved", n, 3)
			}
			want("Drain", buf.Drain(3), false)
			want("PrependBuffer", buf.PrependBuffer(&tmp), false)
			l = buf.Len()
			n, err = buf.WriteToFD(a, -1)
			tmp.ReadFromFD(c, -1)
			want("WriteToFD", err, false)
			if err == nil {
				wantInt(t, "written", n, l)
			}
			l = two.Len()
			n, err = two.WriteToFD(a, -1)
			tmp.ReadFromFD(c, -1)
			if front != errors.Is(err, ErrFrozen) || (err == nil && n != l) {
				t.Fatalf("WriteToFD(two) = %d, %v", n, err)
			}
			if front {
				wantInt(t, "len", buf.Len(), orig)
			}
			buf.Reset()
		})
	}
}

// Mirrors libevent test/regress_buffer.c "evbuffer/add_file_leak1".
func TestAddFileLeak1(t *testing.T) {
	fd := tempFile(t, nil)
	unix.Close(fd)
	var b Buffer
	if err := b.AddFile(fd, 0, 0); !errors.Is(err, syscall.EBADF) {
		t.Fatalf("AddFile(closed fd) = %v, want EBADF", err)
	}
	mustValid(t, &b)
	wantInt(t, "len", b.Len(), 0)
}

// Mirrors libevent test/regress_buffer.c "evbuffer/add_file_*" (sendfile,
// linear, nosegment), "evbuffer/add_big_file_*", "evbuffer/add_file_offset_*",
// "evbuffer/add_file_offset2_*" and "evbuffer/add_file_offset3_*": a file
// range goes through a socketpair with WriteToFD and ReadFromFD(…, 1024).
// libevent's mmap variants have no counterpart: this package never maps files.
func TestAddFile(t *testing.T) {
	small := []byte("here is a relatively small string.")
	big := make([]byte, 512<<10)
	rand.New(rand.NewSource(123456789)).Read(big)
	type tc struct {
		name                   string
		impl                   string // sendfile, linear, nosegment
		data                   []byte
		mapOffset, offsetInSeg bool
		wantSendfile           bool
	}
	var cases []tc
	for _, impl := range []string{"sendfile", "linear", "nosegment"} {
		for _, bigFile := range []bool{false, true} {
			for _, mo := range []bool{false, true} {
				for _, ois := range []bool{false, true} {
					if impl == "nosegment" && ois {
						continue // add_file cannot view from an offset
					}
					if !bigFile && (mo || ois) {
						continue
					}
					data := small
					name := impl
					if bigFile {
						data = big
						name += "/big"
					}
					if mo {
						name += "/map_offset"
					}
					if ois {
						name += "/offset_in_segment"
					}
					cases = append(cases, tc{name: name, impl: impl, data: data, mapOffset: mo, offsetInSeg: ois,
						wantSendfile: impl != "linear"})
				}
			}
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fd := tempFile(t, c.data)
			start, mapLen := int64(0), int64(-1)
			expect := c.data
			if c.mapOffset {
				start = int64(len(c.data)/4 + 1)
				mapLen = int64(len(c.data)/2 - 1)
				expect = c.data[start : start+mapLen]
			}
			segOff, segLen := int64(0), int64(-1)
			if c.offsetInSeg {
				segOff = int64(len(expect) / 3)
				segLen = int64(len(expect) / 2)
				expect = expect[segOff : segOff+segLen]
			}
			var src, dst Buffer
			src.SetFlags(FlagDrainsToFD)
			if c.impl == "nosegment" {
				noErr(t, src.AddFile(fd, start, mapLen))
			} else {
				var flags SegmentFlags = SegmentCloseOnFree
				if c.impl == "linear" {
					flags |= SegmentDisableSendfile
				}
				seg, err := NewFileSegment(fd, start, mapLen, flags)
				noErr(t, err)
				noErr(t, src.AddFileSegment(seg, segOff, segLen))
				seg.Release()
			}
			mustValid(t, &src)
			if got := src.first.flags&flagSendfile != 0; got != c.wantSendfile {
				t.Fatalf("sendfile chain = %v, want %v", got, c.wantSendfile)
			}
			a, b := socketpair(t)
			written, read := 0, 0
			for src.Len() > 0 || read < written {
				if src.Len() > 0 {
					n, err := src.WriteToFD(a, -1)
					if err != nil && !errors.Is(err, syscall.EAGAIN) {
						t.Fatal(err)
					}
					written += n
					mustValid(t, &src)
				}
				for {
					n, err := dst.ReadFromFD(b, 1024)
					if errors.Is(err, syscall.EAGAIN) {
						break
					}
					noErr(t, err)
					if n > 1024 {
						t.Fatalf("read %d > 1024", n)
					}
					read += n
				}
			}
			mustValid(t, &dst)
			wantInt(t, "written", written, len(expect))
			wantInt(t, "read", read, len(expect))
			p, err := dst.Pullup(len(expect))
			noErr(t, err)
			if !bytes.Equal(p, expect) {
				t.Fatal("data from the file differs")
			}
			// The descriptor was closed when the bytes left the buffer.
			if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); !errors.Is(err, syscall.EBADF) {
				t.Fatalf("fd still open after the segment was used up: %v", err)
			}
		})
	}
}

// Mirrors libevent test/regress_buffer.c "evbuffer/file_segment_add_cleanup_cb".
func TestFileSegmentAddCleanup(t *testing.T) {
	fd := tempFile(t, []byte("file_segment_test_file"))
	defer unix.Close(fd)
	var b Buffer
	seg, err := NewFileSegment(fd, 0, -1, 0)
	noErr(t, err)
	wantInt(t, "len", int(seg.Len()), 22)
	calls := 0
	seg.SetCleanup(func(s *FileSegment) {
		calls++
		if s != seg {
			t.Error("cleanup got another segment")
		}
	})
	noErr(t, b.AddFileSegment(seg, 0, -1))
	mustValid(t, &b)
	wantInt(t, "calls", calls, 0)
	seg.Release()
	wantInt(t, "calls", calls, 0)
	b.Reset()
	wantInt(t, "calls", calls, 1)
	// The segment did not own the descriptor.
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
		t.Fatalf("fd closed: %v", err)
	}
}

// File segments in a buffer without FlagDrainsToFD are read into memory and
// behave like any data; sendfile chains refuse to be read into memory.
func TestFileSegmentInMemory(t *testing.T) {
	data := []byte("line one\nline two\n")
	fd := tempFile(t, data)
	defer unix.Close(fd)
	seg, err := NewFileSegment(fd, 0, -1, 0)
	noErr(t, err)
	defer seg.Release()

	var mem Buffer
	noErr(t, mem.AddFileSegment(seg, 5, -1))
	line, err := mem.ReadLine(EOLLF)
	noErr(t, err)
	wantStr(t, "line", string(line), "one")
	wantStr(t, "rest", pull(t, &mem, -1), "line two\n")
	if err := mem.AddFileSegment(seg, 0, int64(len(data)+1)); !errors.Is(err, ErrShort) {
		t.Fatalf("range beyond segment = %v", err)
	}
	if err := mem.AddFileSegment(seg, -1, 1); !errors.Is(err, ErrNegative) {
		t.Fatalf("negative offset = %v", err)
	}
	mustValid(t, &mem)

	var sf, other Buffer
	sf.SetFlags(FlagDrainsToFD)
	noErr(t, sf.AddFileSegment(seg, 0, -1))
	sf.AddString("tail")
	var p [4]byte
	if _, err := sf.Remove(p[:]); !errors.Is(err, ErrNotInMemory) {
		t.Fatalf("Remove over sendfile chain = %v", err)
	}
	if _, err := sf.Pullup(-1); !errors.Is(err, ErrNotInMemory) {
		t.Fatalf("Pullup over sendfile chain = %v", err)
	}
	if _, err := sf.ReadLine(EOLLF); !errors.Is(err, ErrNoLine) {
		t.Fatalf("ReadLine over sendfile chain = %v", err)
	}
	for st := EOLAny; st <= EOLNUL; st++ {
		if _, err := sf.ReadLineSlice(st); !errors.Is(err, ErrNoLine) {
			t.Fatalf("ReadLineSlice(%v) over sendfile chain = %v", st, err)
		}
	}
	if err := other.AddBufferReference(&sf); !errors.Is(err, ErrNestedReference) {
		t.Fatalf("AddBufferReference of file chains = %v", err)
	}
	// Splitting a sendfile chain between buffers moves file ranges.
	other.SetFlags(FlagDrainsToFD)
	n, err := sf.RemoveBuffer(&other, 5)
	noErr(t, err)
	wantInt(t, "moved", n, 5)
	mustValid(t, &sf)
	mustValid(t, &other)
	a, c := socketpair(t)
	var got Buffer
	for _, b := range []*Buffer{&other, &sf} {
		for b.Len() > 0 {
			if _, err := b.WriteToFD(a, -1); err != nil {
				t.Fatal(err)
			}
		}
	}
	for got.Len() < len(data)+4 {
		if _, err := got.ReadFromFD(c, -1); err != nil {
			t.Fatal(err)
		}
	}
	wantStr(t, "sent", pull(t, &got, -1), string(data)+"tail")
}

// Releasing a segment twice must not drop a buffer's reference.
func TestFileSegmentDoubleRelease(t *testing.T) {
	fd := tempFile(t, []byte("segment bytes"))
	seg, err := NewFileSegment(fd, 0, -1, SegmentCloseOnFree)
	noErr(t, err)
	var b Buffer
	noErr(t, b.AddFileSegment(seg, 0, -1))
	seg.Release()
	seg.Release()
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
		t.Fatalf("fd closed while the buffer holds the segment: %v", err)
	}
	wantStr(t, "contents", pull(t, &b, -1), "segment bytes")
	b.Reset()
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); !errors.Is(err, syscall.EBADF) {
		t.Fatalf("fd still open after the last reference: %v", err)
	}
	if err := b.AddFileSegment(seg, 0, -1); !errors.Is(err, ErrClosedSegment) {
		t.Fatalf("AddFileSegment of a finished segment = %v", err)
	}
}
