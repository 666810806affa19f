// Package bench holds end-to-end benchmarks of bufev against the standard library and Go peers.
package bench
