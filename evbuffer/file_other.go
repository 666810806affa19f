//go:build !unix

package evbuffer

const haveSendfile = false

func fileSize(fd int) (int64, error)                   { return 0, errFDUnsupported }
func preadFD(fd int, p []byte, off int64) (int, error) { return 0, errFDUnsupported }
func closeFD(fd int) error                             { return errFDUnsupported }
