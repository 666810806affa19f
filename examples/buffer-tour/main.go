package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/bufev/bufev/evbuffer"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// run prints the tour to w.
func run(w io.Writer) error {
	steps := []struct {
		title string
		fn    func(io.Writer) error
	}{
		{"chains", tourChains},
		{"zero-copy moves", tourMoves},
		{"references and shared memory", tourReferences},
		{"reading lines", tourLines},
		{"freezing", tourFreeze},
		{"callbacks", tourCallbacks},
		{"descriptors", tourFD},
	}
	for i, s := range steps {
		fmt.Fprintf(w, "== %d. %s\n", i+1, s.title)
		if err := s.fn(w); err != nil {
			return fmt.Errorf("%s: %w", s.title, err)
		}
	}
	fmt.Fprintln(w, "== tour complete")
	return nil
}

// extents describes the chains of b as the byte counts Peek reports.
func extents(b *evbuffer.Buffer) string {
	n := b.Peek(-1, nil, nil)
	vecs := make([][]byte, n)
	b.Peek(-1, nil, vecs)
	parts := make([]string, len(vecs))
	for i, v := range vecs {
		parts[i] = fmt.Sprint(len(v))
	}
	return fmt.Sprintf("%d bytes in %d chain(s) [%s]", b.Len(), n, strings.Join(parts, " "))
}

func tourChains(w io.Writer) error {
	var b evbuffer.Buffer // the zero Buffer is ready to use
	b.AddString("hello, ")
	b.AddString("world")
	fmt.Fprintf(w, "two small adds share one chain: %s\n", extents(&b))
	if err := b.Add(make([]byte, 3000)); err != nil {
		return err
	}
	fmt.Fprintf(w, "a 3000-byte add fills the chain and links a bigger one: %s\n", extents(&b))
	b.Drain(7)
	fmt.Fprintf(w, "drain 7 only moves the start of the first chain: %s\n", extents(&b))
	b.Prepend([]byte("hi, "))
	fmt.Fprintf(w, "prepend reuses that room: %s\n", extents(&b))
	p, err := b.Pullup(9)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "first 9 bytes: %q\n", p)
	return nil
}

func tourMoves(w io.Writer) error {
	var src, dst evbuffer.Buffer
	for i := 0; i < 256; i++ {
		var piece evbuffer.Buffer
		piece.Add(make([]byte, 4096))
		src.AddBuffer(&piece)
	}
	var before [1][]byte
	src.Peek(1, nil, before[:])
	fmt.Fprintf(w, "source: %d bytes in %d chains\n", src.Len(), src.Peek(-1, nil, nil))
	if err := dst.AddBuffer(&src); err != nil {
		return err
	}
	var after [1][]byte
	dst.Peek(1, nil, after[:])
	fmt.Fprintf(w, "AddBuffer moved %d bytes; source now %d; same memory, nothing copied: %v\n",
		dst.Len(), src.Len(), &before[0][0] == &after[0][0])
	n, err := dst.RemoveBuffer(&src, 10000)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "RemoveBuffer(10000) moved %d: two whole chains relinked, %d bytes copied from the third\n", n, n-2*4096)
	return nil
}

func tourReferences(w io.Writer) error {
	var b evbuffer.Buffer
	page := []byte("<html>a static page that stays in the caller's memory</html>")
	b.AddReference(page, func(p []byte) {
		fmt.Fprintf(w, "cleanup: the buffer let go of the %d referenced bytes\n", len(p))
	})
	b.Drain(6)
	fmt.Fprintf(w, "drained 6 bytes of the reference, cleanup not yet called\n")
	b.Drain(b.Len())

	var orig, copy1 evbuffer.Buffer
	orig.AddString("shared, not copied")
	if err := copy1.AddBufferReference(&orig); err != nil {
		return err
	}
	orig.Reset()
	line, _ := copy1.Pullup(-1)
	fmt.Fprintf(w, "AddBufferReference survives the source being reset: %q\n", line)
	orig.AddString("x")
	err := orig.AddBufferReference(&orig)
	if !errors.Is(err, evbuffer.ErrSameBuffer) {
		return fmt.Errorf("self reference: got %v", err)
	}
	fmt.Fprintf(w, "a buffer cannot reference itself: %v\n", err)
	return nil
}

func tourLines(w io.Writer) error {
	var b, tmp evbuffer.Buffer
	b.AddString("GET /index.html HTTP/1.1\r\nHost: exa")
	tmp.AddString("mple.com\r\n\r\n")
	b.AddBuffer(&tmp) // the Host line now spans two chains
	for {
		line, err := b.ReadLine(evbuffer.EOLCRLF)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			fmt.Fprintln(w, "blank line: end of headers")
			break
		}
		fmt.Fprintf(w, "line %q\n", line)
	}
	b.AddString("PING\nPONG\n")
	for {
		line, err := b.ReadLineSlice(evbuffer.EOLLF)
		if errors.Is(err, evbuffer.ErrNoLine) {
			break
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "zero-copy line %q\n", line)
	}
	b.SetMaxLineLength(16)
	b.AddString(strings.Repeat("A", 40))
	_, err := b.ReadLine(evbuffer.EOLLF)
	fmt.Fprintf(w, "a 40-byte line with no end, limit 16: %v\n", err)
	return nil
}

func tourFreeze(w io.Writer) error {
	var b evbuffer.Buffer
	b.AddString("input")
	b.Freeze(false)
	fmt.Fprintf(w, "end frozen: Add -> %v; Drain(2) -> %v\n", b.AddString("more"), b.Drain(2))
	b.Unfreeze(false)
	b.Freeze(true)
	fmt.Fprintf(w, "front frozen: Drain(1) -> %v; Add -> %v; length %d\n", b.Drain(1), b.AddString("!"), b.Len())
	return nil
}

func tourCallbacks(w io.Writer) error {
	var b evbuffer.Buffer
	cb := b.AddCallback(func(b *evbuffer.Buffer, info evbuffer.CallbackInfo) {
		fmt.Fprintf(w, "callback: %d -> %d (+%d -%d)\n", info.OrigSize, b.Len(), info.Added, info.Deleted)
	})
	b.AddString("twelve bytes")
	b.Drain(5)
	cb.SetEnabled(false)
	b.AddString("unseen")
	cb.SetEnabled(true)
	fmt.Fprintln(w, "(a disabled callback misses changes: the counts belong to the buffer, as in libevent)")
	b.Drain(b.Len())
	return b.RemoveCallback(cb)
}

func tourFD(w io.Writer) error {
	r, wr, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	defer wr.Close()
	var out, in evbuffer.Buffer
	out.AddString("through a pipe with writev and readv\n")
	n, err := out.WriteToFD(int(wr.Fd()), -1)
	if errors.Is(err, errors.ErrUnsupported) {
		fmt.Fprintf(w, "descriptor I/O is not available here: %v\n", err)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "WriteToFD wrote %d bytes\n", n)
	n, err = in.ReadFromFD(int(r.Fd()), -1)
	if err != nil {
		return err
	}
	line, err := in.ReadLine(evbuffer.EOLLF)
	fmt.Fprintf(w, "ReadFromFD read %d bytes: %q %v\n", n, line, err)
	return nil
}
