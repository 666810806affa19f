package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/bufev/bufev/eventbase"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // -h: usage printed
		}
		fmt.Fprintln(os.Stderr, "time-test:", err)
		os.Exit(1)
	}
}

// run runs the timer until ctx is done or -count calls have been made.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("time-test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	persist := fs.Bool("p", false, "make the timer persistent instead of re-adding it")
	interval := fs.Duration("interval", 2*time.Second, "timer interval")
	count := fs.Int("count", 0, "stop after this many calls (0: run until interrupted)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *interval <= 0 || *count < 0 {
		return errors.New("need a positive -interval and -count ≥ 0")
	}
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		return err
	}
	defer base.Close()

	what := eventbase.What(0)
	if *persist {
		what = eventbase.Persist
	}
	lastTime := time.Now()
	calls := 0
	// libevent passes the event to its own callback with event_self_cbarg(); a Go
	// closure captures the variable instead.
	var timeout *eventbase.Event
	timeout, err = base.NewEvent(-1, what, func(int, eventbase.What) {
		now := time.Now()
		elapsed := now.Sub(lastTime)
		lastTime = now
		calls++
		fmt.Fprintf(stdout, "timeout_cb called at %d: %.3f seconds elapsed.\n", now.Unix(), elapsed.Seconds())
		if *count > 0 && calls >= *count {
			timeout.Del()
			return
		}
		if !*persist {
			timeout.AddTimeout(*interval)
		}
	})
	if err != nil {
		return err
	}
	defer timeout.Free()
	if err := timeout.AddTimeout(*interval); err != nil {
		return err
	}
	stopWatch := context.AfterFunc(ctx, func() { base.LoopExit(0) })
	defer stopWatch()
	// The loop ends by itself once the timer is no longer pending (after -count calls).
	return base.Dispatch()
}
