package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/bufev/bufev/backends/socket"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
)

// message is what every client gets.
const message = "Hello, World!\n"

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "hello-world:", err)
		os.Exit(1)
	}
}

// run serves until an interrupt (plus the grace period) or until ctx is done.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("hello-world", flag.ContinueOnError)
	fs.SetOutput(stdout)
	listen := fs.String("listen", ":9995", "address to listen on")
	grace := fs.Duration("grace", 2*time.Second, "delay between an interrupt and the exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		return fmt.Errorf("could not initialize the event base: %w", err)
	}
	defer base.Close()

	ln, err := socket.Listen(base, "tcp", *listen, func(_ *socket.Listener, fd int, _ net.Addr) {
		bev, err := socket.New(base, fd, bufferevent.CloseOnFree)
		if err != nil {
			fmt.Fprintln(stdout, "Error constructing bufferevent:", err)
			os.NewFile(uintptr(fd), "socket").Close()
			base.LoopBreak()
			return
		}
		bev.SetCallbacks(nil, connWrite(stdout), connEvent(stdout))
		bev.Enable(bufferevent.Write)
		bev.Disable(bufferevent.Read)
		bev.WriteString(message)
	}, socket.ListenerOptions{Flags: socket.ListenReuseAddr})
	if err != nil {
		return fmt.Errorf("could not create a listener: %w", err)
	}
	defer ln.Close()
	fmt.Fprintf(stdout, "listening on %s\n", ln.Addr())

	sig, err := base.NewSignal(syscall.SIGINT, func(int, eventbase.What) {
		fmt.Fprintf(stdout, "Caught an interrupt signal; exiting cleanly in %v.\n", *grace)
		base.LoopExit(*grace)
	})
	if err != nil {
		return fmt.Errorf("could not create a signal event: %w", err)
	}
	if err := sig.Add(); err != nil {
		return fmt.Errorf("could not add the signal event: %w", err)
	}
	defer sig.Free()

	stopWatch := context.AfterFunc(ctx, func() { base.LoopExit(0) })
	defer stopWatch()
	if err := base.Dispatch(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "done")
	return nil
}

// connWrite closes the connection once the greeting has left the output buffer.
func connWrite(stdout io.Writer) bufferevent.ReadFunc {
	return func(bev *bufferevent.BufferEvent) {
		if bev.Output().Len() == 0 {
			fmt.Fprintln(stdout, "flushed answer")
			bev.Close()
		}
	}
}

// connEvent reports the end of a connection and closes it.
func connEvent(stdout io.Writer) bufferevent.EventFunc {
	return func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		switch {
		case what&bufferevent.EOF != 0:
			fmt.Fprintln(stdout, "Connection closed.")
		case what&bufferevent.Error != 0:
			fmt.Fprintf(stdout, "Got an error on the connection: %v\n", err)
		}
		// Nothing else is enabled, so this is the connection's end.
		bev.Close()
	}
}
