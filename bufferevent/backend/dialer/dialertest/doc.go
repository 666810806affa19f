// Package dialertest holds test scenarios and helpers for connect-capable bufferevent
// types (backends/socket, backends/async, or your own), so each type checks the same
// libevent behaviour with one copy of the test: call a scenario from a Test function
// with a [Backend] that describes your type: [ConnectRefused] (a refused connect),
// [FinishedHalfClose] and, on Unix, [FinishedThenWrite] and [FinishedOffLoop]
// (Flush(Write, Finished) as a half-close) and [SetFDClosesOwnSocket] (who closes what
// SetFD replaces). [NewBase], [Dispatch] and [ClosedPort] are
// the loop and address helpers the scenarios use, exported for the type's own tests.
//
// It is test support: it imports package testing and is meant for _test.go files only.
package dialertest
