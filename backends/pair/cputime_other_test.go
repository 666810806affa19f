//go:build !unix

package pair_test

// processCPU is not measured on this platform; benchmarks then report 0
// CPU-ns/op.
func processCPU() int64 { return 0 }
