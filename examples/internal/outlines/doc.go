// Package outlines is a small helper for the examples' tests: an io.Writer that collects
// a program's output from any goroutine and lets the test wait for a line, and a check
// that a test left no descriptor open.
package outlines
