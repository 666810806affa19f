//go:build unix

package evbuffer_test

import (
	"fmt"
	"os"

	"github.com/bufev/bufev/evbuffer"
)

func ExampleBuffer_WriteToFD() {
	r, w, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	defer r.Close()
	defer w.Close()

	var out, in evbuffer.Buffer
	out.AddString("header\n")
	out.AddReference([]byte("body from the caller's memory\n"), nil)
	n, err := out.WriteToFD(int(w.Fd()), -1) // one writev for both chains
	fmt.Println(n, err, out.Len())

	n, err = in.ReadFromFD(int(r.Fd()), -1)
	fmt.Println(n, err)
	for {
		line, err := in.ReadLine(evbuffer.EOLLF)
		if err != nil {
			break
		}
		fmt.Printf("%s\n", line)
	}
	// Output:
	// 37 <nil> 0
	// 37 <nil>
	// header
	// body from the caller's memory
}
