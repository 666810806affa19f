package bufferevent

// WakeForTest returns the function the group registered with
// ratelimit.Group.OnSuspend, as a decrement on another goroutine holds it
// after reading it under the group's lock; for tests.
func (rg *RateLimitGroup) WakeForTest() func() { return rg.wake }
