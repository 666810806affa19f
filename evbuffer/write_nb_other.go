//go:build !linux

package evbuffer

// sysWriteNB is sysWrite: FlagNonblockingFD changes nothing here.
func sysWriteNB(fd int, p []byte) (int, error) { return sysWrite(fd, p) }
