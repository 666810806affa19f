package filter

// SetTestHook makes New fail, when taking over the underlying's callbacks,
// with what f returns; the returned function restores the previous hook.
func SetTestHook(f func() error) (restore func()) {
	prev := testHook
	testHook = f
	return func() { testHook = prev }
}
