//go:build linux

package uring

import (
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestPollAddAndWait: a one-shot poll of a pipe, waited for with Wait: the wait times out
// while the pipe is empty, returns once it is readable, the completion is seen by Ready
// and Waiting without being taken, and Reap then delivers it with the ready events. The
// poll fires once: a second Wait with the pipe still readable times out. Wait(0, ...)
// never blocks.
func TestPollAddAndWait(t *testing.T) {
	for _, single := range []bool{false, true} {
		t.Run(map[bool]string{false: "default", true: "single-issuer"}[single], func(t *testing.T) {
			var opts []Option
			if single {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				opts = append(opts, WithSingleIssuer())
			}
			r, err := New(8, opts...)
			if err != nil {
				if single {
					t.Skipf("single-issuer ring: %v", err)
				}
				t.Fatal(err)
			}
			defer r.Close()
			if r.SingleIssuer() != single {
				t.Fatalf("SingleIssuer() = %v, want %v", r.SingleIssuer(), single)
			}
			var p [2]int
			if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
				t.Fatal(err)
			}
			defer unix.Close(p[0])
			defer unix.Close(p[1])
			if err := r.PrepPollAdd(7, p[0], unix.POLLIN); err != nil {
				t.Fatal(err)
			}
			// A signal may cut a wait short (not an error): of three attempts, one must
			// last the timeout.
			var d time.Duration
			for range 3 {
				start := time.Now()
				if err := r.Wait(1, 20*time.Millisecond); err != nil {
					t.Fatal(err)
				}
				if d = time.Since(start); d >= 15*time.Millisecond {
					break
				}
			}
			if d < 15*time.Millisecond {
				t.Fatalf("Wait returned after %v with nothing ready; want the 20ms timeout", d)
			}
			if r.Ready() != 0 || r.Waiting(7) {
				t.Fatalf("Ready %d, Waiting %v with the pipe empty", r.Ready(), r.Waiting(7))
			}
			if err := r.Wait(0, -1); err != nil {
				t.Fatalf("Wait(0): %v", err)
			}
			go func() {
				time.Sleep(10 * time.Millisecond)
				unix.Write(p[1], []byte("x"))
			}()
			if err := r.Wait(1, -1); err != nil {
				t.Fatal(err)
			}
			if r.Ready() != 1 || !r.Waiting(7) || r.Waiting(8) {
				t.Fatalf("after the write: Ready %d, Waiting(7) %v, Waiting(8) %v", r.Ready(), r.Waiting(7), r.Waiting(8))
			}
			type polled struct {
				ud  uint64
				res int32
			}
			var got []polled
			if _, err := r.Reap(func(ud uint64, res int32, _ uint32) {
				got = append(got, polled{ud, res})
			}); err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].ud != 7 || got[0].res&unix.POLLIN == 0 {
				t.Fatalf("completions %+v; want user data 7 with POLLIN", got)
			}
			if r.InFlight() != 0 {
				t.Fatalf("%d operations in flight after the poll completed", r.InFlight())
			}
			// One-shot: nothing more without a new poll, though the pipe stays readable.
			if err := r.Wait(1, 20*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if r.Ready() != 0 {
				t.Fatalf("Ready %d after a one-shot poll completed", r.Ready())
			}
			// Re-armed on a readable pipe, it completes at once.
			if err := r.PrepPollAdd(9, p[0], unix.POLLIN); err != nil {
				t.Fatal(err)
			}
			if err := r.Wait(1, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			if !r.Waiting(9) {
				t.Fatal("poll re-armed on a readable pipe did not complete")
			}
			r.Reap(nil)
		})
	}
}
