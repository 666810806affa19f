//go:build linux

package uring

import (
	"math/rand/v2"
	"testing"
)

// TestOpTable runs random insertions, lookups and deletions against a Go map, with keys
// shaped like the async backend's user data (an id shifted left, a small kind) and keys
// that collide in their home cell, through several growths and back to empty.
func TestOpTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  func(r *rand.Rand) uint64
	}{
		{"user data", func(r *rand.Rand) uint64 { return uint64(r.IntN(3000))<<4 | uint64(r.IntN(6)) }},
		{"random", func(r *rand.Rand) uint64 { return r.Uint64() % 5000 }},
		{"wide", func(r *rand.Rand) uint64 { return r.Uint64() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			tab := newOpTable()
			model := map[uint64]*opSlot{}
			for step := range 200000 {
				k := tc.key(r)
				switch op := r.IntN(3); {
				case op == 0 && model[k] == nil && len(model) < 4000:
					s := new(opSlot)
					tab.put(k, s)
					model[k] = s
				case op == 1:
					if got, want := tab.del(k), model[k]; got != want {
						t.Fatalf("step %d: del(%d) = %p, want %p", step, k, got, want)
					}
					delete(model, k)
				default:
					if got, want := tab.get(k), model[k]; got != want {
						t.Fatalf("step %d: get(%d) = %p, want %p", step, k, got, want)
					}
				}
				if tab.len() != len(model) {
					t.Fatalf("step %d: len %d, want %d", step, tab.len(), len(model))
				}
			}
			seen := 0
			tab.each(func(ud uint64, s *opSlot) {
				if model[ud] != s {
					t.Fatalf("each: %d -> %p, want %p", ud, s, model[ud])
				}
				seen++
			})
			if seen != len(model) {
				t.Fatalf("each saw %d entries, want %d", seen, len(model))
			}
			for k := range model {
				if tab.del(k) == nil {
					t.Fatalf("del(%d) found nothing", k)
				}
			}
			if tab.len() != 0 {
				t.Fatalf("len %d after deleting everything", tab.len())
			}
			for _, e := range tab.e {
				if e.slot != nil {
					t.Fatal("a cell still holds a slot")
				}
			}
		})
	}
	var empty opTable // a closed ring's table
	if empty.get(1) != nil || empty.del(1) != nil || empty.len() != 0 {
		t.Fatal("the zero table is not empty")
	}
}
