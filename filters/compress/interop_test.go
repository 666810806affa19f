package compress

import (
	"bytes"
	"math/rand/v2"
	"os/exec"
	"testing"

	"github.com/bufev/bufev/bufferevent"
)

// Interop with real peers: the system gzip, python3's zlib module (the C
// zlib) and the zstd command-line tool, each where installed.

// peer runs name with args, feeding stdin, and returns stdout. It skips the
// test when the tool is not installed.
func peer(t *testing.T, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed", name)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, errb.String())
	}
	return out.Bytes()
}

// pyZlib is a python3 program that compresses (c) or decompresses (d)
// stdin with C zlib at the given wbits (15: zlib, -15: raw deflate, 31:
// gzip).
const pyZlib = `
import sys, zlib
op, wbits = sys.argv[1], int(sys.argv[2])
data = sys.stdin.buffer.read()
if op == "c":
    c = zlib.compressobj(6, zlib.DEFLATED, wbits)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH) + c.compress(data[:100]) + c.flush()
else:
    d = zlib.decompressobj(wbits)
    out = d.decompress(data)
    if not d.eof:
        sys.exit("stream not finished")
    if d.unused_data:
        sys.exit("trailing data")
sys.stdout.buffer.write(out)
`

func interopData() []byte { return testData(rand.New(rand.NewPCG(7, 7)), 200<<10) }

// ours compresses data with our Encoder, with random chunking and a sync
// flush in the middle.
func ours(t *testing.T, f Format, data []byte) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(8, 8))
	e, err := NewEncoder(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	half := len(data) / 2
	w := feed(t, rng, e.Filter, e.Err, data[:half], bufferevent.Flush)
	return append(w, feed(t, rng, e.Filter, e.Err, data[half:], bufferevent.Finished)...)
}

// decodeOurs decompresses wire with our Decoder, with random chunking.
func decodeOurs(t *testing.T, f Format, wire []byte) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(9, 9))
	d, err := NewDecoder(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	got := feed(t, rng, d.Filter, d.Err, wire, bufferevent.Finished)
	if !d.Ended() {
		t.Fatal("decoder did not reach the end of the stream")
	}
	return got
}

func TestInteropSystemGzip(t *testing.T) {
	data := interopData()
	// Ours → gzip -d.
	if got := peer(t, ours(t, Gzip, data), "gzip", "-d", "-c"); !bytes.Equal(got, data) {
		t.Fatalf("gzip -d gave %d bytes, want %d", len(got), len(data))
	}
	// gzip -c → ours, including two concatenated members (gzip allows it).
	wire := peer(t, data, "gzip", "-c", "-6")
	wire = append(wire, peer(t, data[:1000], "gzip", "-c", "-1")...)
	want := append(append([]byte(nil), data...), data[:1000]...)
	if got := decodeOurs(t, Gzip, wire); !bytes.Equal(got, want) {
		t.Fatalf("our gzip decoder gave %d bytes, want %d", len(got), len(want))
	}
}

func TestInteropPythonZlib(t *testing.T) {
	data := interopData()
	for _, tc := range []struct {
		f     Format
		wbits string
	}{{Zlib, "15"}, {Deflate, "-15"}, {Gzip, "31"}} {
		t.Run(tc.f.String(), func(t *testing.T) {
			// Ours → C zlib.
			if got := peer(t, ours(t, tc.f, data), "python3", "-c", pyZlib, "d", tc.wbits); !bytes.Equal(got, data) {
				t.Fatalf("C zlib gave %d bytes, want %d", len(got), len(data))
			}
			// C zlib (with a sync flush inside) → ours.
			wire := peer(t, data, "python3", "-c", pyZlib, "c", tc.wbits)
			want := append(append([]byte(nil), data...), data[:100]...)
			if got := decodeOurs(t, tc.f, wire); !bytes.Equal(got, want) {
				t.Fatalf("our decoder gave %d bytes, want %d", len(got), len(want))
			}
		})
	}
}

func TestInteropZlibFlate(t *testing.T) {
	data := interopData()
	if got := peer(t, ours(t, Zlib, data), "zlib-flate", "-uncompress"); !bytes.Equal(got, data) {
		t.Fatalf("zlib-flate gave %d bytes, want %d", len(got), len(data))
	}
	if got := decodeOurs(t, Zlib, peer(t, data, "zlib-flate", "-compress")); !bytes.Equal(got, data) {
		t.Fatalf("our decoder gave %d bytes, want %d", len(got), len(data))
	}
}

func TestInteropZstdCLI(t *testing.T) {
	data := interopData()
	if got := peer(t, ours(t, Zstd, data), "zstd", "-d", "-c", "-q"); !bytes.Equal(got, data) {
		t.Fatalf("zstd -d gave %d bytes, want %d", len(got), len(data))
	}
	if got := decodeOurs(t, Zstd, peer(t, data, "zstd", "-c", "-q", "-3")); !bytes.Equal(got, data) {
		t.Fatalf("our decoder gave %d bytes, want %d", len(got), len(data))
	}
}
