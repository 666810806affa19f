// Package ratelimit is the accounting half of bufferevent rate limiting, libevent's
// bufferevent_ratelim.c without the event loop: token-bucket configurations (Config),
// per-bufferevent state (Limiter) and groups shared by many bufferevents (Group). It reads
// no clock and runs no timer: every time-dependent call takes now, the caller's cached loop
// time, and tells the caller when the next timer should fire. That keeps the package free
// of eventbase and makes every computation testable without sleeping.
//
// # Buckets
//
// A Config holds, per direction, a rate (bytes added per tick) and a burst (the most a
// bucket holds), and a tick length. NewConfig validates like libevent's
// ev_token_bucket_cfg_new: rates ≥ 1, rate ≤ burst, a tick of 1 ms to MaxTick, truncated to
// whole milliseconds. A zero tick is an error, as a zero timeval is in libevent; libevent's
// default (a NULL tick) is DefaultTick, one second, passed explicitly.
//
// A bucket starts at the rate, not the burst. Transfers are charged after the fact, so a
// level may go negative (the connection then waits until refills pay the debt). Time is
// counted in whole ticks since the bucket was set up: a refill at time t credits
// rate × (ticks crossed since the last refill), capped at the burst, so the total credit
// over any period is exact however late or early the calls are, and a time earlier than the
// last refill credits nothing. Changing a bucket's config only clips its levels down to the
// new bursts (libevent); if the tick length changes, tick counting restarts at that moment.
// A refill never lowers a level that a manual negative decrement pushed above the burst.
// All arithmetic saturates instead of overflowing.
//
// # Groups
//
// A Group is one bucket pair charged by all its members. Before a transfer each member is
// offered a share: the group's level as of its last refill (or resumption) divided by the
// number of members and rounded up, capped by the current level, but at least the min
// share (default 64 bytes, capped by the rates; at least 1 byte), or 0 while the group is
// suspended in that direction. A charge that empties the group's bucket suspends the
// direction for every member; a refill that brings it back to at least the min share
// resumes every member, starting at a random one each time. Group.DecrementRead/
// DecrementWrite adjust the bucket (and the level the shares are cut from) by hand and
// suspend or resume when the level crosses zero. Totals count the bytes charged by members.
//
// Fairness. libevent cuts each share from the current level, so within a tick the member
// that transfers first gets level/n, the next a little less, the last about a third of the
// first, and min shares then go to whoever comes first again; it randomizes the order in
// which it resumes members, but the order in which they then transfer is the poller's,
// which need not follow it. Cutting every share of a tick from the same snapshot, rounded
// up, gives each busy member exactly one equal share per tick in any order (the n-th
// empties the bucket; the last gets up to n−1 bytes less), which is what libevent's
// test-ratelim checks. When the min share exceeds level/n, only about level/minShare
// members can transfer per tick, and who they are would again be the poller's choice,
// possibly the same members every tick (libevent's random starting member does not change
// the order a level-triggered poller reports ready descriptors in). Then the group deals
// turns in rounds (turns.go): a member that had its turn waits, suspended for the group
// (GroupSuspended reports it for that member only), until the next round, which starts
// when every member has had its turn, when a tick ends with credit left over, or when the
// member that took the latest turn asks again within the same tick (the ones that have not
// had theirs are idle), so that a few busy members among idle ones still use the whole
// rate. Measured with backends/socket's test-ratelim port (30 connections, group 3000
// bytes per 100 ms tick, min share 512, so six transfers per tick): per-connection
// standard deviation 50–75 B/s around 1000 over 20 runs (libevent's check for its own
// cases: 100); before turns, the compressed run (2.5 times the rates) measured 437–1034
// B/s around 2500, one connection starved throughout.
//
// A share is offered per transfer, not per tick: a member that asks again within the tick
// gets another one, capped only by its own bucket and the group's current level (as in
// libevent). "One share each per tick" therefore holds because every busy member is
// polled in the same loop turn once the group resumes, so each takes one before any takes
// a second; a member polled one turn ahead of the others takes its second share before they
// take their first. The core must keep that true: a bufferevent suspended for its own
// limit must not keep its I/O event armed. backends/socket once re-armed the write event
// right after the charge that suspended it; that socket, still on the poller's ready list,
// made the loop spin until the refill and was reported one poll ahead when the group
// resumed. In examples/ratelimit-server's test (conn 10000 and group 22500 bytes per 50 ms
// tick, three clients), under some phases of the members' ticks, the two members whose own
// buckets had emptied took 7500 + 2500 every tick, which emptied them again, and the third
// got the remaining 2500: 200, 200 and 50 kB/s instead of 150 each, about once in 25 runs
// (TestGroupFairWithOwnLimits reproduces both on simulated time). The spin alone cost a
// core: the example server with three clients held by their own limits only (-conn-rate
// 200000 -group-rate 0 -tick 50ms) used 3.04 s of CPU in 3 s before the fix, 0.01 s after.
//
// Refills are lazy: a member's MaxToRead or MaxToWrite credits the group's elapsed ticks
// from the time it passes, with the same whole-tick arithmetic as Refill, so the owner
// needs a refill timer only while a direction is suspended or members wait for their turn
// (NeedsRefill). Group.OnSuspend tells the owner when to start it. A Group's ReadLimit and WriteLimit report the level as of the
// last credit: call Refill first for the current one.
//
// A Group is safe for concurrent use, because members may live on different event loops.
// It tells members about suspension changes through the Member interface, always after
// releasing its lock, and a notification carries no state: the member re-reads it with
// Limiter.GroupSuspended when it handles the notification on its own loop. Deliveries from
// different goroutines can overtake each other, and re-reading makes their order
// irrelevant. A Member implementation must not block (in particular it must not take a
// bufferevent lock or wait for another loop): it queues the work on its loop.
//
// # Wiring into the bufferevent core
//
// The core embeds one Limiter per bufferevent (the zero value limits nothing) and keeps two
// suspension reasons per direction, libevent's BEV_SUSPEND_BW (own bucket) and
// BEV_SUSPEND_BW_GROUP (group). All Limiter calls are made on the bufferevent's loop, or
// under its lock for thread-safe bufferevents; now is the base's cached time. The steps:
//
//  1. syncBW, the one function that applies the per-connection state (call it after every
//     step marked "sync" below):
//     ReadBlocked() ⇒ suspend read for BW, else lift BW; WriteBlocked() likewise; then
//     RefillAt(): if ok, arm the bufferevent's one-shot refill timer for that time (fire
//     at once if it is past), else stop the timer.
//  2. syncGroup, the one function that applies the group state:
//     r, w := GroupSuspended() (the group's suspension plus this member's wait for its
//     turn); suspend or lift BW_GROUP for each direction accordingly.
//  3. SetRateLimit(cfg): SetConfig(cfg, now); sync.
//  4. Before a read: n := MaxToRead(now, maxSingleRead). If n == 0, do not read (this is
//     not EOF); run syncGroup and syncBW, which suspend the direction, and return. Else read
//     at most n bytes. Writes: MaxToWrite(now, maxSingleWrite) the same way.
//  5. After a read of k > 0 bytes: ChargeRead(k); sync. After a write: ChargeWrite(k); sync.
//  6. Refill timer callback: Refill(now); sync.
//  7. Joining a group: JoinGroup(g, member); syncGroup. Leaving: LeaveGroup(); syncGroup
//     (which lifts BW_GROUP). Close: LeaveGroup() and stop the refill timer; then
//     Group.Close on an emptied group succeeds.
//  8. Member.GroupChanged(dirs): queue syncGroup on the bufferevent's loop
//     (Base.RunInLoop with a function value built once per bufferevent, so nothing is
//     allocated per notification), or skip it if the bufferevent is closed. Coalescing
//     pending notifications with an atomic flag is allowed, because syncGroup reads the
//     current state.
//  9. User-facing getters and adjusters map one to one: get read/write limit →
//     ReadLimit/WriteLimit(now); get max to read/write → MaxToRead/MaxToWrite(now,
//     maxSingle); decrement read/write limit → DecrementReadLimit/DecrementWriteLimit(n),
//     then sync.
//  10. Group driver: the function that creates a group for a base calls NewGroup(cfg,
//     base's now) and registers with OnSuspend a function that makes a one-shot timer on
//     that base run soon (from any goroutine). The timer's callback runs
//     next := Refill(now) and re-arms for next while NeedsRefill reports true, stopping
//     otherwise or when next is the zero time. After Group.SetConfig,
//     do the same with NextRefill(). To free the group: Close (fails while members
//     remain), then stop the timer. A driver may also keep the timer armed every tick, as
//     libevent does; refills are idempotent.
//
// Only the bufferevent types whose transports move bytes consult the limits (in libevent:
// socket, async and SSL); the others skip steps 4–6.
//
// # Cost
//
// A limit that never binds costs little: the group's timer runs only while a direction
// is suspended (a pending timer makes every poll arm a kernel timeout), shares are kept
// precomputed, the refill check is a time comparison, and a charge that does not block
// skips the core's re-evaluation. Measured on the 2-core shared development VM with
// backends/socket's BenchmarkRateLimitOverhead (4 KiB ping-pong over loopback TCP, both
// ends limited; process CPU per message; old and new binaries interleaved, -count 8,
// benchstat, the machine quiet):
//
//	no limit 12.33 µs ±3%; per-connection limit +1.0% (not significant, p=0.44);
//	group +2.0% (p=0.04); both +2.4% (p=0.05). Before these changes, in the same
//	run: group +3.6%, both +8.0%. A pending one-second timer alone costs +2.3%.
//
// A second run (-count 10, new code only) gave +1.1% (p=0.11), +2.3% and +0.2% (p=0.39),
// and +5.8% for the pending timer; a third, with turns (see Fairness), on a loaded machine
// (none 13.74 µs ±6%): +3.3% (p=0.12), +0.3% (p=0.80), +4.0% (p=0.05).
//
// In instructions (valgrind --tool=callgrind, BenchmarkRateLimitBookkeeping: MaxToWrite
// then ChargeWrite, no I/O): 66 without a limit, 300 with a per-connection limit (413
// before), 428 in a group (419), 491 with both (526). About 90 of them were the base's
// Now (time.Time.Add), read once per transfer: the core now reads the loop's time with
// eventbase's Base.LoopNow, which builds the time.Time once per cached time instead of
// once per call. Measured as the difference of callgrind's total instruction counts
// between -benchtime 200000x and 1200000x runs (the smaller of two runs each; runs vary
// by about ±8 instructions per transfer), per transfer: no limit 52 → 44 (code that does
// not read the time: the noise), per-connection 312 → 233, group 435 → 359, both 505 →
// 431, so about 75 fewer wherever a limit is set. End to end (4 KiB ping-pong, about
// 12 µs of CPU per message) 75 instructions are about 0.02 µs, below what this machine
// can resolve, so no end-to-end figure is claimed. Most of the group's extra cost is its
// lock, taken twice per transfer (an uncontended lock-free path for groups whose members
// all run on one loop was not attempted). Reproduce with
//
//	cd backends/socket && CGO_ENABLED=0 go test -c -o rl.test .
//	GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind ./rl.test -test.run '^$' \
//	    -test.bench 'RateLimitBookkeeping/limit=conn$' -test.benchtime 1200000x
//
// (and 200000x; subtract the totals and divide by 1 000 000), and end to end with
//
//	cd backends/socket && go test -run '^$' -bench RateLimitOverhead -count 10 . | tee rl.txt
//	benchstat -col /limit rl.txt
//
// # Differences from libevent
//
// Deliberate, each documented where it applies: maxSingle always caps MaxToRead and
// MaxToWrite; a member never gets less than 1 byte while its group is not suspended, and a
// suspended group resumes from a charge or refill only once it holds the min share and
// more than 0; the per-connection timer is armed for the tick at which the bucket becomes
// positive rather than one tick at a time; changing the tick length restarts tick counting
// instead of mixing two numberings; groups never miss a member (libevent try-locks members
// and retries on the next tick), so there is no pending-unsuspend state; refills never
// lower a level; errors instead of assertions for Close with members and for decrements
// without a per-connection config; group shares are cut from the level at the last
// refill, rounded up, and members take turns while the min share binds (see Fairness);
// the group's bucket is refilled lazily by its members, its timer running only while it
// is needed.
package ratelimit
