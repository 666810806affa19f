//go:build unix

package eventbase

import (
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// Close runs the deferred functions still queued (a bufferevent's deferred
// callbacks, a completion backend's submission flush) instead of dropping
// them, after the functions queued by RunInLoop, and runs what they queue.
func TestCloseRunsDeferred(t *testing.T) {
	b, err := New(Config{})
	must(t, err)
	var order []string
	must(t, b.RunInLoop(func() {
		order = append(order, "remote")
		b.Defer(func() { order = append(order, "deferred by remote") })
	}))
	for i := range 40 { // more than one turn's worth (32)
		b.Defer(func() {
			if i == 0 {
				order = append(order, "deferred")
				b.Defer(func() { order = append(order, "deferred by deferred") })
			}
		})
	}
	must(t, b.Close())
	want := []string{"remote", "deferred", "deferred by remote", "deferred by deferred"}
	if !slices.Equal(order, want) {
		t.Fatalf("Close ran %v, want %v", order, want)
	}
	ran := false
	b.Defer(func() { ran = true }) // after Close: dropped
	must(t, b.Close())
	if ran {
		t.Fatal("a function deferred after Close ran")
	}
}

// A deferred function that re-queues itself forever cannot hang Close: after
// 100 rounds Close gives up, still releases everything and runs the close
// hooks, and reports ErrWorkLeft.
func TestCloseWorkLeft(t *testing.T) {
	b, err := New(Config{})
	must(t, err)
	var again func()
	n := 0
	again = func() { n++; b.Defer(again) }
	b.Defer(again)
	hook, hookWork := false, false
	_, err = b.OnClose(func() { hook = true; b.Defer(func() { hookWork = true }) })
	must(t, err)
	if err := b.Close(); !errors.Is(err, ErrWorkLeft) {
		t.Fatalf("Close with a self-requeueing deferred function = %v, want ErrWorkLeft", err)
	}
	if n != 100 || !hook {
		t.Fatalf("ran the function %d times (want 100) and the hook %v (want true)", n, hook)
	}
	if hookWork {
		t.Fatal("the hook's deferred function ran after ErrWorkLeft cut the work off (documented as dropped)")
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close = %v, want nil", err)
	}
}

// OnClose hooks run at Close, last registered first, after the queued work
// and before events are deleted (a hook can still use the base and its
// events); a stopped hook does not run; what a hook defers runs; Close from
// a hook does nothing; OnClose after Close reports ErrClosed.
func TestOnClose(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		b, err := New(Config{AvoidMethods: others(m)})
		must(t, err)
		ev, err := b.NewTimer(func() {})
		must(t, err)
		var order []string
		hook := func(name string, then func()) {
			t.Helper()
			_, err := b.OnClose(func() {
				order = append(order, name)
				if then != nil {
					then()
				}
			})
			must(t, err)
		}
		hook("first", func() {
			if p, _ := ev.Pending(Timeout); p&Timeout == 0 {
				t.Error("the event was deleted before the hooks ran")
			}
			ev.Free()
		})
		stop, err := b.OnClose(func() { order = append(order, "stopped") })
		must(t, err)
		hook("second", func() {
			b.Defer(func() { order = append(order, "deferred by second") })
			hook("registered by second", nil)
			if err := b.Close(); err != nil {
				t.Errorf("Close from a hook = %v", err)
			}
		})
		b.Defer(func() { order = append(order, "deferred") })
		must(t, ev.AddTimeout(3600e9))
		if !stop() {
			t.Fatal("stop of a registered hook = false")
		}
		if stop() {
			t.Fatal("second stop = true")
		}
		must(t, b.Close())
		want := []string{"deferred", "second", "deferred by second", "registered by second", "first"}
		if !slices.Equal(order, want) {
			t.Fatalf("Close ran %v, want %v", order, want)
		}
		if _, err := b.OnClose(func() {}); !errors.Is(err, ErrClosed) {
			t.Fatalf("OnClose after Close = %v, want ErrClosed", err)
		}
		if _, err := b.OnClose(nil); !errors.Is(err, ErrNilCallback) {
			t.Fatalf("OnClose(nil) = %v, want ErrNilCallback", err)
		}
	})
}

// Close requested from a callback runs the hooks when Loop returns.
func TestOnCloseFromCallback(t *testing.T) {
	b, err := New(Config{})
	must(t, err)
	ran := 0
	_, err = b.OnClose(func() { ran++ })
	must(t, err)
	ev, err := b.NewTimer(func() {
		must(t, b.Close())
		if ran != 0 {
			t.Error("the hook ran inside the callback")
		}
	})
	must(t, err)
	must(t, ev.AddTimeout(0))
	must(t, b.Dispatch())
	if ran != 1 {
		t.Fatalf("the hook ran %d times, want 1", ran)
	}
}

// OnClose and stop from other goroutines race with Close: every hook either
// runs exactly once or its registration reports ErrClosed (run under -race).
func TestOnCloseConcurrent(t *testing.T) {
	b, err := New(Config{})
	must(t, err)
	const n = 8
	var mu sync.Mutex
	ran := map[int]int{}
	registered := map[int]bool{}
	var wg, started sync.WaitGroup
	started.Add(n)
	for i := range n {
		wg.Go(func() {
			for j := range 50 {
				if j == 1 {
					started.Done() // Close races with the rest
				}
				id := i*1000 + j
				stop, err := b.OnClose(func() { mu.Lock(); ran[id]++; mu.Unlock() })
				if errors.Is(err, ErrClosed) {
					if j < 1 {
						started.Done()
					}
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				if j%2 == 1 && stop() {
					continue
				}
				mu.Lock()
				registered[id] = true
				mu.Unlock()
			}
		})
	}
	started.Wait()
	must(t, b.Close())
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for id := range registered {
		if ran[id] != 1 {
			t.Fatalf("hook %d registered and not stopped ran %d times, want 1", id, ran[id])
		}
	}
	for id, c := range ran {
		if c != 1 {
			t.Fatalf("hook %d ran %d times", id, c)
		}
	}
}

// Many OnClose functions, most of them stopped in any order (as the objects
// that register one each, NetConns, are closed): stop reports true once and
// false after, and Close runs exactly the ones left, last registered first.
func TestOnCloseManyStopped(t *testing.T) {
	b, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 5000
	var ran []int
	stops := make([]func() bool, n)
	for i := range n {
		if stops[i], err = b.OnClose(func() { ran = append(ran, i) }); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	kept := make(map[int]bool)
	for _, i := range rng.Perm(n) {
		if i%7 == 0 {
			kept[i] = true
			continue
		}
		if !stops[i]() {
			t.Fatalf("stop %d reported false the first time", i)
		}
		if stops[i]() {
			t.Fatalf("stop %d reported true twice", i)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if len(ran) != len(kept) {
		t.Fatalf("Close ran %d functions, want the %d not stopped", len(ran), len(kept))
	}
	for k, i := range ran {
		if !kept[i] || k > 0 && i >= ran[k-1] {
			t.Fatalf("Close ran %v: want the kept functions, last registered first", ran)
		}
	}
	for i := range n {
		if stops[i]() {
			t.Fatalf("stop %d reported true after Close", i)
		}
	}
}
