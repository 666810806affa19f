//go:build linux && !race

package async

// raceEnabled: see race_on_linux_test.go.
const raceEnabled = false
