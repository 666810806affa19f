package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/bufev/bufev/eventbase"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // -h: usage printed
		}
		fmt.Fprintln(os.Stderr, "event-read-fifo:", err)
		os.Exit(1)
	}
}

// run creates the FIFO and prints what is written to it until EOF, SIGINT or ctx.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("event-read-fifo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("path", "event.fifo", "where to create the FIFO")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fi, err := os.Lstat(*path); err == nil && fi.Mode()&os.ModeNamedPipe == 0 {
		return fmt.Errorf("%s exists and is not a FIFO", *path)
	}
	os.Remove(*path)
	fd, err := openFIFO(*path)
	if err != nil {
		return err
	}
	defer os.Remove(*path)
	defer closeFD(fd)

	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		return err
	}
	defer base.Close()

	var readErr error
	buf := make([]byte, 255)
	var ev *eventbase.Event
	ev, err = base.NewEvent(fd, eventbase.Read|eventbase.Persist, func(fd int, what eventbase.What) {
		fmt.Fprintf(stderr, "fifo_read called with fd: %d, event: %v\n", fd, what)
		n, err := readFD(fd, buf)
		switch {
		case errors.Is(err, syscall.EAGAIN):
			return
		case err != nil:
			readErr = fmt.Errorf("read: %w", err)
		case n == 0:
			fmt.Fprintln(stderr, "Connection closed")
		default:
			fmt.Fprintf(stdout, "Read: %s\n", buf[:n])
			return
		}
		ev.Del()
		base.LoopBreak()
	})
	if err != nil {
		return err
	}
	defer ev.Free()
	if err := ev.Add(); err != nil {
		return err
	}
	sig, err := base.NewSignal(syscall.SIGINT, func(int, eventbase.What) {
		fmt.Fprintln(stderr, "Caught an interrupt signal; exiting.")
		base.LoopBreak()
	})
	if err != nil {
		return err
	}
	defer sig.Free()
	if err := sig.Add(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "reading from %s\n", *path)
	stopWatch := context.AfterFunc(ctx, func() { base.LoopExit(0) })
	defer stopWatch()
	if err := base.Dispatch(); err != nil {
		return err
	}
	return readErr
}
