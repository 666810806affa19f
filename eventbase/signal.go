package eventbase

import (
	"os"
	"os/signal"
	"slices"
	"sync/atomic"
)

// maxSignal bounds the signal numbers a signal event may use.
const maxSignal = 65

// sigWatch forwards one signal from os/signal to the loop: a goroutine
// receives from the channel, counts deliveries and wakes the loop, which
// activates the signal's events with the count as ncalls.
type sigWatch struct {
	sig   int
	ch    chan os.Signal
	stop  chan struct{}
	done  chan struct{}
	count atomic.Int64
	evs   []*Event
}

func (b *Base) sigAdd(ev *Event) error {
	w := b.sigs[ev.fd]
	if w == nil {
		w = &sigWatch{
			sig:  ev.fd,
			ch:   make(chan os.Signal, 16),
			stop: make(chan struct{}),
			done: make(chan struct{}),
		}
		signal.Notify(w.ch, osSignal(ev.fd))
		go b.sigForward(w)
		b.sigs[ev.fd] = w
		b.nSigs++
	}
	w.evs = append(w.evs, ev)
	return nil
}

func (b *Base) sigForward(w *sigWatch) {
	defer close(w.done)
	for {
		select {
		case <-w.ch:
			w.count.Add(1)
			b.sigPend.Store(true)
			b.wakeup()
		case <-w.stop:
			return
		}
	}
}

func (b *Base) sigDel(ev *Event) {
	w := b.sigs[ev.fd]
	if w == nil {
		return
	}
	i := slices.Index(w.evs, ev)
	if i < 0 {
		return
	}
	w.evs = slices.Delete(w.evs, i, i+1)
	if len(w.evs) == 0 {
		b.sigStop(w)
	}
}

func (b *Base) sigStop(w *sigWatch) {
	signal.Stop(w.ch)
	close(w.stop)
	<-w.done
	b.sigs[w.sig] = nil
	b.nSigs--
}

func (b *Base) stopAllSignals() {
	for _, w := range b.sigs {
		if w != nil {
			b.sigStop(w)
		}
	}
}

// deliverSignals activates signal events with the deliveries counted since
// the last turn.
func (b *Base) deliverSignals() {
	b.sigPend.Store(false)
	if b.nSigs == 0 {
		return
	}
	for _, w := range b.sigs {
		if w == nil {
			continue
		}
		if n := w.count.Swap(0); n > 0 {
			for _, ev := range w.evs {
				b.activate(ev, Signal, int(n))
			}
		}
	}
}

// ActiveBySignal activates the pending signal events for sig once, as if
// it had been delivered (libevent's event_base_active_by_signal).
// Loop-confined.
func (b *Base) ActiveBySignal(sig int) {
	if sig <= 0 || sig >= maxSignal || b.sigs[sig] == nil {
		return
	}
	b.sync()
	for _, ev := range b.sigs[sig].evs {
		b.activate(ev, Signal, 1)
	}
}
