package evbuffer

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

// Mirrors libevent test/regress_buffer.c "evbuffer/evbuffer" (the broad smoke test).
func TestEvbufferSmoke(t *testing.T) {
	var buf, tmp Buffer
	if n, err := buf.Printf("%s/%d", "hello", 1); n != 7 || err != nil {
		t.Fatalf("Printf = %d, %v", n, err)
	}
	mustValid(t, &buf)
	if buf.Len() != 7 || contents(t, &buf) != "hello/1" {
		t.Fatalf("got %q", contents(t, &buf))
	}
	if err := buf.AddBuffer(New()); err != nil {
		t.Fatal(err)
	}
	mustValid(t, &buf)
	if err := buf.Drain(6); err != nil {
		t.Fatal(err)
	}
	mustValid(t, &buf)
	if contents(t, &buf) != "1" {
		t.Fatalf("got %q", contents(t, &buf))
	}
	tmp.AddString("/hello")
	if err := buf.AddBuffer(&tmp); err != nil {
		t.Fatal(err)
	}
	mustValid(t, &buf)
	mustValid(t, &tmp)
	if tmp.Len() != 0 || contents(t, &buf) != "1/hello" {
		t.Fatalf("got %q tmp %d", contents(t, &buf), tmp.Len())
	}
	zero := make([]byte, 512)
	buf.Add(zero)
	mustValid(t, &buf)
	p, err := buf.Pullup(7 + 512)
	if err != nil || !bytes.Equal(p, append([]byte("1/hello"), zero...)) {
		t.Fatalf("Pullup: %v", err)
	}
	mustValid(t, &buf)
	buf.Drain(buf.Len())
	buf.AddString("1/hello")
	buf.Prepend([]byte("something"))
	buf.Prepend([]byte("else"))
	mustValid(t, &buf)
	p, err = buf.Pullup(20)
	if err != nil || string(p) != "elsesomething1/hello" {
		t.Fatalf("Pullup(20) = %q, %v", p, err)
	}
	buf.Drain(math.MaxInt)
	mustValid(t, &buf)
	if buf.Len() != 0 {
		t.Fatal("not empty")
	}
	for i := 0; i < 3; i++ {
		tmp.Add(bytes.Repeat([]byte{byte('a' + i)}, 512))
		mustValid(t, &tmp)
		buf.AddBuffer(&tmp)
		mustValid(t, &buf)
		mustValid(t, &tmp)
	}
	if buf.Len() != 1536 || tmp.Len() != 0 {
		t.Fatalf("len %d tmp %d", buf.Len(), tmp.Len())
	}
	want := contents(t, &buf)
	n, err := buf.RemoveBuffer(&tmp, 1280)
	if n != 1280 || err != nil {
		t.Fatalf("RemoveBuffer = %d, %v", n, err)
	}
	mustValid(t, &buf)
	mustValid(t, &tmp)
	if contents(t, &tmp) != want[:1280] || contents(t, &buf) != want[1280:] {
		t.Fatal("RemoveBuffer contents wrong")
	}
	buf.Drain(buf.Len())
	for i := 0; i < 3; i++ {
		var v [1][]byte
		n, err := buf.Reserve(10000, v[:])
		if n != 1 || err != nil || len(v[0]) < 10000 {
			t.Fatalf("Reserve = %d, %v, len %d", n, err, len(v[0]))
		}
		copy(v[0], strings.Repeat("x", 10000))
		v[0] = v[0][:10000]
		if err := buf.Commit(v[:]); err != nil {
			t.Fatal(err)
		}
		mustValid(t, &buf)
		if buf.Len() != 10000 {
			t.Fatalf("len %d", buf.Len())
		}
		buf.Drain(1000000)
		mustValid(t, &buf)
	}
}
