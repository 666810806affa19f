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
		fmt.Fprintln(os.Stderr, "signal-test:", err)
		os.Exit(1)
	}
}

// run waits for three SIGINTs (or ctx).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("signal-test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		return err
	}
	defer base.Close()

	called := 0
	var sig *eventbase.Event
	sig, err = base.NewSignal(syscall.SIGINT, func(signo int, _ eventbase.What) {
		fmt.Fprintf(stdout, "signal_cb: got signal %d\n", signo)
		if called >= 2 {
			sig.Del()
		}
		called++
	})
	if err != nil {
		return err
	}
	defer sig.Free()
	if err := sig.Add(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "waiting for SIGINT (pid %d)\n", os.Getpid())
	stopWatch := context.AfterFunc(ctx, func() { base.LoopExit(0) })
	defer stopWatch()
	if err := base.Dispatch(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "done after %d signals\n", called)
	return nil
}
