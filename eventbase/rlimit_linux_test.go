package eventbase

import "golang.org/x/sys/unix"

// raiseNoFile raises RLIMIT_NOFILE to n if the hard limit allows, as
// libevent's bench.c does.
func raiseNoFile(n int) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err == nil && rl.Cur < uint64(n) {
		rl.Cur = min(rl.Max, uint64(n))
		unix.Setrlimit(unix.RLIMIT_NOFILE, &rl)
	}
}
