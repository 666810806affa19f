package backend_test

import (
	"testing"

	"github.com/bufev/bufev/bufferevent/backend"
)

func TestStrings(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"Direction(0)", backend.Direction(0).String(), "0"},
		{"Read", backend.Read.String(), "Read"},
		{"Write", backend.Write.String(), "Write"},
		{"ReadWrite", backend.ReadWrite.String(), "Read|Write"},
		{"Events(0)", backend.Events(0).String(), "0"},
		{"Reading|EOF", (backend.Reading | backend.EOF).String(), "Reading|EOF"},
		{"all named", (backend.Reading | backend.Writing | backend.EOF | backend.Error | backend.Timeout | backend.Connected).String(), "Reading|Writing|EOF|Error|Timeout|Connected"},
		{"unknown bits", (backend.Timeout | 0x0300).String(), "Timeout|0x0300"},
		{"Normal", backend.Normal.String(), "Normal"},
		{"Flush", backend.Flush.String(), "Flush"},
		{"Finished", backend.Finished.String(), "Finished"},
		{"bad mode", backend.FlushMode(-3).String(), "FlushMode(-3)"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: String() = %q; want %q", tt.name, tt.got, tt.want)
		}
	}
}

// The bit values are libevent's.
func TestLibeventValues(t *testing.T) {
	checks := []struct {
		name      string
		got, want uint32
	}{
		{"EV_READ", uint32(backend.Read), 0x02},
		{"EV_WRITE", uint32(backend.Write), 0x04},
		{"BEV_EVENT_READING", uint32(backend.Reading), 0x01},
		{"BEV_EVENT_WRITING", uint32(backend.Writing), 0x02},
		{"BEV_EVENT_EOF", uint32(backend.EOF), 0x10},
		{"BEV_EVENT_ERROR", uint32(backend.Error), 0x20},
		{"BEV_EVENT_TIMEOUT", uint32(backend.Timeout), 0x40},
		{"BEV_EVENT_CONNECTED", uint32(backend.Connected), 0x80},
		{"BEV_OPT_CLOSE_ON_FREE", uint32(backend.CloseOnFree), 1},
		{"BEV_OPT_THREADSAFE", uint32(backend.ThreadSafe), 2},
		{"BEV_OPT_DEFER_CALLBACKS", uint32(backend.DeferCallbacks), 4},
		{"BEV_OPT_UNLOCK_CALLBACKS", uint32(backend.UnlockCallbacks), 8},
		{"BEV_TRIG_IGNORE_WATERMARKS", uint32(backend.IgnoreWatermarks), 1 << 16},
		{"BEV_TRIG_DEFER_CALLBACKS", uint32(backend.TriggerDefer), 4},
		{"BEV_SUSPEND_WM", uint32(backend.SuspendWatermark), 0x01},
		{"BEV_SUSPEND_BW", uint32(backend.SuspendBandwidth), 0x02},
		{"BEV_SUSPEND_BW_GROUP", uint32(backend.SuspendGroup), 0x04},
		{"BEV_SUSPEND_LOOKUP", uint32(backend.SuspendLookup), 0x08},
		{"BEV_SUSPEND_FILT_READ", uint32(backend.SuspendFilter), 0x10},
		{"BEV_NORMAL", uint32(backend.Normal), 0},
		{"BEV_FLUSH", uint32(backend.Flush), 1},
		{"BEV_FINISHED", uint32(backend.Finished), 2},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %#x; want %#x", c.name, c.got, c.want)
		}
	}
}

func TestOptionsValid(t *testing.T) {
	tests := []struct {
		o    backend.Options
		want bool
	}{
		{0, true},
		{backend.CloseOnFree | backend.ThreadSafe, true},
		{backend.DeferCallbacks | backend.UnlockCallbacks, true},
		{backend.UnlockCallbacks, false}, // libevent: "UNLOCK_CALLBACKS requires DEFER_CALLBACKS"
		{0x10, false},
		{0x8000 | backend.CloseOnFree, false},
	}
	for _, tt := range tests {
		if got := tt.o.Valid(); got != tt.want {
			t.Errorf("Options(%#x).Valid() = %v; want %v", uint16(tt.o), got, tt.want)
		}
	}
}
