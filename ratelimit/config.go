package ratelimit

import (
	"fmt"
	"math"
	"time"
)

// These constants are immutable: safe for concurrent use.
const (
	// DefaultTick is libevent's tick length when ev_token_bucket_cfg_new gets a NULL tick.
	// Go has no NULL duration, so pass DefaultTick explicitly; a zero tick is an error, as a
	// zero timeval is in libevent.
	DefaultTick = time.Second

	// MaxTick is the longest tick NewConfig accepts: libevent rejects ticks whose whole
	// seconds exceed INT_MAX/1000 (2147483 s, about 24.8 days); the sub-second part may
	// add up to 999 ms on top.
	MaxTick = (math.MaxInt32/1000+1)*time.Second - time.Millisecond

	// MaxValue is the largest rate or burst NewConfig accepts, libevent's EV_RATE_LIMIT_MAX
	// (SSIZE_MAX) on a 64-bit machine. Every quantity in this package is an int64, so no
	// argument can exceed it; the constant is here for documentation and tests.
	MaxValue = math.MaxInt64

	// DefaultMinShare is the minimum share a new Group gives each member per operation,
	// libevent's default of 64 bytes (capped by the group's rates).
	DefaultMinShare = 64
)

// Config is an immutable token-bucket configuration for both directions: per tick, each
// bucket gains its rate in bytes and holds at most its burst. libevent's
// ev_token_bucket_cfg. One Config may be shared by any number of Limiters and Groups.
// Safe for concurrent use (it never changes after NewConfig).
type Config struct {
	readRate, readBurst   int64
	writeRate, writeBurst int64
	tick                  time.Duration // whole milliseconds, ≥ 1 ms
}

// NewConfig validates its arguments the way libevent's ev_token_bucket_cfg_new does and
// returns a Config:
//
//   - tick is truncated to whole milliseconds (libevent ignores fractions of a millisecond);
//     a tick that is negative, shorter than 1 ms after truncation (zero included), or longer
//     than MaxTick is an error wrapping ErrInvalidTick. Pass DefaultTick for libevent's
//     default of one second.
//   - a rate below 1, or a rate above its burst, is an error wrapping ErrInvalidRate.
//
// Safe for concurrent use.
func NewConfig(readRate, readBurst, writeRate, writeBurst int64, tick time.Duration) (*Config, error) {
	// The whole-seconds check comes first, as in libevent, so no later arithmetic can
	// overflow.
	if tick < 0 || tick/time.Second > math.MaxInt32/1000 {
		return nil, fmt.Errorf("%w: %v (want 1ms..%v)", ErrInvalidTick, tick, MaxTick)
	}
	tick = tick.Truncate(time.Millisecond)
	if tick == 0 {
		return nil, fmt.Errorf("%w: %v is shorter than 1ms", ErrInvalidTick, tick)
	}
	if readRate < 1 || writeRate < 1 {
		return nil, fmt.Errorf("%w: rates must be at least 1 (read %d, write %d)",
			ErrInvalidRate, readRate, writeRate)
	}
	if readRate > readBurst || writeRate > writeBurst {
		return nil, fmt.Errorf("%w: rate above burst (read %d/%d, write %d/%d)",
			ErrInvalidRate, readRate, readBurst, writeRate, writeBurst)
	}
	return &Config{
		readRate: readRate, readBurst: readBurst,
		writeRate: writeRate, writeBurst: writeBurst,
		tick: tick,
	}, nil
}

// ReadRate is the number of bytes the read bucket gains per tick. Safe for concurrent use.
func (c *Config) ReadRate() int64 { return c.readRate }

// ReadBurst is the most the read bucket can hold. Safe for concurrent use.
func (c *Config) ReadBurst() int64 { return c.readBurst }

// WriteRate is the number of bytes the write bucket gains per tick. Safe for concurrent use.
func (c *Config) WriteRate() int64 { return c.writeRate }

// WriteBurst is the most the write bucket can hold. Safe for concurrent use.
func (c *Config) WriteBurst() int64 { return c.writeBurst }

// Tick is the tick length, truncated to whole milliseconds. Safe for concurrent use.
func (c *Config) Tick() time.Duration { return c.tick }

// String describes the configuration, e.g. "read 1000/4000 write 1000/4000 per 100ms".
// Safe for concurrent use.
func (c *Config) String() string {
	return fmt.Sprintf("read %d/%d write %d/%d per %v",
		c.readRate, c.readBurst, c.writeRate, c.writeBurst, c.tick)
}
