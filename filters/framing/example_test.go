package framing_test

import (
	"fmt"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/filters/framing"
)

// Length-prefixed frames without an event loop: the output filter frames
// each flushed message; the input filter lets only whole frames through,
// whatever the chunking of the wire.
func ExampleLengthPrefix() {
	lp, _ := framing.NewLengthPrefix(framing.Uint16, 1024)

	var out, wire evbuffer.Buffer
	for _, msg := range []string{"hello", "framed", "world"} {
		out.AddString(msg)
		lp.Out(&out, &wire, -1, bufferevent.Flush) // one message, one frame
	}
	fmt.Printf("wire: % x\n", peek(&wire, 7))

	// The peer receives the bytes in awkward pieces.
	peer, _ := framing.NewLengthPrefix(framing.Uint16, 1024)
	var src, in evbuffer.Buffer
	var buf []byte
	for wire.Len() > 0 {
		wire.RemoveBuffer(&src, 4)
		peer.In(&src, &in, -1, bufferevent.Normal)
		for {
			msg, err := peer.ReadFrame(&in, buf)
			if err != nil {
				break
			}
			fmt.Printf("frame %q\n", msg)
			buf = msg
		}
	}
	// Output:
	// wire: 00 05 68 65 6c 6c 6f
	// frame "hello"
	// frame "framed"
	// frame "world"
}

// An oversized frame is refused as soon as its header arrives.
func ExampleLengthPrefix_tooLarge() {
	lp, _ := framing.NewLengthPrefix(framing.Uint32, 1024)
	var src, dst evbuffer.Buffer
	src.Add([]byte{0, 0x10, 0, 0}) // a 1 MiB frame announced
	fmt.Println(lp.In(&src, &dst, -1, bufferevent.Normal))
	fmt.Println(lp.Err())
	// Output:
	// Error
	// framing: frame too large: 1048576 bytes, maximum 1024
}

// Line framing: the input side delivers whole lines only and bounds their
// length; the output side ends a flushed partial line.
func ExampleLines() {
	in, _ := framing.NewLines(evbuffer.EOLCRLF, 16)
	var src, dst evbuffer.Buffer
	src.AddString("USER alice\r\nPASS se")
	in.In(&src, &dst, -1, bufferevent.Normal)
	src.AddString("cret\r\n")
	in.In(&src, &dst, -1, bufferevent.Normal)
	for {
		line, err := dst.ReadLine(evbuffer.EOLCRLF)
		if err != nil {
			break
		}
		fmt.Printf("%q\n", line)
	}

	out, _ := framing.NewLines(evbuffer.EOLCRLF, 16)
	var user, wire evbuffer.Buffer
	user.AddString("QUIT")
	out.Out(&user, &wire, -1, bufferevent.Flush)
	fmt.Printf("%q\n", peek(&wire, wire.Len()))

	src.AddString("a line much longer than sixteen bytes\r\n")
	fmt.Println(in.In(&src, &dst, -1, bufferevent.Normal), in.Err())
	// Output:
	// "USER alice"
	// "PASS secret"
	// "QUIT\r\n"
	// Error framing: line too long: 37 bytes, maximum 16
}

func peek(b *evbuffer.Buffer, n int) []byte {
	p := make([]byte, n)
	b.CopyOut(p)
	return p
}
