package dialer_test

import (
	"context"
	"fmt"

	"github.com/bufev/bufev/bufferevent/backend/dialer"
	"github.com/bufev/bufev/eventbase"
)

// A backend's view of a hostname connect: validate, resolve on the loop's terms, then
// take the addresses one by one (here an IP literal, which needs no resolver).
func Example() {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer base.Close()

	if _, err := dialer.ParseTarget("udp", "localhost", 53); err != nil {
		fmt.Println("rejected:", err)
	}
	t, err := dialer.ParseTarget("tcp", "[::1]", 8080)
	if err != nil {
		fmt.Println(err)
		return
	}
	var d dialer.Dialer
	d.Start(context.Background(), base, t, func(r dialer.Result) {
		if !d.End(r) {
			return // cancelled or superseded
		}
		if err := d.Settle(r); err != nil {
			fmt.Println("lookup failed:", err)
			return
		}
		for ap, ok := d.Next(); ok; ap, ok = d.Next() {
			fmt.Println("connect to", ap) // a backend starts one connect, then tries Next on failure
		}
	})
	if err := base.Dispatch(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// rejected: unknown network udp
	// connect to [::1]:8080
}
