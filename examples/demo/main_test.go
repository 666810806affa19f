package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestDemo runs a short demo and checks its report.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-conns", "20", "-duration", "300ms", "-progress", "100ms"}, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	s := out.String()
	if !strings.Contains(s, "echo demo: 20 connections") || !strings.Contains(s, " 0 errors") || strings.Contains(s, ": 0 messages") {
		t.Fatalf("report:\n%s", s)
	}
	if strings.Count(s, "msgs/s  p99") < 1 {
		t.Fatalf("no progress line:\n%s", s)
	}
}

// TestDemoCancel stops the demo early through the context; it still reports and succeeds.
func TestDemoCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, []string{"-conns", "5", "-duration", "1h"}, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
}

func TestDemoBadFlags(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-size", "3"}, &out); err == nil {
		t.Fatal("size 3 accepted")
	}
}
