package main

import (
	"bufio"
	"context"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bufev/bufev/examples/internal/outlines"
)

type chatClient struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *chatClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &chatClient{t, c, bufio.NewReader(c)}
}

func (c *chatClient) send(s string) { c.c.Write([]byte(s + "\n")) }

// expect reads the next line and checks it.
func (c *chatClient) expect(want string) {
	c.t.Helper()
	got, err := c.r.ReadString('\n')
	if err != nil || got != want+"\n" {
		c.t.Fatalf("got %q, %v; want %q", got, err, want)
	}
}

// TestChat runs the server with three clients: joins, broadcasts (not echoed to the
// sender), /nick, /who, /quit, a line over the limit, and the summary's counts (each
// message formatted once, delivered by reference to each recipient).
func TestChat(t *testing.T) {
	fds := outlines.FDsBefore()
	t.Cleanup(func() { // registered first, so it runs after the test's other cleanups
		if err := outlines.NoFDLeak(fds); err != nil {
			t.Error(err)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &outlines.Writer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-max-line", "64"}, out, out) }()
	addr, ok := out.Wait("chat: listening on ", 5*time.Second)
	if !ok {
		t.Fatalf("not started:\n%s", out)
	}
	a := dial(t, addr)
	a.expect("* welcome, you are guest1 (1 online); /nick NAME, /who, /quit")
	b := dial(t, addr)
	b.expect("* welcome, you are guest2 (2 online); /nick NAME, /who, /quit")
	a.expect("* guest2 joined")
	c := dial(t, addr)
	c.expect("* welcome, you are guest3 (3 online); /nick NAME, /who, /quit")
	a.expect("* guest3 joined")
	b.expect("* guest3 joined")

	a.send("hello from a")
	b.expect("guest1: hello from a")
	c.expect("guest1: hello from a")
	b.send("/nick bob")
	a.expect("* guest2 is now bob")
	b.expect("* guest2 is now bob")
	c.expect("* guest2 is now bob")
	b.c.Write([]byte("split "))
	time.Sleep(20 * time.Millisecond)
	b.c.Write([]byte("line\r\n"))
	a.expect("bob: split line")
	c.expect("bob: split line")
	c.send("/who")
	c.expect("* online: guest1, bob, guest3")
	c.send("/quit")
	c.expect("* bye")
	if _, err := c.r.ReadString('\n'); err == nil {
		t.Fatal("connection open after /quit")
	}
	a.expect("* guest3 left")
	b.expect("* guest3 left")

	b.send(strings.Repeat("x", 100))
	b.expect("* evbuffer: line too long")
	a.expect("* bob was disconnected (line too long)")

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`chat: (\d+) messages, (\d+) bytes formatted once, (\d+) bytes delivered by reference`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("summary:\n%s", out)
	}
	// joined×3, hello, nick, split line, left, disconnected = 8 messages.
	if m[1] != "8" {
		t.Errorf("messages %s, want 8\n%s", m[1], out)
	}
	if m[2] == m[3] {
		t.Errorf("formatted %s = delivered %s: messages were not shared", m[2], m[3])
	}
}

// TestChatSlowClient disconnects a client that does not read once its pending output
// passes -max-pending; the others are unaffected.
func TestChatSlowClient(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &outlines.Writer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-max-line", "1024", "-max-pending", "4096"}, out, out)
	}()
	addr, _ := out.Wait("chat: listening on ", 5*time.Second)
	a := dial(t, addr)
	a.expect("* welcome, you are guest1 (1 online); /nick NAME, /who, /quit")
	slow, err := net.Dial("tcp", addr) // never reads
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	a.expect("* guest2 joined")
	line := strings.Repeat("z", 1000)
	// The kernel's buffers absorb some; keep talking until the server gives up on guest2.
	for i := 0; ; i++ {
		a.send(line)
		if i > 20000 {
			t.Fatal("slow client never dropped")
		}
		if i%50 == 49 {
			a.send("/who")
			for {
				l, err := a.r.ReadString('\n')
				if err != nil {
					t.Fatal(err)
				}
				if l == "* guest2 was disconnected (not reading)\n" {
					cancel()
					if err := <-done; err != nil {
						t.Fatal(err)
					}
					if !strings.Contains(out.String(), "1 slow clients dropped") {
						t.Fatalf("summary:\n%s", out)
					}
					return
				}
				if strings.HasPrefix(l, "* online:") {
					break
				}
			}
		}
	}
}
