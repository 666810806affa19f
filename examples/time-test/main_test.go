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
// checks the number of calls and each line's format. (Elapsed times are not checked
// against the interval: a persistent timer is rescheduled from its previous deadline,
// so a late call is followed by an early-looking one, and timing assertions do not
// belong in tests on a shared machine.)
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
				if secs, err := strconv.ParseFloat(string(m[1]), 64); err != nil || secs <= 0 {
					t.Errorf("elapsed %q", m[1])
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
