//go:build linux

package uring

// opTable maps user data to the slots of the operations prepared or in flight. It takes
// the place of a Go map on the per-operation path (one lookup when an operation is
// prepared, one insertion, one lookup and one deletion when it completes): open
// addressing over a power-of-two array of 16-byte entries, Fibonacci hashing, linear
// probing and backward-shift deletion (no tombstones), kept at most half full. See
// "Operation tables" in the async package's doc.go for what it saved.
type opTable struct {
	e     []opEntry
	n     int
	shift uint // 64 - log2(len(e))
}

// opEntry is one cell: slot nil marks it free.
type opEntry struct {
	ud   uint64
	slot *opSlot
}

// minOpTable is the initial size of a table.
const minOpTable = 64

// newOpTable returns an empty table.
func newOpTable() opTable {
	return opTable{e: make([]opEntry, minOpTable), shift: 64 - 6}
}

// home is the cell where ud's probe starts.
func (t *opTable) home(ud uint64) uint64 { return (ud * 0x9E3779B97F4A7C15) >> t.shift }

// len returns the number of operations in the table.
func (t *opTable) len() int { return t.n }

// get returns ud's slot, or nil.
func (t *opTable) get(ud uint64) *opSlot {
	if t.n == 0 {
		return nil
	}
	mask := uint64(len(t.e) - 1)
	for i := t.home(ud); ; i = (i + 1) & mask {
		e := &t.e[i]
		if e.slot == nil || e.ud == ud {
			return e.slot
		}
	}
}

// put adds ud with its slot; ud must not be in the table.
func (t *opTable) put(ud uint64, s *opSlot) {
	if len(t.e) == 0 {
		*t = newOpTable()
	}
	if 2*(t.n+1) > len(t.e) {
		t.grow()
	}
	mask := uint64(len(t.e) - 1)
	for i := t.home(ud); ; i = (i + 1) & mask {
		if e := &t.e[i]; e.slot == nil {
			e.ud, e.slot = ud, s
			t.n++
			return
		}
	}
}

// del removes ud and returns its slot, or nil if ud is not in the table.
func (t *opTable) del(ud uint64) *opSlot {
	if t.n == 0 {
		return nil
	}
	mask := uint64(len(t.e) - 1)
	i := t.home(ud)
	for ; ; i = (i + 1) & mask {
		e := &t.e[i]
		if e.slot == nil {
			return nil
		}
		if e.ud == ud {
			break
		}
	}
	s := t.e[i].slot
	// Backward shift: move later entries of the run into the hole when the hole lies on
	// their probe path (between their home cell and where they sit).
	for j := (i + 1) & mask; t.e[j].slot != nil; j = (j + 1) & mask {
		k := t.home(t.e[j].ud)
		if (j-k)&mask >= (j-i)&mask {
			t.e[i] = t.e[j]
			i = j
		}
	}
	t.e[i] = opEntry{}
	t.n--
	return s
}

// grow doubles the table.
func (t *opTable) grow() {
	old := t.e
	t.e = make([]opEntry, 2*len(old))
	t.shift--
	t.n = 0
	for _, e := range old {
		if e.slot != nil {
			t.put(e.ud, e.slot)
		}
	}
}

// each calls fn for every entry; fn must not change the table.
func (t *opTable) each(fn func(ud uint64, s *opSlot)) {
	for _, e := range t.e {
		if e.slot != nil {
			fn(e.ud, e.slot)
		}
	}
}
