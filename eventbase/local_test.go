package eventbase

import (
	"sync"
	"testing"
)

// Local hands every caller the same value per key, also when goroutines race
// on the first call, and separate values for separate keys and bases.
func TestLocal(t *testing.T) {
	type keyA struct{}
	type keyB struct{}
	b1, b2 := localBase(t), localBase(t)
	mk := func() any { return new(int) }
	const n = 8
	got := make([]any, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = b1.Local(keyA{}, mk)
		}()
	}
	wg.Wait()
	for i := range n {
		if got[i] != got[0] {
			t.Fatalf("caller %d got %p, caller 0 %p", i, got[i], got[0])
		}
	}
	if b1.Local(keyA{}, mk) != got[0] {
		t.Fatal("a later call got a new value")
	}
	if b1.Local(keyB{}, mk) == got[0] {
		t.Fatal("two keys share a value")
	}
	if b2.Local(keyA{}, mk) == got[0] {
		t.Fatal("two bases share a value")
	}
}

// localBase returns a new base with the default poller, closed at the end
// of the test.
func localBase(t *testing.T) *Base {
	t.Helper()
	b, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}
