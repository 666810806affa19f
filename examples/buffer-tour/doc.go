// Command demo is a short tour of evbuffer, bufev's chained byte buffer: how
// bytes sit in chains, how they move between buffers without copying, how
// references and shared memory are released, how lines are read, and what
// freezing does. It prints what happens at each step.
//
// Run it with `cd examples && go run ./buffer-tour`.
package main
