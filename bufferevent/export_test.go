package bufferevent

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
