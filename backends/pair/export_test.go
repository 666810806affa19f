package pair

// Live counts the ends in the Partner index, for leak tests.
func Live() int {
	n := 0
	ends.Range(func(_, _ any) bool { n++; return true })
	return n
}
