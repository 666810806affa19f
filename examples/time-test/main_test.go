package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestTimeTest runs the sample with a short interval, one-shot and persistent, and
// checks each line's format and that the elapsed times are at least the interval.
func TestTimeTest(t *testing.T) {
	line := regexp.MustCompile(`^timeout_cb called at \d+: (\d+\.\d{3}) seconds elapsed\.$`)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"oneshot", nil},
		{"persist", []string{"-p"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string{"-interval", "20ms", "-count", "4"}, tc.args...)
			if err := run(context.Background(), args, &out, &errOut); err != nil {
				t.Fatalf("run: %v %s", err, errOut.String())
			}
			lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n"))
			if len(lines) != 4 {
				t.Fatalf("%d lines, want 4:\n%s", len(lines), out.String())
			}
			for _, l := range lines {
				m := line.FindSubmatch(l)
				if m == nil {
					t.Fatalf("line %q", l)
				}
				secs, _ := strconv.ParseFloat(string(m[1]), 64)
				if secs < 0.019 { // timers never fire early (rounded to milliseconds)
					t.Errorf("elapsed %v, interval 20ms", secs)
				}
			}
		})
	}
}

// TestTimeTestContext stops an endless run through the context.
func TestTimeTestContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, []string{"-interval", "1h"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Fatalf("output %q", out.String())
	}
	if err := run(context.Background(), []string{"-interval", "-1s"}, &out, &out); err == nil {
		t.Fatal("negative interval accepted")
	}
}
