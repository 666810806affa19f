package ssl

import (
	"fmt"

	"github.com/bufev/bufev/bufferevent"
)

// DebugState describes an ssl bufferevent's engine, for test failures.
func DebugState(bev *bufferevent.BufferEvent) string {
	e, err := lookup(bev)
	if err != nil {
		return err.Error()
	}
	e.ad.mu.Lock()
	defer e.ad.mu.Unlock()
	return fmt.Sprintf("phase=%d busy=%v again=%v runQueued=%v uReadOff=%v in=%d out=%d uin=%d uout=%d rbuf=%d more=%v wq=%d held=%d idle=%v hs=%v rerr=%v ususp=%#x uen=%v",
		e.phase, e.busy, e.again, e.runQueued, e.uReadOff, e.c.Input().Len(), e.c.Output().Len(),
		e.u.Input().Len(), e.u.Output().Len(), len(e.ad.rbuf)-e.ad.roff, e.ad.more, len(e.ad.wq), e.ad.held, e.ad.idle, e.ad.hs, e.ad.rerr,
		uint16(e.uc.ReadSuspended()), e.u.Enabled())
}

// SetTestHook makes newEngine's steps ("callbacks", "timer") fail with what
// f returns; the returned function restores the previous hook.
func SetTestHook(f func(step string) error) (restore func()) {
	prev := testHook
	testHook = f
	return func() { testHook = prev }
}

// UnderlyingEventForTest delivers an event of the underlying bufferevent to
// the ssl bufferevent bev, as the underlying's event callback would.
func UnderlyingEventForTest(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
	e, lerr := lookup(bev)
	if lerr != nil {
		panic(lerr)
	}
	e.uEvent(nil, what, err)
}
