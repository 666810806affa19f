package bufferevent

import "sync/atomic"

// UnregisterAllTypesForTest empties the registry and returns a function
// restoring it; for tests.
func UnregisterAllTypesForTest() (restore func()) {
	registryMu.Lock()
	saved := make(map[string]Opener, len(registry))
	for k, v := range registry {
		saved[k] = v
	}
	registryMu.Unlock()
	unregisterAllTypes()
	return func() {
		registryMu.Lock()
		defer registryMu.Unlock()
		clear(registry)
		for k, v := range saved {
			registry[k] = v
		}
	}
}

// CountPullsForTest makes the NetConn c count the pulls it queues on the
// loop and returns the counter's reader; for tests.
func CountPullsForTest(c any) func() int64 {
	nc := c.(*netConn)
	var n atomic.Int64
	nc.mu.Lock()
	defer nc.mu.Unlock()
	nc.pullFn = func() { n.Add(1); nc.pull() }
	return n.Load
}

// CountLoopPullsForTest makes the NetConn c count every pull the loop runs
// (those its read callback runs included) and returns the counter's reader;
// for tests.
func CountLoopPullsForTest(c any) func() int64 {
	nc := c.(*netConn)
	n := new(atomic.Int64)
	nc.mu.Lock()
	defer nc.mu.Unlock()
	nc.pulled = n
	return n.Load
}
