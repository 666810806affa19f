package eventbase_test

import (
	"context"
	"fmt"
	"time"

	"github.com/bufev/bufev/eventbase"
)

// A persistent timer that stops the loop after three ticks.
func Example() {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		panic(err)
	}
	defer base.Close()

	ticks := 0
	var tick *eventbase.Event
	tick, _ = base.NewEvent(-1, eventbase.Persist, func(_ int, what eventbase.What) {
		ticks++
		fmt.Println("tick", ticks, what)
		if ticks == 3 {
			tick.Del() // nothing is left: Dispatch returns
		}
	})
	_ = tick.AddTimeout(time.Millisecond)
	if err := base.Dispatch(); err != nil {
		panic(err)
	}
	fmt.Println("exited empty:", base.ExitedEmpty())
	// Output:
	// tick 1 Timeout
	// tick 2 Timeout
	// tick 3 Timeout
	// exited empty: true
}

// Other goroutines hand work to the loop with RunInLoop (fire and forget)
// or Do (wait for it).
func ExampleBase_Do() {
	base, _ := eventbase.New(eventbase.Config{})
	defer base.Close()
	done := make(chan error)
	go func() { done <- base.Loop(eventbase.LoopNoExitOnEmpty) }()

	counter := 0 // owned by the loop goroutine
	for range 10 {
		_ = base.RunInLoop(func() { counter++ })
	}
	var seen int
	_ = base.Do(context.Background(), func() { seen = counter })
	fmt.Println("counter seen on the loop:", seen)

	_ = base.LoopExit(0)
	fmt.Println(<-done, base.GotExit())
	// Output:
	// counter seen on the loop: 10
	// <nil> true
}

// Priorities: after a turn ran callbacks of one priority, the loop polls
// again before it runs less urgent ones.
func ExampleEvent_SetPriority() {
	base, _ := eventbase.New(eventbase.Config{Priorities: 2})
	defer base.Close()
	mk := func(name string, pri int) *eventbase.Event {
		ev, _ := base.NewEvent(-1, 0, func(int, eventbase.What) { fmt.Println(name) })
		_ = ev.SetPriority(pri)
		return ev
	}
	low, high := mk("low", 1), mk("high", 0)
	low.Active(eventbase.Timeout, 1)
	high.Active(eventbase.Timeout, 1)
	_ = base.Dispatch()
	// Output:
	// high
	// low
}

// Registering a common timeout makes AddTimeout with that duration O(1),
// which pays off with thousands of equal idle timeouts.
func ExampleBase_CommonTimeout() {
	base, _ := eventbase.New(eventbase.Config{})
	defer base.Close()
	idle, _ := base.CommonTimeout(5 * time.Millisecond)
	fired := 0
	for range 1000 {
		ev, _ := base.NewTimer(func() { fired++ })
		_ = ev.AddTimeout(idle)
	}
	_ = base.Dispatch()
	fmt.Println(fired, "idle timeouts fired")
	// Output:
	// 1000 idle timeouts fired
}

// Deferred functions run after the turn's callbacks, at most 32 per turn.
func ExampleBase_Defer() {
	base, _ := eventbase.New(eventbase.Config{})
	defer base.Close()
	ev, _ := base.NewTimer(func() {
		base.Defer(func() { fmt.Println("deferred") })
		fmt.Println("callback")
	})
	_ = ev.AddTimeout(0)
	_ = base.Dispatch()
	// Output:
	// callback
	// deferred
}

// counterKey is the key of ExampleBase_Local's per-base state.
type counterKey struct{}

func ExampleBase_Local() {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		panic(err)
	}
	defer base.Close()
	counter := func() *int {
		return base.Local(counterKey{}, func() any { return new(int) }).(*int)
	}
	*counter()++
	*counter()++
	fmt.Println(*counter())
	// Output:
	// 2
}

// conn is a connection object that handles its own events (a Handler): the
// event calls it directly, with no function value in between.
type conn struct {
	name  string
	fired int
}

func (c *conn) HandleEvent(fd int, what eventbase.What) {
	c.fired++
	fmt.Printf("%s: fd %d, %v\n", c.name, fd, what)
}

func ExampleBase_NewHandlerEvent() {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		panic(err)
	}
	defer base.Close()
	c := &conn{name: "c1"}
	ev, err := base.NewHandlerEvent(-1, eventbase.Read, c)
	if err != nil {
		panic(err)
	}
	ev.Active(eventbase.Read, 1) // as if fd were readable
	_ = base.Loop(eventbase.LoopOnce)
	fmt.Println(c.fired)
	// Output:
	// c1: fd -1, Read
	// 1
}
