package main

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	s := out.String()
	want := []string{
		"two small adds share one chain: 12 bytes in 1 chain(s) [12]",
		"drain 7 only moves the start of the first chain: 3005 bytes in 2 chain(s)",
		`first 9 bytes: "hi, world"`,
		"source: 1048576 bytes in 256 chains",
		"AddBuffer moved 1048576 bytes; source now 0; same memory, nothing copied: true",
		"RemoveBuffer(10000) moved 10000",
		"drained 6 bytes of the reference, cleanup not yet called\ncleanup: the buffer let go of the 60 referenced bytes",
		`AddBufferReference survives the source being reset: "shared, not copied"`,
		"a buffer cannot reference itself: evbuffer: source and destination are the same buffer",
		`line "GET /index.html HTTP/1.1"`,
		`line "Host: example.com"`,
		"blank line: end of headers",
		`zero-copy line "PING"`,
		`zero-copy line "PONG"`,
		"limit 16: evbuffer: line too long",
		"end frozen: Add -> evbuffer: buffer frozen; Drain(2) -> <nil>",
		"front frozen: Drain(1) -> evbuffer: buffer frozen; Add -> <nil>; length 4",
		"callback: 0 -> 12 (+12 -0)\ncallback: 12 -> 7 (+0 -5)\n(a disabled callback misses changes: the counts belong to the buffer, as in libevent)\ncallback: 13 -> 0 (+0 -13)",
		"== tour complete",
	}
	if runtime.GOOS != "windows" {
		want = append(want, "WriteToFD wrote 37 bytes", `ReadFromFD read 37 bytes: "through a pipe with writev and readv" <nil>`)
	}
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("output lacks %q", w)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", s)
	}
}
