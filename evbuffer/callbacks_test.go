package evbuffer

import (
	"slices"
	"testing"
)

// TestCallbackEnabledCount checks that the cached count of enabled callbacks
// (and the sole-callback fast path it feeds) follows every way a callback is
// added, enabled, disabled and removed, inside and outside a run.
func TestCallbackEnabledCount(t *testing.T) {
	type op = cbOp
	tests := []struct {
		name string
		ops  []op
		want []int // callbacks called by the last write, in order
	}{
		{"one", []op{{"add", 0}, {"write", 0}}, []int{0}},
		{"two newest first", []op{{"add", 0}, {"add", 1}, {"write", 0}}, []int{1, 0}},
		{"disabled skipped", []op{{"add", 0}, {"add", 1}, {"off", 1}, {"write", 0}}, []int{0}},
		{"all disabled", []op{{"add", 0}, {"off", 0}, {"write", 0}}, nil},
		{"disable twice", []op{{"add", 0}, {"add", 1}, {"off", 0}, {"off", 0}, {"write", 0}}, []int{1}},
		{"re-enabled", []op{{"add", 0}, {"add", 1}, {"off", 0}, {"on", 0}, {"write", 0}}, []int{1, 0}},
		{"enable twice", []op{{"add", 0}, {"on", 0}, {"add", 1}, {"off", 1}, {"write", 0}}, []int{0}},
		{"removed", []op{{"add", 0}, {"add", 1}, {"rm", 0}, {"write", 0}}, []int{1}},
		{"removed disabled", []op{{"add", 0}, {"add", 1}, {"off", 1}, {"rm", 1}, {"write", 0}}, []int{0}},
		{"enable after remove", []op{{"add", 0}, {"add", 1}, {"rm", 1}, {"off", 1}, {"on", 1}, {"write", 0}}, []int{0}},
		{"none left", []op{{"add", 0}, {"rm", 0}, {"write", 0}}, nil},
	}
	// Each case runs with functions (AddCallback), Notifiers (AddNotifier)
	// and both alternating: the two kinds share one list and one order.
	for _, mode := range []string{"func", "notifier", "mixed"} {
		for _, tt := range tests {
			t.Run(mode+"/"+tt.name, func(t *testing.T) { testEnabledCount(t, mode, tt.ops, tt.want) })
		}
	}
}

// recordNotifier is a Notifier appending its index to a log.
type recordNotifier struct {
	idx int
	log *[]int
}

func (r *recordNotifier) BufferChanged(*Buffer, CallbackInfo) { *r.log = append(*r.log, r.idx) }

// cbOp is one step of TestCallbackEnabledCount.
type cbOp struct {
	kind string // "add", "on", "off", "rm", "write"
	idx  int
}

// testEnabledCount runs ops on a new buffer, registering functions or
// Notifiers as mode says, and checks the last write's calls and cbOn.
func testEnabledCount(t *testing.T, mode string, ops []cbOp, want []int) {
	b := New()
	var cbs []*Callback
	var got []int
	for _, o := range ops {
		switch o.kind {
		case "add":
			i := o.idx
			if mode == "notifier" || (mode == "mixed" && i%2 == 1) {
				cbs = append(cbs, b.AddNotifier(&recordNotifier{idx: i, log: &got}))
			} else {
				cbs = append(cbs, b.AddCallback(func(*Buffer, CallbackInfo) { got = append(got, i) }))
			}
		case "on":
			cbs[o.idx].SetEnabled(true)
		case "off":
			cbs[o.idx].SetEnabled(false)
		case "rm":
			_ = b.RemoveCallback(cbs[o.idx])
		case "write":
			got = nil
			b.AddString("x")
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("called %v, want %v", got, want)
	}
	n := 0
	for _, c := range cbs {
		if c.Enabled() {
			n++
		}
	}
	if int(b.cbOn) != n {
		t.Fatalf("cbOn = %d, want %d", b.cbOn, n)
	}
}

// TestSoleCallbackChangesInside covers the single-callback path when the
// callback removes itself, adds another, or disables itself during the run.
func TestSoleCallbackChangesInside(t *testing.T) {
	b := New()
	var calls []string
	var self *Callback
	self = b.AddCallback(func(b *Buffer, info CallbackInfo) {
		calls = append(calls, "self")
		if err := b.RemoveCallback(self); err != nil {
			t.Errorf("RemoveCallback inside: %v", err)
		}
		b.AddCallback(func(*Buffer, CallbackInfo) { calls = append(calls, "new") })
	})
	b.AddString("a")
	if !slices.Equal(calls, []string{"self"}) {
		t.Fatalf("first run called %v, want [self]", calls)
	}
	if len(b.ext.cbs) != 1 || b.cbOn != 1 || b.cbSole == nil || b.ext.cbs[0] == self {
		t.Fatalf("after the run: %d callbacks, %d enabled, sole %v", len(b.ext.cbs), b.cbOn, b.cbSole)
	}
	calls = nil
	b.AddString("b")
	if !slices.Equal(calls, []string{"new"}) {
		t.Fatalf("second run called %v, want [new]", calls)
	}
	var off *Callback
	c := New()
	n := 0
	off = c.AddCallback(func(*Buffer, CallbackInfo) { n++; off.SetEnabled(false) })
	c.AddString("a")
	c.AddString("b")
	if n != 1 || c.cbOn != 0 || c.cbSole != nil {
		t.Fatalf("self-disabling callback ran %d times (cbOn %d)", n, c.cbOn)
	}
	off.SetEnabled(true)
	c.AddString("c")
	if n != 2 {
		t.Fatalf("re-enabled callback ran %d times in total, want 2", n)
	}
}

// An AddsOnly callback is skipped for removals alone; the removals it skipped
// show in the next run's Deleted unless another callback ran in between.
func TestCallbackAddsOnly(t *testing.T) {
	type step struct {
		op   string // "add", "drain", "defer-run"
		n    int
		want []CallbackInfo // the AddsOnly callback's calls
	}
	tests := []struct {
		name     string
		other    bool // a second, ordinary callback
		deferred bool
		steps    []step
	}{
		{"sole", false, false, []step{
			{"add", 5, []CallbackInfo{{0, 5, 0}}},
			{"drain", 2, nil},
			{"drain", 1, nil},
			{"add", 4, []CallbackInfo{{5, 4, 3}}},
		}},
		{"with another callback", true, false, []step{
			{"add", 5, []CallbackInfo{{0, 5, 0}}},
			{"drain", 2, nil}, // the other one runs: the counters restart
			{"add", 4, []CallbackInfo{{3, 4, 0}}},
		}},
		{"deferred", false, true, []step{
			{"add", 5, nil},
			{"defer-run", 0, []CallbackInfo{{0, 5, 0}}},
			{"drain", 2, nil},
			{"defer-run", 0, nil},
			{"add", 1, nil},
			{"defer-run", 0, []CallbackInfo{{5, 1, 2}}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New()
			var d queueDeferrer
			if tt.deferred {
				b.DeferCallbacks(&d)
			}
			var got []CallbackInfo
			others := 0
			if tt.other {
				b.AddCallback(func(*Buffer, CallbackInfo) { others++ })
			}
			c := b.AddCallback(func(_ *Buffer, info CallbackInfo) { got = append(got, info) })
			c.SetAddsOnly(true)
			if !c.AddsOnly() {
				t.Fatal("AddsOnly() = false after SetAddsOnly(true)")
			}
			for i, s := range tt.steps {
				got = nil
				switch s.op {
				case "add":
					b.Add(make([]byte, s.n))
				case "drain":
					if err := b.Drain(s.n); err != nil {
						t.Fatal(err)
					}
				case "defer-run":
					d.run()
				}
				if !slices.Equal(got, s.want) {
					t.Fatalf("step %d (%s %d): calls %v, want %v", i, s.op, s.n, got, s.want)
				}
			}
			if tt.other && others == 0 {
				t.Fatal("the ordinary callback never ran")
			}
			// Back to an ordinary callback: removals run it again.
			c.SetAddsOnly(false)
			got = nil
			if err := b.Drain(1); err != nil {
				t.Fatal(err)
			}
			if tt.deferred {
				d.run()
			}
			if len(got) != 1 || got[0].Deleted == 0 {
				t.Fatalf("after SetAddsOnly(false) a drain gave calls %v, want one with Deleted > 0", got)
			}
		})
	}
}

// Removals skipped by a sole AddsOnly callback are its own business: a
// callback registered, or re-enabled, after them must not see them. Each
// gets what libevent reports, the changes made since it could run: a
// disabled callback misses the changes made meanwhile (SetEnabled), a new
// one sees none made before it was registered. Before, the counters of the
// skipped removals reached it: {OrigSize 5, Added 1, Deleted 5} for a buffer
// that held nothing when the callback came and got one byte.
func TestCallbackAddsOnlyPendingRemovals(t *testing.T) {
	for _, how := range []string{"registered", "re-enabled"} {
		t.Run(how, func(t *testing.T) {
			b := New()
			a := b.AddCallback(func(*Buffer, CallbackInfo) {})
			a.SetAddsOnly(true)
			var got []CallbackInfo
			record := func(_ *Buffer, info CallbackInfo) { got = append(got, info) }
			var c *Callback
			switch how {
			case "re-enabled":
				c = b.AddCallback(record)
				c.SetEnabled(false)
			}
			b.AddString("hello")
			if err := b.Drain(5); err != nil { // skipped: AddsOnly alone
				t.Fatal(err)
			}
			got = nil
			switch how {
			case "registered":
				b.AddCallback(record)
			case "re-enabled":
				c.SetEnabled(true)
			}
			b.AddString("x")
			if want := (CallbackInfo{OrigSize: 0, Added: 1, Deleted: 0}); len(got) != 1 || got[0] != want {
				t.Fatalf("calls %v, want [%v]", got, want)
			}
		})
	}
}
