package main

import (
	"bytes"
	"io"
	"net"
	"testing"

	"github.com/bufev/bufev/eventbase"
)

// TestTinyEcho serves on a loopback port and echoes 1 MiB on each of three
// connections.
func TestTinyEcho(t *testing.T) {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	ln, err := serve(base, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- base.Dispatch() }()
	msg := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	for range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		go c.Write(msg)
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("echo: %v", err)
		}
		c.Close()
	}
	base.LoopExit(0)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
}
