package ratelimit

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestNewConfig(t *testing.T) {
	const intMax = math.MaxInt32
	sec := func(s int64) time.Duration { return time.Duration(s) * time.Second }
	tests := []struct {
		name           string
		rr, rb, wr, wb int64
		tick           time.Duration
		wantErr        error
		wantTick       time.Duration
	}{
		// Mirrors libevent test/regress_bufferevent.c "bufferevent_ratelimit_div_by_zero".
		{name: "zero tick", rr: 1, rb: 1, wr: 1, wb: 1, tick: 0, wantErr: ErrInvalidTick},
		// Mirrors libevent test/regress_bufferevent.c "bufferevent_ratelimit_overflow": the
		// six timevals it tries. {LONG_MAX, 0} does not fit a Duration; the longest Duration
		// stands in for it.
		{name: "overflow LONG_MAX", rr: 1, rb: 1, wr: 1, wb: 1, tick: math.MaxInt64, wantErr: ErrInvalidTick},
		{name: "overflow UINT_MAX-1", rr: 1, rb: 1, wr: 1, wb: 1, tick: sec(math.MaxUint32 - 1), wantErr: ErrInvalidTick},
		{name: "overflow INT_MAX", rr: 1, rb: 1, wr: 1, wb: 1, tick: sec(intMax), wantErr: ErrInvalidTick},
		{name: "overflow INT_MAX/1000+1", rr: 1, rb: 1, wr: 1, wb: 1, tick: sec(intMax/1000 + 1), wantErr: ErrInvalidTick},
		{name: "INT_MAX/1000", rr: 1, rb: 1, wr: 1, wb: 1, tick: sec(intMax / 1000), wantTick: sec(intMax / 1000)},
		{name: "INT_MAX/1000-1", rr: 1, rb: 1, wr: 1, wb: 1, tick: sec(intMax/1000 - 1), wantTick: sec(intMax/1000 - 1)},
		// The rest of ev_token_bucket_cfg_new's checks.
		{name: "MaxTick", rr: 1, rb: 1, wr: 1, wb: 1, tick: MaxTick, wantTick: MaxTick},
		{name: "MaxTick+999us truncated", rr: 1, rb: 1, wr: 1, wb: 1, tick: MaxTick + 999*time.Microsecond, wantTick: MaxTick},
		{name: "negative tick", rr: 1, rb: 1, wr: 1, wb: 1, tick: -time.Millisecond, wantErr: ErrInvalidTick},
		{name: "min negative tick", rr: 1, rb: 1, wr: 1, wb: 1, tick: math.MinInt64, wantErr: ErrInvalidTick},
		{name: "sub-millisecond tick", rr: 1, rb: 1, wr: 1, wb: 1, tick: 999 * time.Microsecond, wantErr: ErrInvalidTick},
		{name: "1ns tick", rr: 1, rb: 1, wr: 1, wb: 1, tick: 1, wantErr: ErrInvalidTick},
		{name: "1ms tick", rr: 1, rb: 1, wr: 1, wb: 1, tick: time.Millisecond, wantTick: time.Millisecond},
		{name: "fraction dropped", rr: 1, rb: 1, wr: 1, wb: 1, tick: 1500 * time.Microsecond, wantTick: time.Millisecond},
		{name: "default tick", rr: 10, rb: 40, wr: 20, wb: 20, tick: DefaultTick, wantTick: time.Second},
		{name: "read rate 0", rr: 0, rb: 1, wr: 1, wb: 1, tick: DefaultTick, wantErr: ErrInvalidRate},
		{name: "write rate 0", rr: 1, rb: 1, wr: 0, wb: 1, tick: DefaultTick, wantErr: ErrInvalidRate},
		{name: "negative read rate", rr: -1, rb: 1, wr: 1, wb: 1, tick: DefaultTick, wantErr: ErrInvalidRate},
		{name: "min int64 write rate", rr: 1, rb: 1, wr: math.MinInt64, wb: 1, tick: DefaultTick, wantErr: ErrInvalidRate},
		{name: "read rate > burst", rr: 2, rb: 1, wr: 1, wb: 1, tick: DefaultTick, wantErr: ErrInvalidRate},
		{name: "write rate > burst", rr: 1, rb: 1, wr: 2, wb: 1, tick: DefaultTick, wantErr: ErrInvalidRate},
		{name: "negative burst", rr: 1, rb: -1, wr: 1, wb: 1, tick: DefaultTick, wantErr: ErrInvalidRate},
		{name: "max values", rr: MaxValue, rb: MaxValue, wr: MaxValue, wb: MaxValue, tick: DefaultTick, wantTick: time.Second},
		{name: "rate 1 burst max", rr: 1, rb: MaxValue, wr: 1, wb: MaxValue, tick: time.Millisecond, wantTick: time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := NewConfig(tt.rr, tt.rb, tt.wr, tt.wb, tt.tick)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || cfg != nil {
					t.Fatalf("NewConfig = %v, %v; want nil, %v", cfg, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewConfig: %v", err)
			}
			if cfg.ReadRate() != tt.rr || cfg.ReadBurst() != tt.rb || cfg.WriteRate() != tt.wr ||
				cfg.WriteBurst() != tt.wb || cfg.Tick() != tt.wantTick {
				t.Fatalf("NewConfig = %v; want read %d/%d write %d/%d per %v",
					cfg, tt.rr, tt.rb, tt.wr, tt.wb, tt.wantTick)
			}
		})
	}
}

func TestConfigString(t *testing.T) {
	cfg := mustConfig(t, 100, 400, 200, 800, 100*time.Millisecond)
	if got, want := cfg.String(), "read 100/400 write 200/800 per 100ms"; got != want {
		t.Fatalf("String = %q, want %q", got, want)
	}
}

func mustConfig(tb testing.TB, rr, rb, wr, wb int64, tick time.Duration) *Config {
	tb.Helper()
	cfg, err := NewConfig(rr, rb, wr, wb, tick)
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}
