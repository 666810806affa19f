package bufferevent

import "github.com/bufev/bufev/bufferevent/backend"

// Reserve, then settle (backend.Core.ReserveRead and friends): libevent's
// bufferevent_async charges an operation's size when it launches it and
// refunds the unused part on completion.

func (b *BufferEvent) limited() bool { return b.rlOn }

// reserveRead charges n bytes for a read in flight. Lock held, on the loop.
func (b *BufferEvent) reserveRead(n int) {
	if n <= 0 || !b.limited() {
		return
	}
	b.rl.ReserveRead(int64(n))
	if b.rl.ReadBlocked() || b.readSusp&backend.SuspendBandwidth != 0 {
		b.applyBandwidth()
	}
}

func (b *BufferEvent) reserveWrite(n int) {
	if n <= 0 || !b.limited() {
		return
	}
	b.rl.ReserveWrite(int64(n))
	if b.rl.WriteBlocked() || b.writeSusp&backend.SuspendBandwidth != 0 {
		b.applyBandwidth()
	}
}

// settleRead ends a reservation: the unused part goes back. Lock held, on
// the loop.
func (b *BufferEvent) settleRead(reserved, used int) {
	if reserved <= 0 || !b.limited() {
		return
	}
	b.rl.SettleRead(int64(reserved), int64(used))
	if b.readSusp&backend.SuspendBandwidth != 0 {
		b.applyBandwidth()
	}
}

func (b *BufferEvent) settleWrite(reserved, used int) {
	if reserved <= 0 || !b.limited() {
		return
	}
	b.rl.SettleWrite(int64(reserved), int64(used))
	if b.writeSusp&backend.SuspendBandwidth != 0 {
		b.applyBandwidth()
	}
}
