//go:build unix

package eventbase

import "golang.org/x/sys/unix"

// wakeWrite makes the wake-up fd readable; a full pipe or eventfd already is.
func wakeWrite(w int) error {
	one := [8]byte{1}
	_, err := unix.Write(w, one[:])
	if err == unix.EAGAIN {
		return nil
	}
	return err
}

// wakeDrain empties the wake-up fd.
func wakeDrain(r int) {
	var buf [64]byte
	for {
		n, err := unix.Read(r, buf[:])
		if err != nil || n < len(buf) {
			return
		}
	}
}

func closeWakeFDs(r, w int) error {
	err := unix.Close(r)
	if w != r {
		if err2 := unix.Close(w); err == nil {
			err = err2
		}
	}
	return err
}
