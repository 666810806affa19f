//go:build linux

package bench

import (
	"bytes"
	"os"
	"strconv"
)

// ioCalls returns this process's read and write system call counts so far
// (syscr and syscw of /proc/self/io: read, readv, write, writev and their
// relatives on any descriptor), and false where they cannot be read.
func ioCalls() (reads, writes int64, ok bool) {
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, 0, false
	}
	var nr, nw bool
	for line := range bytes.Lines(data) {
		k, v, found := bytes.Cut(bytes.TrimSpace(line), []byte(": "))
		if !found {
			continue
		}
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			continue
		}
		switch string(k) {
		case "syscr":
			reads, nr = n, true
		case "syscw":
			writes, nw = n, true
		}
	}
	return reads, writes, nr && nw
}
