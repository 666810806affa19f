package framing

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/bufev/bufev/backends/filter"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
)

func TestLinesIn(t *testing.T) {
	cases := []struct {
		style evbuffer.EOLStyle
		input string
		want  []string
	}{
		{evbuffer.EOLLF, "a\nbb\r\n\nccc\n", []string{"a", "bb\r", "", "ccc"}},
		{evbuffer.EOLCRLF, "a\r\nbb\nc\rc\r\n", []string{"a", "bb", "c\rc"}},
		{evbuffer.EOLCRLFStrict, "a\r\nb\nb\r\nc\rc\r\n", []string{"a", "b\nb", "c\rc"}},
		{evbuffer.EOLNUL, "a\x00b\nb\x00\x00", []string{"a", "b\nb", ""}},
		{evbuffer.EOLAny, "a\r\nbb\nccc\r", []string{"a", "bb", "ccc"}},
	}
	for _, tc := range cases {
		t.Run(tc.style.String(), func(t *testing.T) {
			for seed := range uint64(30) {
				rng := rand.New(rand.NewPCG(seed, 9))
				l, err := NewLines(tc.style, 10)
				if err != nil {
					t.Fatal(err)
				}
				// Feed one byte at a time sometimes, to split every marker.
				var src, dst evbuffer.Buffer
				var got []string
				data := []byte(tc.input)
				for len(data) > 0 {
					n := min(len(data), 1+rng.IntN(4))
					_ = src.Add(data[:n])
					data = data[n:]
					for src.Len() > 0 {
						if r := l.In(&src, &dst, 1+rng.IntN(5), bufferevent.Normal); r == filter.Error {
							t.Fatal(l.Err())
						} else if r == filter.NeedMore {
							break
						}
					}
					for {
						line, err := dst.ReadLine(tc.style)
						if errors.Is(err, evbuffer.ErrNoLine) {
							break
						}
						if err != nil {
							t.Fatal(err)
						}
						got = append(got, string(line))
					}
					if dst.Len() != 0 {
						t.Fatalf("input holds a partial line %d bytes", dst.Len())
					}
				}
				if r := l.In(&src, &dst, -1, bufferevent.Finished); r == filter.Error {
					t.Fatal(l.Err())
				}
				if tc.style == evbuffer.EOLAny {
					// A marker run split across reads yields empty lines.
					got = nonEmpty(got)
				}
				if strings.Join(got, "|") != strings.Join(tc.want, "|") {
					t.Fatalf("seed %d: got %q, want %q", seed, got, tc.want)
				}
			}
		})
	}
}

func nonEmpty(s []string) []string {
	var out []string
	for _, x := range s {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}

func TestLinesErrors(t *testing.T) {
	cases := []struct {
		name   string
		style  evbuffer.EOLStyle
		input  string
		finish bool
		want   error
	}{
		{"long line", evbuffer.EOLLF, "0123456789A\n", false, ErrLineTooLong},
		{"long partial", evbuffer.EOLLF, "0123456789AB", false, ErrLineTooLong},
		{"long crlf", evbuffer.EOLCRLF, "0123456789A\r\n", false, ErrLineTooLong},
		{"long strict", evbuffer.EOLCRLFStrict, "0123456789\n\r\n", false, ErrLineTooLong},
		{"truncated", evbuffer.EOLCRLF, "ok\r\npartial", true, ErrTruncated},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for seed := range uint64(10) {
				l, _ := NewLines(tc.style, 10)
				var sink evbuffer.Buffer
				r := pump(t, rand.New(rand.NewPCG(seed, 1)), l.In, []byte(tc.input), &sink, tc.finish)
				if r != filter.Error || !errors.Is(l.Err(), tc.want) {
					t.Fatalf("seed %d: %v, %v; want %v", seed, r, l.Err(), tc.want)
				}
			}
		})
	}
	// Exactly max bytes, with the CR of a CRLF arriving first, is fine.
	l, _ := NewLines(evbuffer.EOLCRLF, 10)
	var sink evbuffer.Buffer
	if r := pump(t, rand.New(rand.NewPCG(1, 1)), l.In, []byte("0123456789\r\n"), &sink, true); r == filter.Error {
		t.Fatal(l.Err())
	}
	if _, err := NewLines(evbuffer.EOLStyle(9), 0); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
}

func TestLinesOut(t *testing.T) {
	l, _ := NewLines(evbuffer.EOLCRLF, 20)
	var src, dst evbuffer.Buffer
	_ = src.AddString("PING\r\nPO")
	if r := l.Out(&src, &dst, -1, bufferevent.Normal); r != filter.OK || dst.Len() != 6 || src.Len() != 2 {
		t.Fatalf("Normal: %v, %d/%d", r, dst.Len(), src.Len())
	}
	_ = src.AddString("NG")
	if r := l.Out(&src, &dst, -1, bufferevent.Normal); r != filter.NeedMore {
		t.Fatalf("partial line in Normal mode: %v", r)
	}
	if r := l.Out(&src, &dst, -1, bufferevent.Flush); r != filter.OK || src.Len() != 0 {
		t.Fatalf("Flush: %v", r)
	}
	got := make([]byte, dst.Len())
	_, _ = dst.Remove(got)
	if !bytes.Equal(got, []byte("PING\r\nPONG\r\n")) {
		t.Fatalf("got %q", got)
	}
	_ = src.AddString(strings.Repeat("x", 21) + "\n")
	if r := l.Out(&src, &dst, -1, bufferevent.Normal); r != filter.Error || !errors.Is(l.Err(), ErrLineTooLong) {
		t.Fatalf("long line out: %v, %v", r, l.Err())
	}
}

// TestLinesOutLimit: with a small limit the output side moves whole lines
// only, and a long run of complete lines is not mistaken for a long partial
// line.
func TestLinesOutLimit(t *testing.T) {
	l, _ := NewLines(evbuffer.EOLLF, 8)
	var src, dst evbuffer.Buffer
	_ = src.AddString("aaaa\nbbbb\ncccc\ndd")
	if r := l.Out(&src, &dst, 6, bufferevent.Normal); r != filter.OK || dst.Len() != 5 {
		t.Fatalf("limit 6: %v, %d bytes, %v", r, dst.Len(), l.Err())
	}
	if r := l.Out(&src, &dst, 100, bufferevent.Normal); r != filter.OK || dst.Len() != 15 || src.Len() != 2 {
		t.Fatalf("limit 100: %v, %d/%d", r, dst.Len(), src.Len())
	}
}

// TestLinesManyChains: lines, and CRLF markers, split over many tiny
// chains.
func TestLinesManyChains(t *testing.T) {
	for _, style := range []evbuffer.EOLStyle{evbuffer.EOLCRLF, evbuffer.EOLCRLFStrict, evbuffer.EOLLF} {
		l, _ := NewLines(style, 50)
		rng := rand.New(rand.NewPCG(uint64(style), 2))
		var want []string
		var all []byte
		for i := range 200 {
			s := strings.Repeat(string(rune('a'+i%26)), rng.IntN(51))
			want = append(want, s)
			all = append(all, s...)
			all = append(all, "\r\n"...)
		}
		if style == evbuffer.EOLLF {
			// Under EOLLF the CR is data.
			for i := range want {
				want[i] += "\r"
			}
			l, _ = NewLines(style, 51)
		}
		var src, dst evbuffer.Buffer
		for rest := all; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(3))
			_ = src.AddReference(rest[:n], nil)
			rest = rest[n:]
		}
		if r := l.In(&src, &dst, filter.NoLimit, bufferevent.Flush); r != filter.OK || src.Len() != 0 {
			t.Fatalf("%v: %v, %v", style, r, l.Err())
		}
		for i, w := range want {
			line, err := dst.ReadLine(style)
			if err != nil || string(line) != w {
				t.Fatalf("%v line %d: %q, %v; want %q", style, i, line, err, w)
			}
		}
	}
}
