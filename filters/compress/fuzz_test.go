package compress

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/bufev/bufev/backends/filter"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
)

// FuzzRoundTrip compresses random data with random chunking, limits and a
// sync flush at a random point, and decodes it back with our Decoder and
// with the standard library reader.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("hello, hello, hello"), uint64(1), uint8(0))
	f.Add(bytes.Repeat([]byte{0}, 5000), uint64(2), uint8(1))
	f.Add([]byte{}, uint64(3), uint8(2))
	f.Add([]byte("zstd zstd zstd zstd"), uint64(4), uint8(3))
	f.Fuzz(roundTripBody)
}

// roundTripBody is the body of FuzzRoundTrip.
func roundTripBody(t *testing.T, data []byte, seed uint64, which uint8) {
	{
		format := formats[int(which)%len(formats)]
		rng := rand.New(rand.NewPCG(seed, 77))
		c, err := New(format, &Options{Level: []int{DefaultLevel, BestSpeed, NoCompression}[seed%3]})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		cut := 0
		if len(data) > 0 {
			cut = rng.IntN(len(data) + 1)
		}
		wire1 := feed(t, rng, c.Out, c.Err, data[:cut], bufferevent.Flush)
		got1 := feed(t, rng, c.In, c.Err, wire1, bufferevent.Normal)
		if !bytes.Equal(got1, data[:cut]) {
			t.Fatalf("after Flush: got %d bytes, want %d", len(got1), cut)
		}
		wire2 := feed(t, rng, c.Out, c.Err, data[cut:], bufferevent.Finished)
		got2 := feed(t, rng, c.In, c.Err, wire2, bufferevent.Finished)
		if !bytes.Equal(got2, data[cut:]) || !c.Decoder.Ended() {
			t.Fatalf("after Finished: got %d bytes, want %d (ended %v)", len(got2), len(data)-cut, c.Decoder.Ended())
		}
		std, err := readAllStd(t, format, append(wire1, wire2...))
		if err != nil || !bytes.Equal(std, data) {
			t.Fatalf("standard reader: %d bytes, %v", len(std), err)
		}
	}
}

func readAllStd(t *testing.T, f Format, wire []byte) ([]byte, error) {
	var out bytes.Buffer
	_, err := out.ReadFrom(stdReader(t, f, wire))
	return out.Bytes(), err
}

// FuzzDecoder feeds arbitrary bytes, in random chunks, to every decoder:
// no panic, no hang, and a failure is a clean error with a sentinel.
func FuzzDecoder(f *testing.F) {
	for _, format := range formats {
		wire := compressAll(f, format, nil, []byte("a valid stream to mutate, a valid stream"))
		f.Add(wire, uint64(format), uint8(format-1))
	}
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, uint64(9), uint8(2))
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0xff, 0xff, 0xff, 0xff}, uint64(9), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64, which uint8) {
		format := formats[int(which)%len(formats)]
		rng := rand.New(rand.NewPCG(seed, 5))
		d, err := NewDecoder(format, &Options{MaxOutput: 8 << 20})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		var src, dst evbuffer.Buffer
		res := filter.OK
		for len(data) > 0 && res != filter.Error {
			n := min(len(data), 1+rng.IntN(64))
			_ = src.Add(data[:n])
			data = data[n:]
			for i := 0; src.Len() > 0 && res != filter.Error; i++ {
				res = d.Filter(&src, &dst, 1+rng.IntN(4096), bufferevent.Normal)
				_ = dst.Drain(dst.Len())
				if res != filter.OK {
					break
				}
				if i > 1<<16 {
					t.Fatal("decoder loops")
				}
			}
		}
		if res != filter.Error {
			for i := 0; ; i++ {
				res = d.Filter(&src, &dst, 1<<20, bufferevent.Finished)
				_ = dst.Drain(dst.Len())
				if res != filter.OK || src.Len() == 0 || i > 1<<16 {
					break
				}
			}
		}
		if res == filter.Error {
			err := d.Err()
			if err == nil {
				t.Fatal("Error without Err")
			}
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrLimit) && !errors.Is(err, ErrTrailingData) {
				t.Fatalf("error without a sentinel: %v", err)
			}
		}
	})
}
