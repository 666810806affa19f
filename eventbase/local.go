package eventbase

// Local returns the value b keeps under key, creating it with mk on the
// first call for that key. It is per-loop state for packages layered on the
// base, shared by the objects they create on it: bufferevent keeps one
// evbuffer.ChainCache per base this way. key must be comparable; use a value
// of an unexported type, as with context.WithValue, so that packages cannot
// collide. The value lives as long as b. If two goroutines race on the first
// call for a key, both may call mk, and one result is kept for both.
// Safe for concurrent use (what the value allows is the value's business).
func (b *Base) Local(key any, mk func() any) any {
	if v, ok := b.locals.Load(key); ok {
		return v
	}
	v, _ := b.locals.LoadOrStore(key, mk())
	return v
}
