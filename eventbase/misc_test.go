//go:build unix

package eventbase

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

// Mirrors libevent test/regress.c "main/simple_signal" and
// "main/immediatesignal": a signal is delivered on the loop.
func TestSimpleSignal(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		b := newBase(t, m)
		got := 0
		var ev *Event
		ev, err := b.NewSignal(syscall.SIGUSR1, func(sig int, what What) {
			if sig != int(syscall.SIGUSR1) || what != Signal {
				t.Errorf("sig %d what %v", sig, what)
			}
			got++
			ev.Del()
		})
		must(t, err)
		must(t, ev.Add())
		must(t, syscall.Kill(os.Getpid(), syscall.SIGUSR1))
		must(t, b.Dispatch())
		if got != 1 {
			t.Fatalf("signal callback ran %d times", got)
		}
	})
}

// Mirrors libevent test/regress.c "main/multiplesignal" and
// "main/signal_free_in_callback": two events for one signal both run; an
// event freed in its callback is not called again for counted deliveries.
func TestMultipleSignal(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		b := newBase(t, m)
		var one, two *Event
		n1, n2 := 0, 0
		one, _ = b.NewSignal(syscall.SIGUSR2, func(int, What) { n1++; one.Del() })
		two, _ = b.NewSignal(syscall.SIGUSR2, func(int, What) { n2++; two.Free() })
		must(t, one.Add())
		must(t, two.Add())
		// Deliver twice before the loop runs: the count is 1 or 2, and
		// each event must run exactly once because it removes itself.
		must(t, syscall.Kill(os.Getpid(), syscall.SIGUSR2))
		must(t, syscall.Kill(os.Getpid(), syscall.SIGUSR2))
		must(t, b.Dispatch())
		if n1 != 1 || n2 != 1 {
			t.Fatalf("calls %d %d, want 1 1", n1, n2)
		}
	})
}

// Signal deliveries counted between turns run the callback that many times
// (libevent's ncalls), and ActiveBySignal/Active with ncalls does the same.
func TestSignalNCalls(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		b := newBase(t, m)
		calls := 0
		ev, err := b.NewEvent(int(syscall.SIGUSR1), Signal|Persist, func(int, What) {
			calls++
		})
		must(t, err)
		must(t, ev.Add())
		ev.Active(Signal, 3)
		must(t, b.Loop(LoopNonBlock))
		if calls != 3 {
			t.Fatalf("calls = %d, want 3", calls)
		}
		// LoopBreak aborts the remaining calls.
		calls = 0
		ev2, _ := b.NewEvent(int(syscall.SIGUSR1), Signal|Persist, func(int, What) {
			calls++
			b.LoopBreak()
		})
		must(t, ev2.Add())
		must(t, ev.Del())
		ev2.Active(Signal, 5)
		must(t, b.Loop(LoopNonBlock))
		if calls != 1 {
			t.Fatalf("calls after break = %d, want 1", calls)
		}
		ev2.Free()
	})
}

// Mirrors libevent test/regress.c "main/signal_dealloc": a base with a
// signal event added and deleted closes cleanly (goleak checks the
// forwarding goroutine is gone).
func TestSignalDealloc(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		b := newBase(t, m)
		ev, _ := b.NewSignal(syscall.SIGUSR1, func(int, What) {})
		must(t, ev.Add())
		must(t, ev.Del())
		ev2, _ := b.NewSignal(syscall.SIGUSR2, func(int, What) {})
		must(t, ev2.Add()) // left for Close
		must(t, b.Close())
		if err := ev2.Add(); !errors.Is(err, ErrClosed) {
			t.Fatalf("Add after Close: %v", err)
		}
	})
}

// Mirrors libevent test/regress.c "main/active_later": two callbacks that
// keep re-queuing each other through Defer do not starve I/O.
func TestDeferDoesNotStarveIO(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		b := newBase(t, m)
		p0, p1 := socketpair(t)
		nWrite, nRead, nDefer := 0, 0, 0
		rev, _ := b.NewEvent(p0, Read|Persist, func(fd int, _ What) {
			nRead++
			buf := make([]byte, 128)
			for {
				if n, _ := unix.Read(fd, buf); n <= 0 {
					break
				}
			}
		})
		wev, _ := b.NewEvent(p1, Write|Persist, func(fd int, _ What) {
			if n, _ := unix.Write(fd, []byte("x")); n == 1 {
				nWrite++
			}
		})
		must(t, rev.Add())
		must(t, wev.Add())
		var a, c func()
		a = func() { nDefer++; b.Defer(c) }
		c = func() { nDefer++; b.Defer(a) }
		b.Defer(a)
		must(t, b.LoopExit(100*time.Millisecond))
		must(t, b.Dispatch())
		if nWrite < 5 || nRead < 5 || nDefer < 5 {
			t.Fatalf("writes %d, reads %d, deferred %d: something starved", nWrite, nRead, nDefer)
		}
		// At most 32 deferred callbacks per turn: each turn ran one write.
		if nDefer > 32*(nWrite+1) {
			t.Fatalf("%d deferred callbacks for %d turns", nDefer, nWrite)
		}
	})
}

// Defer runs at most 32 functions per turn, in order, the rest in later
// turns; an always-writable fd shows where the turns are.
func TestDeferBound(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		b := newBase(t, m)
		_, p1 := socketpair(t)
		var order []int
		turns := 0
		var w *Event
		w, _ = b.NewEvent(p1, Write|Persist, func(int, What) {
			turns++
			order = append(order, -1)
			if turns == 10 {
				w.Del()
			}
		})
		must(t, w.Add())
		for i := range 100 {
			b.Defer(func() { order = append(order, i) })
		}
		must(t, b.Dispatch())
		next, run := 0, 0
		for _, v := range order {
			if v == -1 {
				run = 0
				continue
			}
			if v != next {
				t.Fatalf("deferred %d ran when %d was due: %v", v, next, order)
			}
			next++
			if run++; run > 32 {
				t.Fatalf("more than 32 deferred functions in one turn: %v", order)
			}
		}
		if next != 100 {
			t.Fatalf("ran %d deferred functions", next)
		}
	})
}

// Mirrors libevent test/regress_finalize.c "finalize/cb_invoked": the
// finalizer, not the callback, runs for an un-added, an active and an
// added-with-timeout event; afterwards add/del/active have no effect.
func TestFinalize(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		b := newBase(t, m)
		cbRan := 0
		var finalized []*Event
		fin := func(ev *Event) { finalized = append(finalized, ev) }
		var evs [3]*Event
		for i := range evs {
			evs[i], _ = b.NewEvent(-1, 0, func(int, What) { cbRan++ })
		}
		evs[1].Active(Read, 1)
		must(t, evs[2].AddTimeout(time.Second))
		for _, ev := range evs {
			must(t, ev.Finalize(fin))
		}
		if err := evs[0].Finalize(fin); !errors.Is(err, ErrFinalizing) {
			t.Fatalf("second Finalize: %v", err)
		}
		if err := evs[0].Add(); !errors.Is(err, ErrFinalizing) {
			t.Fatalf("Add while finalizing: %v", err)
		}
		must(t, evs[0].Del())
		evs[0].Active(Read, 1)
		must(t, b.Dispatch())
		if cbRan != 0 || len(finalized) != 3 {
			t.Fatalf("callbacks %d, finalizers %d", cbRan, len(finalized))
		}
		if err := evs[1].Add(); !errors.Is(err, ErrFreed) {
			t.Fatalf("Add after finalizer: %v", err)
		}
		// Close runs pending finalizers.
		ev, _ := b.NewTimer(func() {})
		must(t, ev.Finalize(fin))
		must(t, b.Close())
		if len(finalized) != 4 {
			t.Fatalf("Close ran %d finalizers, want 4", len(finalized)-3)
		}
	})
}

// Bad input through the API gets clear errors and never panics.
func TestBadInput(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		b := newBase(t, m)
		nop := func(int, What) {}
		p0, p1 := socketpair(t)
		cases := []struct {
			name string
			err  error
			want error
		}{
			{"nil callback", func() error { _, err := b.NewEvent(p0, Read, nil); return err }(), ErrNilCallback},
			{"nil timer callback", func() error { _, err := b.NewTimer(nil); return err }(), ErrNilCallback},
			{"unknown bits", func() error { _, err := b.NewEvent(p0, 0x40, nop); return err }(), ErrInvalidEvents},
			{"signal with write", func() error { _, err := b.NewEvent(int(syscall.SIGUSR1), Signal|Write, nop); return err }(), ErrInvalidEvents},
			{"signal 0", func() error { _, err := b.NewEvent(0, Signal, nop); return err }(), ErrInvalidEvents},
			{"SIGKILL", func() error { _, err := b.NewSignal(syscall.SIGKILL, nop); return err }(), ErrInvalidEvents},
			{"foreign os.Signal", func() error { _, err := b.NewSignal(fakeSignal{}, nop); return err }(), ErrInvalidEvents},
			{"negative fd", func() error { ev, _ := b.NewEvent(-5, Read, nop); return ev.Add() }(), ErrBadFD},
			{"closed fd", func() error {
				fd, _ := unix.Dup(p0)
				unix.Close(fd)
				ev, _ := b.NewEvent(fd, Read, nop)
				return ev.Add()
			}(), unix.EBADF},
			{"negative timeout", func() error { ev, _ := b.NewTimer(func() {}); return ev.AddTimeout(-1) }(), ErrNegativeTimeout},
			{"negative LoopExit", b.LoopExit(-time.Second), ErrNegativeTimeout},
			{"negative Once", b.Once(-1, Timeout, -1, nop), ErrNegativeTimeout},
			{"bad priority", func() error { ev, _ := b.NewTimer(func() {}); return ev.SetPriority(1) }(), ErrBadPriority},
			{"freed event", func() error {
				ev, _ := b.NewEvent(p1, Read, nop)
				ev.Free()
				ev.Free()
				ev.Active(Read, 1)
				if p, _ := ev.Pending(Read); p != 0 {
					return errors.New("freed event pending")
				}
				if err := ev.Del(); !errors.Is(err, ErrFreed) {
					return err
				}
				return ev.Add()
			}(), ErrFreed},
			{"nil RunInLoop", b.RunInLoop(nil), ErrNilCallback},
			{"nil Do", b.Do(context.Background(), nil), ErrNilCallback},
			{"zero Event", (&Event{}).Add(), ErrInvalidEvents},
			{"bad priorities", func() error { _, err := New(Config{Priorities: 300}); return err }(), ErrBadPriority},
			{"impossible features", func() error { _, err := New(Config{RequireFeatures: 0xf0}); return err }(), ErrNoMethod},
			{"avoid everything", func() error { _, err := New(Config{AvoidMethods: SupportedMethods()}); return err }(), ErrNoMethod},
		}
		if b.Features()&FeatureEarlyClose == 0 {
			_, err := b.NewEvent(p0, Closed, nop)
			cases = append(cases, struct {
				name string
				err  error
				want error
			}{"Closed without early close", err, errors.ErrUnsupported})
		}
		for _, c := range cases {
			if !errors.Is(c.err, c.want) {
				t.Errorf("%s: got %v, want %v", c.name, c.err, c.want)
			}
		}
		if ev, err := b.NewSignal(os.Interrupt, nop); err != nil || ev.FD() != int(syscall.SIGINT) {
			t.Errorf("NewSignal(os.Interrupt): %v", err)
		}
		// After Close everything reports ErrClosed.
		ev, _ := b.NewEvent(p0, Read, nop)
		must(t, b.Close())
		must(t, b.Close())
		for name, err := range map[string]error{
			"Add":       ev.Add(),
			"Loop":      b.Loop(0),
			"RunInLoop": b.RunInLoop(func() {}),
			"LoopExit":  b.LoopExit(0),
			"Do":        b.Do(context.Background(), func() {}),
			"NewEvent":  func() error { _, err := b.NewEvent(p0, Read, nop); return err }(),
		} {
			if !errors.Is(err, ErrClosed) {
				t.Errorf("%s after Close: %v", name, err)
			}
		}
		ev.Active(Read, 1) // ignored, no panic
		b.LoopBreak()
	})
}

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

// Close releases every kernel object the base made.
func TestCloseReleasesFDs(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		before := openFDs(t)
		for range 20 {
			b, err := New(Config{AvoidMethods: others(m)})
			must(t, err)
			ev, _ := b.NewSignal(syscall.SIGUSR1, func(int, What) {})
			must(t, ev.Add())
			go b.RunInLoop(func() {})
			must(t, b.Close())
		}
		if after := openFDs(t); after != before {
			t.Fatalf("open fds %d before, %d after", before, after)
		}
	})
}

// Close stops every goroutine the base started (the signal forwarders).
func TestCloseLeavesNoGoroutines(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		before := goleak.IgnoreCurrent()
		b, err := New(Config{AvoidMethods: others(m)})
		must(t, err)
		for _, sig := range []syscall.Signal{syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGHUP} {
			ev, err := b.NewSignal(sig, func(int, What) {})
			must(t, err)
			must(t, ev.Add())
		}
		done := make(chan error)
		go func() { done <- b.Loop(LoopNoExitOnEmpty) }()
		must(t, b.Do(context.Background(), func() {}))
		b.LoopBreak()
		must(t, <-done)
		must(t, b.Close())
		goleak.VerifyNone(t, before)
	})
}

// Close from a callback breaks the loop and completes when Loop returns.
func TestCloseFromCallback(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		b := newBase(t, m)
		ev, _ := b.NewEvent(-1, Persist, func(int, What) { must(t, b.Close()) })
		must(t, ev.AddTimeout(time.Millisecond))
		must(t, b.Dispatch())
		if err := ev.Add(); !errors.Is(err, ErrClosed) {
			t.Fatalf("Add after Close from callback: %v", err)
		}
	})
}

// Mirrors libevent test/regress.c "main/del_wait" (and "del_notify"): in Go
// another goroutine deletes an event through Do, which waits for the
// running callback to finish first and wakes the loop.
func TestDoWaitsForCallbackConcurrentSafe(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		b := newBase(t, m)
		p0, p1 := socketpair(t)
		var running, finished atomic.Bool
		var ev *Event
		ev, _ = b.NewEvent(p1, Read|Persist, func(fd int, _ What) {
			running.Store(true)
			time.Sleep(30 * time.Millisecond)
			buf := make([]byte, 64)
			unix.Read(fd, buf)
			finished.Store(true)
		})
		must(t, ev.Add())
		done := make(chan error, 1)
		go func() { done <- b.Dispatch() }()
		write(t, p0, test1)
		for !running.Load() {
			time.Sleep(time.Millisecond)
		}
		must(t, b.Do(context.Background(), func() {
			if !finished.Load() {
				t.Error("Do ran while the callback was running")
			}
			must(t, ev.Del())
		}))
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if !b.ExitedEmpty() {
			t.Fatal("loop did not exit empty after the delete")
		}
	})
}

// Do honours its context.
func TestDoContext(t *testing.T) {
	b := newBase(t, methods(t)[0])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	// No loop runs, so fn cannot run before the deadline.
	if err := b.Do(ctx, func() {}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Do without a loop: %v", err)
	}
	if err := b.Do(ctx, func() {}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Do with an expired context: %v", err)
	}
}

// Many goroutines call RunInLoop, Active and LoopBreak while the loop runs.
func TestStressConcurrentSafe(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		b := newBase(t, m)
		const workers, per = 8, 500
		var ran, activated int
		ev, _ := b.NewEvent(-1, 0, func(int, What) { activated++ })
		stop := make(chan struct{})
		loopDone := make(chan struct{})
		go func() {
			defer close(loopDone)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := b.Loop(LoopNoExitOnEmpty); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		var wg sync.WaitGroup
		var sent atomic.Int64
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range per {
					switch (w + i) % 4 {
					case 0:
						if b.RunInLoop(func() { ran++ }) == nil {
							sent.Add(1)
						}
					case 1:
						ev.Active(Read, 1)
					case 2:
						if d := time.Since(b.Now()); d < -time.Second || d > time.Minute {
							t.Errorf("Now from another goroutine is off by %v", d)
						}
					default:
						b.LoopBreak()
					}
				}
			}()
		}
		wg.Wait()
		// Stop the loop goroutine, then check every queued function ran.
		close(stop)
		for {
			b.LoopBreak()
			select {
			case <-loopDone:
			case <-time.After(time.Millisecond):
				continue
			}
			break
		}
		must(t, b.Loop(LoopNonBlock))
		if int64(ran) != sent.Load() {
			t.Fatalf("ran %d of %d functions", ran, sent.Load())
		}
		if activated == 0 {
			t.Fatal("no activation ran")
		}
	})
}

// RunInLoop from the loop goroutine does not deadlock and runs in order.
func TestRunInLoopFromLoop(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		b := newBase(t, m)
		var order []int
		must(t, b.RunInLoop(func() {
			order = append(order, 1)
			must(t, b.RunInLoop(func() { order = append(order, 3) }))
			order = append(order, 2)
		}))
		must(t, b.Dispatch())
		if fmt.Sprint(order) != "[1 2 3]" {
			t.Fatalf("order %v", order)
		}
	})
}

// A goroutine blocked-in-poll loop is woken by RunInLoop.
func TestWakeup(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		b := newBase(t, m)
		done := make(chan error)
		go func() { done <- b.Loop(LoopNoExitOnEmpty) }()
		time.Sleep(10 * time.Millisecond) // let it block
		for i := range 50 {
			must(t, b.Do(context.Background(), func() {}))
			if i == 49 {
				must(t, b.LoopExit(0))
			}
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if !b.GotExit() {
			t.Fatal("GotExit false")
		}
	})
}

// Mirrors libevent test/test-dumpevents.c: DumpEvents output format.
func TestDumpEvents(t *testing.T) {
	b := newBase(t, methods(t)[0])
	p0, _ := socketpair(t)
	common, _ := b.CommonTimeout(time.Hour)
	r, _ := b.NewEvent(p0, Read|Persist, func(int, What) {})
	must(t, r.Add())
	tm, _ := b.NewTimer(func() {})
	must(t, tm.AddTimeout(10*time.Second))
	ct, _ := b.NewTimer(func() {})
	must(t, ct.AddTimeout(common))
	sig, _ := b.NewSignal(syscall.SIGUSR1, func(int, What) {})
	must(t, sig.Add())
	act, _ := b.NewEvent(-1, 0, func(int, What) {})
	act.Active(Write|Timeout, 1)
	var buf bytes.Buffer
	must(t, b.DumpEvents(&buf))
	out := buf.String()
	for _, re := range []string{
		`(?m)^Inserted events:$`,
		fmt.Sprintf(`(?m)^  0x[0-9a-f]+ \[fd  %d\] Read Persist$`, p0),
		`(?m)^  0x[0-9a-f]+ \[fd  -1\] Timeout=\d+\.\d{6}$`,
		fmt.Sprintf(`(?m)^  0x[0-9a-f]+ \[sig %d\] Signal Persist$`, int(syscall.SIGUSR1)),
		`(?m)^Active events:$`,
		`(?m)^  0x[0-9a-f]+ \[fd  -1, priority=0\] Write Timeout active$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("dump lacks %s:\n%s", re, out)
		}
	}
	if n := len(regexp.MustCompile(`Timeout=`).FindAllString(out, -1)); n != 2 {
		t.Errorf("%d timeouts in dump, want 2 (heap and common):\n%s", n, out)
	}
	sig.Free()
}

// New honours AvoidMethods and RequireFeatures; SupportedMethods lists
// every poller in preference order. Mirrors libevent test/regress.c
// "main/methods" and "main/base_features".
func TestMethodsAndFeatures(t *testing.T) {
	all := SupportedMethods()
	if len(all) == 0 {
		t.Fatal("no methods")
	}
	b, err := New(Config{})
	must(t, err)
	if b.Method() != all[0] {
		t.Errorf("default method %s, want %s", b.Method(), all[0])
	}
	b.Close()
	b, err = New(Config{AvoidMethods: all[:1]})
	if len(all) > 1 {
		must(t, err)
		if b.Method() == all[0] {
			t.Errorf("avoided method %s chosen", all[0])
		}
		b.Close()
	}
	b, err = New(Config{RequireFeatures: FeatureFDs})
	if err == nil {
		if b.Features()&FeatureFDs == 0 {
			t.Errorf("%s lacks FDs", b.Method())
		}
		b.Close()
	}
	if s := (FeatureET | FeatureEarlyClose).String(); s != "ET|EarlyClose" {
		t.Errorf("Feature.String = %q", s)
	}
	if s := (Read | Persist | 0x200).String(); s != "Read|Persist|0x200" {
		t.Errorf("What.String = %q", s)
	}
}

// Mirrors libevent's max-dispatch configuration
// (event_config_set_max_dispatch_interval): after MaxDispatchCallbacks
// callbacks, or MaxDispatchInterval, of a limited priority the loop polls
// again; more urgent priorities run to completion. A function that queues
// itself again with RunInLoop marks the start of every turn with "|".
func TestMaxDispatch(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		pri  int // priority of the five events
		want string
	}{
		{"callbacks", Config{MaxDispatchCallbacks: 2}, 0, "|ab|cd|e|"},
		{"unlimited priority", Config{Priorities: 2, MaxDispatchCallbacks: 2, LimitCallbacksAfterPriority: 1}, 0, "|abcde|"},
		{"limited priority", Config{Priorities: 2, MaxDispatchCallbacks: 2, LimitCallbacksAfterPriority: 1}, 1, "|ab|cd|e|"},
		{"interval", Config{MaxDispatchInterval: time.Millisecond}, 0, "|a|b|c|d|e|"},
		{"none", Config{}, 0, "|abcde|"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eachMethod(t, func(t *testing.T, m string) {
				b := newBase(t, m, c.cfg)
				var log []byte
				for i := range 5 {
					ev, _ := b.NewEvent(-1, 0, func(int, What) {
						log = append(log, byte('a'+i))
						if c.cfg.MaxDispatchInterval > 0 {
							time.Sleep(2 * c.cfg.MaxDispatchInterval)
						}
					})
					must(t, ev.SetPriority(c.pri))
					ev.Active(Read, 1)
				}
				var mark func()
				mark = func() {
					log = append(log, '|')
					if len(log) < 20 && b.nActive > 0 {
						must(t, b.RunInLoop(mark))
					}
				}
				must(t, b.RunInLoop(mark))
				must(t, b.Dispatch())
				if string(log) != c.want {
					t.Fatalf("turns %q, want %q", log, c.want)
				}
			})
		})
	}
}

// Active called by a function running from RunInLoop is visible to Pending
// and cancelled by Del right away, as from a callback.
func TestActiveInsideRunInLoop(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		b := newBase(t, m)
		ran := 0
		ev, _ := b.NewEvent(-1, 0, func(int, What) { ran++ })
		ev2, _ := b.NewEvent(-1, 0, func(int, What) { t.Error("deleted activation ran") })
		must(t, b.RunInLoop(func() {
			ev.Active(Read, 1)
			if p, _ := ev.Pending(Read); p != Read {
				t.Errorf("Pending after Active = %v", p)
			}
			ev2.Active(Read, 1)
			must(t, ev2.Del())
			must(t, b.RunInLoop(func() { ev.Active(Write, 1) }))
		}))
		must(t, b.Dispatch())
		if ran != 2 {
			t.Fatalf("callback ran %d times, want 2", ran)
		}
	})
}

// Mirrors libevent test/regress.c "main/del_timeout_notify": deleting (via
// Do) the only event, a persistent 5 s timer, from another goroutine wakes
// the blocked loop, which then exits for lack of events.
func TestDelTimeoutNotifyConcurrentSafe(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		b := newBase(t, m)
		ev, _ := b.NewEvent(-1, Persist, func(int, What) {})
		must(t, ev.AddTimeout(5*time.Second))
		done := make(chan error)
		go func() { done <- b.Dispatch() }()
		time.Sleep(10 * time.Millisecond) // let the loop block
		start := time.Now()
		must(t, b.Do(context.Background(), func() { must(t, ev.Del()) }))
		select {
		case err := <-done:
			must(t, err)
		case <-time.After(4 * time.Second):
			t.Fatal("loop still blocked after the delete")
		}
		if !b.ExitedEmpty() {
			t.Fatalf("loop did not exit empty (after %v)", time.Since(start))
		}
	})
}

type fakeSignal struct{}

func (fakeSignal) String() string { return "fake" }
func (fakeSignal) Signal()        {}

// A base dropped without Close releases its descriptors when collected.
func TestDroppedBaseReleasesFDs(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		before := openFDs(t)
		for range 10 {
			b, err := New(Config{AvoidMethods: others(m)})
			must(t, err)
			ev, _ := b.NewTimer(func() {})
			must(t, ev.AddTimeout(time.Hour))
		}
		for range 20 {
			runtime.GC()
			if openFDs(t) == before {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("open fds %d before, %d after dropping bases", before, openFDs(t))
	})
}

// Up to 256 common timeouts (libevent's MAX_COMMON_TIMEOUTS); past the
// first few they are found through a map.
func TestManyCommonTimeouts(t *testing.T) {
	b := newBase(t, methods(t)[0])
	for i := 1; i <= maxCommonTimeouts; i++ {
		if _, err := b.CommonTimeout(time.Duration(i) * time.Microsecond); err != nil {
			t.Fatalf("common timeout %d: %v", i, err)
		}
	}
	if _, err := b.CommonTimeout(time.Hour); !errors.Is(err, ErrTooManyCommon) {
		t.Fatalf("257th common timeout: %v", err)
	}
	if _, err := b.CommonTimeout(3 * time.Microsecond); err != nil {
		t.Fatalf("registering an existing duration again: %v", err)
	}
	fired := 0
	for i := 1; i <= 300; i++ {
		ev, _ := b.NewTimer(func() { fired++ })
		must(t, ev.AddTimeout(time.Duration(i)*time.Microsecond))
		if ct := ev.ct; (i <= maxCommonTimeouts) != (ct != nil) {
			t.Fatalf("timeout %dµs: common list %v", i, ct)
		}
	}
	must(t, b.checkInvariants())
	must(t, b.Dispatch())
	if fired != 300 {
		t.Fatalf("fired %d", fired)
	}
}

// Virtual events keep Dispatch running with nothing in the poller, as
// outstanding completion-based operations do.
func TestAddVirtual(t *testing.T) {
	eachMethod(t, func(t *testing.T, m string) {
		b := newBase(t, m)
		b.AddVirtual(1)
		finished := false
		go func() {
			time.Sleep(10 * time.Millisecond)
			b.RunInLoop(func() {
				finished = true
				b.AddVirtual(-1)
			})
		}()
		must(t, b.Dispatch())
		if !finished || !b.ExitedEmpty() {
			t.Fatalf("Dispatch returned before the virtual event ended (finished=%v)", finished)
		}
		b.AddVirtual(-5) // clamps at zero
		must(t, b.Loop(0))
		if !b.ExitedEmpty() {
			t.Fatal("negative virtual count kept the loop alive")
		}
	})
}
