package main

import (
	"bytes"
	"context"
	"github.com/bufev/bufev/examples/internal/outlines"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDemo runs a short demo and checks its report: a progress line, a table row for
// each path with a non-zero message rate, the compression and rate-limit notes, and
// the final verification.
func TestDemo(t *testing.T) {
	fds := outlines.FDsBefore()
	t.Cleanup(func() { // registered first, so it runs after the test's other cleanups
		if err := outlines.NoFDLeak(fds); err != nil {
			t.Error(err)
		}
	})
	for _, codec := range []string{"zstd", "deflate"} {
		t.Run(codec, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), []string{"-conns", "4", "-duration", "1500ms", "-progress", "400ms", "-codec", codec}, &out)
			if err != nil {
				t.Fatalf("run: %v\n%s", err, out.String())
			}
			s := out.String()
			if !strings.Contains(s, "all echoed bytes verified: OK") || strings.Count(s, " msg/s") < 4 {
				t.Fatalf("report:\n%s", s)
			}
			for _, name := range []string{"direct", "tls-proxy", codec + "-tunnel", "rate-limited"} {
				if !regexp.MustCompile(`(?m)^` + name + `\s+4\s+[1-9]\d*\s`).MatchString(s) {
					t.Errorf("no row with messages for %s:\n%s", name, s)
				}
			}
			if !regexp.MustCompile(`compression saved \d+\.\d of \d+\.\d MB \(ratio [1-9]`).MatchString(s) {
				t.Errorf("no compression note:\n%s", s)
			}
			if !strings.Contains(s, "rate limit 512 KiB/s configured") {
				t.Errorf("no rate-limit note:\n%s", s)
			}
		})
	}
}

// TestDemoCancel stops the demo early through the context; it still reports and succeeds.
func TestDemoCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, []string{"-conns", "2", "-duration", "1h"}, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
}

func TestDemoBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-size", "3"}, {"-conns", "0"}, {"-codec", "lzma"}, {"-rate", "1"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, &out); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}
