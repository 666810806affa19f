//go:build linux

package async

import "testing"

// TestOwnerIDs checks the ring's owner table: ids are unique among live owners, a
// forgotten owner's id finds nothing (also once its slot is reused by a new owner, which
// gets a new generation), ids fit the user data beside the kind, and a completion for a
// forgotten owner is dropped while the new owner of the slot gets its own.
func TestOwnerIDs(t *testing.T) {
	var lr loopRing
	owners := make([]*portOwner, 5)
	ids := make([]uint64, len(owners))
	seen := map[uint64]bool{}
	for i := range owners {
		owners[i] = &portOwner{}
		ids[i] = lr.newID(owners[i])
		if seen[ids[i]] || ids[i] == 0 {
			t.Fatalf("id %#x repeated or zero", ids[i])
		}
		seen[ids[i]] = true
		if ids[i]<<kindBits>>kindBits != ids[i] {
			t.Fatalf("id %#x does not fit beside the kind", ids[i])
		}
	}
	for i, id := range ids {
		if lr.lookup(id) != owner(owners[i]) {
			t.Fatalf("lookup(%#x) is not owner %d", id, i)
		}
	}
	lr.forget(ids[2])
	lr.forget(ids[2]) // twice: nothing more
	if lr.lookup(ids[2]) != nil {
		t.Fatal("a forgotten owner is still found")
	}
	o := &portOwner{}
	id := lr.newID(o) // reuses the slot of owner 2
	if uint32(id) != uint32(ids[2]) || id == ids[2] {
		t.Fatalf("new id %#x: want owner 2's slot (%#x) with a new generation", id, ids[2])
	}
	if lr.lookup(ids[2]) != nil || lr.lookup(id) != owner(o) {
		t.Fatal("the old id finds the new owner, or the new id does not")
	}
	lr.onCompletion(ids[2]<<kindBits|kindRead, 7, 0) // stale: dropped
	lr.onCompletion(id<<kindBits|kindRead, 8, 0)
	if len(owners[2].got) != 0 || len(o.got) != 1 || o.got[0] != 8 {
		t.Fatalf("completions: old owner %v, new owner %v; want none and [8]", owners[2].got, o.got)
	}
	if lr.lookup(1<<40|999) != nil {
		t.Fatal("an id past the table finds an owner")
	}
}
