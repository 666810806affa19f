//go:build linux || windows

package async

import "testing"

// TestNextReadSize pins the receive sizing shared by the io_uring and IOCP backends.
func TestNextReadSize(t *testing.T) {
	for _, tc := range []struct {
		name          string
		cur, n, space int
		want          int
	}{
		{"first receive filled", minReadSize, minReadSize, minReadSize, maxReadSize},
		{"filled a space MaxToRead capped", maxReadSize, 16384, 16384, maxReadSize},
		{"at the maximum, filled", maxReadSize, maxReadSize, maxReadSize, maxReadSize},
		{"half full keeps the size", 65536, 32768, 65536, 65536},
		{"a quarter keeps the size", 65536, 16384, 65536, 65536},
		{"under a quarter halves", 65536, 16383, 65536, 32768},
		{"tiny receive at the maximum halves once", maxReadSize, 1, maxReadSize, maxReadSize / 2},
		{"never below the minimum", minReadSize, 1, minReadSize, minReadSize},
		{"odd size halves to the minimum at most", 6000, 10, 6000, minReadSize},
	} {
		if got := nextReadSize(tc.cur, tc.n, tc.space); got != tc.want {
			t.Errorf("%s: nextReadSize(%d, %d, %d) = %d, want %d", tc.name, tc.cur, tc.n, tc.space, got, tc.want)
		}
	}
}
