package evbuffer

import (
	"bytes"
	"testing"
)

// The steady-state paths allocate nothing: memory comes from the pools and
// goes back to them. (Not a timing assertion: allocation counts only.)
func TestZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	p := bytes.Repeat([]byte("z"), 4096)
	out := make([]byte, 4096)
	lines := bytes.Repeat([]byte("a short line\r\n"), 100)
	var b, o Buffer
	var v [2][]byte
	cases := []struct {
		name string
		fn   func()
	}{
		{"Add+Drain 64", func() { b.Add(p[:64]); b.Drain(64) }},
		{"Add+Drain 4K", func() { b.Add(p); b.Drain(4096) }},
		{"Add+Remove 4K", func() { b.Add(p); b.Remove(out) }},
		{"AddString+Read", func() { b.AddString("hello"); b.Read(out) }},
		{"Prepend+Drain", func() { b.Prepend(p[:100]); b.Drain(100) }},
		{"AddBuffer", func() { b.Add(p); o.AddBuffer(&b); o.Drain(o.Len()) }},
		{"RemoveBuffer", func() { b.Add(p); b.RemoveBuffer(&o, 1000); b.Drain(b.Len()); o.Drain(o.Len()) }},
		{"Reserve+Commit", func() {
			n, _ := b.Reserve(100, v[:])
			v[0] = v[0][:100]
			b.Commit(v[:1])
			_ = n
			b.Drain(100)
		}},
		{"ReadLineSlice", func() {
			b.Add(lines)
			for {
				if _, err := b.ReadLineSlice(EOLCRLF); err != nil {
					break
				}
			}
		}},
		{"Search", func() { b.Add(lines); b.Search([]byte("line\r\na"), nil); b.Drain(b.Len()) }},
		{"Peek", func() { b.Add(lines); b.Peek(-1, nil, v[:]); b.Drain(b.Len()) }},
	}
	for _, c := range cases {
		c.fn() // warm the pools
		if a := testing.AllocsPerRun(100, c.fn); a != 0 {
			t.Errorf("%s: %v allocations per run", c.name, a)
		}
	}
}
