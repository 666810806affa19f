package filter_test

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/bufev/bufev/backends/filter"
	"github.com/bufev/bufev/backends/pair"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
	"golang.org/x/text/encoding/charmap"
)

// A line-numbering output filter and a Latin-1 decoding input filter over a
// pair: the writer's lines leave numbered, the reader receives UTF-8 from a
// Latin-1 wire.
func Example() {
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		panic(err)
	}
	defer base.Close()
	p0, p1, err := pair.New(base, 0)
	if err != nil {
		panic(err)
	}
	// Output Func: prefix every complete line with its number, keep a
	// partial line for later (NeedMore), flush it at Finished.
	n := 0
	number := func(src, dst *evbuffer.Buffer, _ int, mode bufferevent.FlushMode) filter.Result {
		data, _ := src.Pullup(-1)
		for {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				break
			}
			n++
			_ = dst.AddString(fmt.Sprintf("%d: ", n))
			_ = dst.Add(data[:i+1])
			_ = src.Drain(i + 1)
			data = data[i+1:]
		}
		if mode == bufferevent.Finished && len(data) > 0 {
			_, _ = src.RemoveBuffer(dst, len(data))
		}
		if src.Len() > 0 {
			return filter.NeedMore
		}
		return filter.OK
	}
	// The writer encodes its text to Latin-1 below the numbering.
	enc, _ := filter.New(p0, nil, filter.FromTransformer(charmap.ISO8859_1.NewEncoder()), bufferevent.CloseOnFree)
	writer, _ := filter.New(enc, nil, number, bufferevent.CloseOnFree)
	reader, _ := filter.New(p1, filter.FromTransformer(charmap.ISO8859_1.NewDecoder()), nil, bufferevent.CloseOnFree)

	var got bytes.Buffer
	_ = reader.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		_, _ = got.ReadFrom(bev.Input())
	}, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		fmt.Print(got.String())
		fmt.Printf("reader event %v: %v\n", what, err)
		_ = bev.Close()
		_ = writer.Close()
	})
	_ = reader.Enable(bufferevent.Read)
	_ = base.RunInLoop(func() {
		_, _ = writer.Write([]byte("crème brûlée\nsmörgåsbord\nthe e"))
		_, _ = writer.Write([]byte("nd\n"))
		_, _ = writer.Flush(bufferevent.Write, bufferevent.Finished)
	})
	_ = base.Dispatch()
	// Output:
	// 1: crème brûlée
	// 2: smörgåsbord
	// 3: the end
	// reader event Reading|EOF: EOF
}

// A Func whose state needs releasing and whose failures have a reason: the
// filter calls the cleanup once when it is finalised, and its Error event
// wraps the reason given by WithCause.
func ExampleWithCleanup() {
	base, _ := eventbase.New(eventbase.Config{})
	defer base.Close()
	p0, p1, _ := pair.New(base, 0)
	defer p1.Close()

	errNotASCII := errors.New("ascii: byte above 0x7f")
	var lastErr error
	ascii := func(src, dst *evbuffer.Buffer, _ int, _ bufferevent.FlushMode) filter.Result {
		data, _ := src.Pullup(-1)
		if i := bytes.IndexFunc(data, func(r rune) bool { return r > 0x7f }); i >= 0 {
			lastErr = fmt.Errorf("%w at offset %d", errNotASCII, i)
			return filter.Error
		}
		_, _ = src.RemoveBuffer(dst, len(data))
		return filter.OK
	}
	bev, _ := filter.New(p0, ascii, nil, bufferevent.CloseOnFree,
		filter.WithCleanup(func() error { fmt.Println("cleanup: state released"); return nil }),
		filter.WithCause(func(bufferevent.Direction) error { return lastErr }))
	_ = bev.SetCallbacks(nil, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		fmt.Printf("event %v, ascii error: %v\n%v\n", what, errors.Is(err, errNotASCII), err)
		_ = bev.Close() // the cleanup runs once this callback returns
		fmt.Println("closed")
	})
	_ = bev.Enable(bufferevent.Read)
	_ = p1.Enable(bufferevent.Write)
	_, _ = p1.Write([]byte("caf\xc3\xa9"))
	_ = base.Dispatch()
	// Output:
	// event Reading|Error, ascii error: true
	// filter: input filter function failed (mode Normal): ascii: byte above 0x7f at offset 3
	// closed
	// cleanup: state released
}
