//go:build linux && race

package async

// raceEnabled: the race detector allocates and sync.Pool drops items under it, so the
// allocation tests skip.
const raceEnabled = true
