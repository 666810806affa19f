//go:build linux

package uring

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// endState follows one end of a socketpair: at most one send and one receive in flight,
// and every byte the kernel reported sent or received.
type endState struct {
	fd               int
	sendUD, recvUD   uint64 // 0 when none in flight
	sendBuf, recvBuf []byte
	sent, received   []byte
}

// TestRandomOps drives a small ring (so the submission queue fills and the completion
// queue overflows) with random sequences of sends, receives, no-ops, timeouts, linked
// timeouts, cancellations, submissions, reaps, garbage collections and drains, and checks
// the ring's invariants: every operation completes exactly once, the bytes received on
// each end are a prefix of the bytes sent by its peer, and nothing is outstanding at the
// end.
func TestRandomOps(t *testing.T) {
	steps := 1500
	if testing.Short() {
		steps = 300
	}
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 42))
			r := newRing(t, 8, WithCQEntries(8))
			var ends []*endState
			for i := 0; i < 3; i++ {
				a, b := socketpair(t)
				ends = append(ends, &endState{fd: a}, &endState{fd: b})
			}
			peer := func(i int) *endState { return ends[i^1] }
			outstanding := map[uint64]string{}
			nextUD := uint64(1)
			newUD := func(kind string) uint64 {
				ud := nextUD
				nextUD++
				outstanding[ud] = kind
				return ud
			}
			onCQE := func(ud uint64, res int32, flags uint32) {
				kind, ok := outstanding[ud]
				if !ok {
					t.Fatalf("completion for unknown or finished op %d (res %d)", ud, res)
				}
				delete(outstanding, ud)
				for _, e := range ends {
					switch ud {
					case e.sendUD:
						e.sendUD = 0
						if res > 0 {
							e.sent = append(e.sent, e.sendBuf[:res]...)
						}
					case e.recvUD:
						e.recvUD = 0
						if res > 0 {
							e.received = append(e.received, e.recvBuf[:res]...)
						}
					}
				}
				if res < 0 {
					switch unix.Errno(-res) {
					case unix.ECANCELED, unix.ETIME, unix.EINTR, unix.ENOENT, unix.EALREADY:
					default:
						t.Errorf("%s op %d: unexpected %v", kind, ud, unix.Errno(-res))
					}
				}
			}
			prep := func(err error, ud uint64) bool {
				if err != nil {
					delete(outstanding, ud)
					if !errors.Is(err, ErrSQFull) {
						t.Fatalf("prep: %v", err)
					}
					return false
				}
				return true
			}
			for step := 0; step < steps; step++ {
				i := rng.IntN(len(ends))
				e := ends[i]
				switch rng.IntN(12) {
				case 0, 1: // send
					if e.sendUD == 0 {
						n := 1 + rng.IntN(3000)
						e.sendBuf = make([]byte, n)
						for k := range e.sendBuf {
							e.sendBuf[k] = byte(rng.Uint32())
						}
						ud := newUD("send")
						if prep(r.PrepSend(ud, e.fd, e.sendBuf, 0), ud) {
							e.sendUD = ud
						}
					}
				case 2, 3: // receive
					if e.recvUD == 0 {
						e.recvBuf = make([]byte, 1+rng.IntN(4000))
						ud := newUD("recv")
						if prep(r.PrepRecv(ud, e.fd, e.recvBuf, 0), ud) {
							e.recvUD = ud
						}
					}
				case 4: // receive with a linked timeout
					if e.recvUD == 0 && r.Reserve(2) == nil {
						e.recvBuf = make([]byte, 1+rng.IntN(4000))
						ud := newUD("recv")
						if !prep(r.PrepRecv(ud, e.fd, e.recvBuf, 0), ud) {
							break
						}
						e.recvUD = ud
						if err := r.SetLastFlags(FlagLink); err != nil {
							t.Fatal(err)
						}
						tud := newUD("link-timeout")
						prep(r.PrepLinkTimeout(tud, time.Duration(rng.IntN(2000))*time.Microsecond), tud)
					}
				case 5:
					ud := newUD("nop")
					prep(r.PrepNop(ud), ud)
				case 6:
					ud := newUD("timeout")
					prep(r.PrepTimeout(ud, time.Duration(rng.IntN(1000))*time.Microsecond), ud)
				case 7: // cancel something outstanding, maybe already finished
					target := uint64(rng.IntN(int(nextUD)))
					ud := newUD("cancel")
					prep(r.PrepCancel(ud, target, false), ud)
				case 8, 9:
					if _, err := r.Submit(); err != nil {
						t.Fatal(err)
					}
				case 10:
					if _, err := r.Reap(onCQE); err != nil {
						t.Fatal(err)
					}
				case 11:
					switch rng.IntN(20) {
					case 0:
						runtime.GC()
					case 1:
						if err := r.Drain(2*time.Second, onCQE); err != nil {
							t.Fatal(err)
						}
					default:
						if _, err := r.SubmitAndWait(1, time.Millisecond); err != nil {
							t.Fatal(err)
						}
					}
				}
				if r.InFlight() != len(outstanding) {
					t.Fatalf("step %d: ring counts %d outstanding, test %d", step, r.InFlight(), len(outstanding))
				}
			}
			if err := r.Drain(5*time.Second, onCQE); err != nil {
				t.Fatal(err)
			}
			if len(outstanding) != 0 || r.InFlight() != 0 {
				t.Fatalf("after Drain: %d outstanding (%v), ring says %d", len(outstanding), outstanding, r.InFlight())
			}
			total := 0
			for _, e := range ends {
				total += len(e.received)
			}
			t.Logf("%d operations, %d bytes received", nextUD-1, total)
			for k, e := range ends {
				if p := peer(k); !bytes.HasPrefix(p.sent, e.received) {
					t.Errorf("end %d received %d bytes that are not a prefix of the %d its peer sent", k, len(e.received), len(p.sent))
				}
			}
		})
	}
}
