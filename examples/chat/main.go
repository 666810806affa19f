package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/bufev/bufev/backends/socket"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // -h: usage printed
		}
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
}

// client is one connection. Loop-confined.
type client struct {
	bev  *bufferevent.BufferEvent
	name string
	seq  int // join order, for stable listings
}

// room is the server's state. Loop-confined.
type room struct {
	base       *eventbase.Base
	clients    map[*bufferevent.BufferEvent]*client
	next       int
	maxPending int
	linger     time.Duration // how long a leaving client's last lines may take to go out
	log        io.Writer

	messages  int   // messages broadcast
	built     int64 // bytes formatted (one copy per message)
	delivered int64 // bytes queued to recipients (by reference)
	dropped   int   // clients disconnected for not reading
}

// run serves until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:9002", "address to listen on")
	maxLine := fs.Int("max-line", 4096, "longest line accepted, in bytes")
	maxPending := fs.Int("max-pending", 1<<20, "disconnect a client whose unsent output exceeds this")
	linger := fs.Duration("linger", 10*time.Second, "close a leaving client whose last lines make no progress for this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *maxLine < 16 || *maxPending < *maxLine {
		return errors.New("need -max-line ≥ 16 and -max-pending ≥ -max-line")
	}
	if *linger <= 0 {
		return errors.New("need -linger > 0")
	}
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		return err
	}
	defer base.Close()
	r := &room{base: base, clients: make(map[*bufferevent.BufferEvent]*client), maxPending: *maxPending, linger: *linger, log: stdout}
	ln, err := socket.Listen(base, "tcp", *listen, func(_ *socket.Listener, fd int, _ net.Addr) {
		bev, err := socket.New(base, fd, bufferevent.CloseOnFree)
		if err != nil {
			os.NewFile(uintptr(fd), "socket").Close()
			return
		}
		r.join(bev, *maxLine)
	}, socket.ListenerOptions{Flags: socket.ListenReuseAddr})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "chat: listening on %s\n", ln.Addr())
	stopWatch := context.AfterFunc(ctx, func() { base.LoopExit(0) })
	defer stopWatch()
	err = base.Dispatch()
	for bev := range r.clients {
		bev.Close()
	}
	fmt.Fprintf(stdout, "chat: %d messages, %d bytes formatted once, %d bytes delivered by reference, %d slow clients dropped\n",
		r.messages, r.built, r.delivered, r.dropped)
	return errors.Join(err, ln.Close())
}

func (r *room) join(bev *bufferevent.BufferEvent, maxLine int) {
	r.next++
	c := &client{bev: bev, name: fmt.Sprintf("guest%d", r.next), seq: r.next}
	r.clients[bev] = c
	bev.Input().SetMaxLineLength(maxLine)
	// Reading stops while a partial line longer than the limit would be buffered.
	_ = bev.SetWatermark(bufferevent.Read, 0, maxLine+2)
	_ = bev.SetCallbacks(func(bev *bufferevent.BufferEvent) { r.read(c) }, nil,
		func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
			if what&(bufferevent.EOF|bufferevent.Error|bufferevent.Timeout) != 0 {
				r.leave(c, "left", false)
			}
		})
	_ = bev.Enable(bufferevent.Read | bufferevent.Write)
	fmt.Fprintf(bev, "* welcome, you are %s (%d online); /nick NAME, /who, /quit\n", c.name, len(r.clients))
	r.broadcast(c, fmt.Sprintf("* %s joined\n", c.name))
}

func (r *room) read(c *client) {
	in := c.bev.Input()
	for {
		if _, ok := r.clients[c.bev]; !ok {
			return // dropped meanwhile (its output was over -max-pending): ignore the rest
		}
		line, err := in.ReadLineSlice(evbuffer.EOLCRLF)
		if errors.Is(err, evbuffer.ErrNoLine) {
			return
		}
		if err != nil { // evbuffer.ErrLineTooLong
			fmt.Fprintf(c.bev, "* %v\n", err)
			r.leave(c, "was disconnected (line too long)", true)
			return
		}
		switch {
		case bytes.HasPrefix(line, []byte("/nick ")):
			name := strings.TrimSpace(string(line[6:]))
			if name == "" || len(name) > 32 || strings.ContainsAny(name, " :*") {
				fmt.Fprintf(c.bev, "* names are 1 to 32 characters without spaces, ':' or '*'\n")
				continue
			}
			old := c.name
			c.name = name
			r.broadcast(nil, fmt.Sprintf("* %s is now %s\n", old, name))
		case string(line) == "/who":
			var names []string
			for _, o := range r.sorted() {
				names = append(names, o.name)
			}
			fmt.Fprintf(c.bev, "* online: %s\n", strings.Join(names, ", "))
		case string(line) == "/quit":
			fmt.Fprintf(c.bev, "* bye\n")
			r.leave(c, "left", true)
			return
		case len(line) > 0:
			r.broadcast(c, c.name+": "+string(line)+"\n")
		}
	}
}

// sorted lists the clients in join order.
func (r *room) sorted() []*client {
	cs := make([]*client, 0, len(r.clients))
	for _, c := range r.clients {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b *client) int { return a.seq - b.seq })
	return cs
}

// broadcast formats msg once and queues it, by reference, to every client but from.
func (r *room) broadcast(from *client, msg string) {
	var buf evbuffer.Buffer
	buf.AddString(msg)
	r.messages++
	r.built += int64(buf.Len())
	var slow []*client
	for bev, c := range r.clients {
		if c == from {
			continue
		}
		out := bev.Output()
		if out.Len()+buf.Len() > r.maxPending {
			slow = append(slow, c)
			continue
		}
		if err := out.AddBufferReference(&buf); err != nil {
			fmt.Fprintf(r.log, "chat: %s: %v\n", c.name, err)
			continue
		}
		r.delivered += int64(buf.Len())
	}
	buf.Reset() // the recipients' references keep the memory alive
	for _, c := range slow {
		r.dropped++
		r.leave(c, "was disconnected (not reading)", false)
	}
}

// leave removes c and tells the others; with linger its pending output is sent first,
// for as long as it makes progress within r.linger (a client that stops reading after
// /quit would otherwise hold its connection and up to -max-pending bytes for good).
func (r *room) leave(c *client, why string, linger bool) {
	if _, ok := r.clients[c.bev]; !ok {
		return
	}
	delete(r.clients, c.bev)
	if linger && c.bev.Output().Len() > 0 {
		// Let a leaving client's last lines go out before closing.
		_ = c.bev.SetCallbacks(nil, func(bev *bufferevent.BufferEvent) {
			if bev.Output().Len() == 0 {
				bev.Close()
			}
		}, func(bev *bufferevent.BufferEvent, _ bufferevent.Events, _ error) { bev.Close() })
		_ = c.bev.Disable(bufferevent.Read)
		_ = c.bev.SetTimeouts(0, r.linger)
	} else {
		c.bev.Close()
	}
	r.broadcast(nil, fmt.Sprintf("* %s %s\n", c.name, why))
}
