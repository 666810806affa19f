package evbuffer_test

import (
	"fmt"
	"strings"

	"github.com/bufev/bufev/evbuffer"
)

func Example() {
	var b evbuffer.Buffer // the zero Buffer is ready to use
	b.AddString("GET / HTTP/1.1\r\n")
	b.Printf("Host: %s\r\n\r\n", "example.com")
	for {
		line, err := b.ReadLine(evbuffer.EOLCRLF)
		if err != nil || len(line) == 0 {
			break
		}
		fmt.Printf("%q\n", line)
	}
	// Output:
	// "GET / HTTP/1.1"
	// "Host: example.com"
}

func ExampleBuffer_AddBuffer() {
	var in, out evbuffer.Buffer
	in.AddString(strings.Repeat("x", 100000))
	// Moving relinks chains: the cost does not depend on the bytes moved.
	out.AddBuffer(&in)
	fmt.Println(in.Len(), out.Len())
	// Output: 0 100000
}

func ExampleBuffer_AddReference() {
	var b evbuffer.Buffer
	page := []byte("static page body")
	b.AddReference(page, func(p []byte) { fmt.Printf("released %d bytes\n", len(p)) })
	b.Drain(7)
	fmt.Println("drained 7")
	b.Drain(b.Len())
	// Output:
	// drained 7
	// released 16 bytes
}

func ExampleBuffer_Reserve() {
	var b evbuffer.Buffer
	var vec [1][]byte
	b.Reserve(64, vec[:])
	n := copy(vec[0], "written in place")
	vec[0] = vec[0][:n]
	b.Commit(vec[:])
	fmt.Println(b.Len())
	// Output: 16
}

func ExampleBuffer_Freeze() {
	var b evbuffer.Buffer
	b.AddString("data")
	b.Freeze(false) // no more appends
	fmt.Println(b.AddString("more"))
	fmt.Println(b.Drain(2), b.Len())
	// Output:
	// evbuffer: buffer frozen
	// <nil> 2
}

func ExampleBuffer_Search() {
	var b, tmp evbuffer.Buffer
	b.AddString("hello foo")
	tmp.AddString("cat attack")
	b.AddBuffer(&tmp)                  // two chains
	p := b.Search([]byte("ocat"), nil) // matches may span chains
	fmt.Println(p.Pos)
	var end evbuffer.Ptr
	b.SetPtr(&end, 12)
	fmt.Println(b.SearchRange([]byte("attack"), nil, &end).Pos)
	// Output:
	// 8
	// -1
}

func ExampleBuffer_Peek() {
	var b, tmp evbuffer.Buffer
	for _, s := range []string{"one ", "two ", "three"} {
		tmp.AddString(s)
		b.AddBuffer(&tmp) // one chain each
	}
	vecs := make([][]byte, 2)
	need := b.Peek(-1, nil, vecs)
	fmt.Println(need, len(vecs))
	fmt.Printf("%q %q\n", vecs[0], vecs[1])
	fmt.Println(b.Peek(-1, nil, nil))
	// Output:
	// 2 2
	// "one " "two "
	// 3
}

func ExampleBuffer_AddCallback() {
	var b evbuffer.Buffer
	b.AddCallback(func(b *evbuffer.Buffer, info evbuffer.CallbackInfo) {
		fmt.Printf("%d -> %d\n", info.OrigSize, info.OrigSize+info.Added-info.Deleted)
	})
	b.AddString("hello")
	b.Drain(2)
	// Output:
	// 0 -> 5
	// 5 -> 3
}

func ExampleBuffer_ReadLineSlice() {
	var b evbuffer.Buffer
	b.AddString("PING\r\nPONG\r\n")
	for {
		line, err := b.ReadLineSlice(evbuffer.EOLCRLFStrict)
		if err != nil {
			break
		}
		fmt.Println(string(line)) // valid until b changes again
	}
	// Output:
	// PING
	// PONG
}

// lenWatcher reports a buffer's length after every change: a Notifier,
// called straight from the buffer without a function value in between.
type lenWatcher struct{ name string }

func (w *lenWatcher) BufferChanged(b *evbuffer.Buffer, info evbuffer.CallbackInfo) {
	fmt.Printf("%s: %d bytes (+%d -%d)\n", w.name, b.Len(), info.Added, info.Deleted)
}

func ExampleBuffer_AddNotifier() {
	var b evbuffer.Buffer
	cb := b.AddNotifier(&lenWatcher{name: "in"})
	b.AddString("hello")
	b.Drain(2)
	cb.SetEnabled(false)
	b.AddString("!") // not reported
	// Output:
	// in: 5 bytes (+5 -0)
	// in: 3 bytes (+0 -2)
}

func ExampleBuffer_ReadWith() {
	var b evbuffer.Buffer
	src := strings.NewReader("read straight into the buffer")
	for {
		// One read into up to 8 bytes of b's own space, no copy.
		n, err := b.ReadWith(8, src.Read)
		if n == 0 || err != nil {
			break
		}
	}
	fmt.Println(b.Len())
	// Output:
	// 29
}
