// Package bench holds end-to-end benchmarks of bufev against the standard library and
// gnet: an echo server under ping-pong and streaming load, all servers in one run so
// that benchstat can compare them.
//
// # Running
//
//	cd bench
//	go test -run '^$' -bench Echo -benchtime 50000x -count 6 | tee echo.txt
//	benchstat -col /server echo.txt
//
// Scenarios (sub-benchmarks BenchmarkEcho/<scenario>/server=<name>):
//
//   - pingpong/size=64/conns=1, conns=50, conns=1000: each connection sends 64 bytes and
//     waits for the echo before sending again.
//   - stream/size=4096/conns=50: each connection writes 4 KiB messages back to back while
//     a second goroutine reads the echo.
//
// One op is one echoed message; b.N messages are spread evenly over the connections, so a
// run has a fixed number of round trips per connection and 1000 connections stay bounded
// in time (use -benchtime Nx to fix N). Connection setup is outside the measured phase.
//
// Servers: bufev (socket listener and socket bufferevents on one event loop per -loops,
// default 1, each loop with its own SO_REUSEPORT listener; the read callback splices the
// input chains onto the output), std (a goroutine per connection, blocking Read and Write
// through a 32 KiB buffer — the standard library idiom, io.Copy's size) and gnet (its
// canonical echo: OnTraffic writes back c.Next(-1); -loops event loops). bufev and gnet
// both read up to 256 KiB at once: bufev through SetMaxSingleRead and SetMaxSingleWrite
// (libevent's default is 16 KiB), gnet through WithReadBufferCap (its default is 64 KiB).
// Flags change them: -bufev-maxio, -gnet-readbuf, -std-buf (bytes; pass them after
// -args with go test).
//
// # What is measured, and how server CPU is isolated
//
// The server runs in the benchmark process; the load generator runs in a child process
// (the test binary re-executed with BENCH_CHILD=1), which dials, warms up every
// connection with one round trip, reports READY, waits for GO, runs the load and reports
// the message count and its latency quantiles. Between GO and DONE the benchmark process
// does nothing but serve, so:
//
//   - cpu-ns/msg: user+system CPU time of the benchmark process (getrusage RUSAGE_SELF)
//     over the measured phase, divided by the messages: the server's CPU per message,
//     kernel time of its system calls included, the client's excluded.
//   - allocs/op and B/op: the server's allocations per message (the client allocates in
//     its own process).
//   - msgs/s: messages over the wall time of the measured phase.
//   - p99-µs: the 99th percentile of the round-trip latency seen by the client
//     (ping-pong only), from a log-linear histogram with about 3% resolution.
//   - reads/msg and writes/msg (Linux): the server's read- and write-family system calls
//     per message (syscr and syscw of /proc/self/io).
//   - user-ns/msg: the user part of cpu-ns/msg (the kernel splits a process's time
//     between user and system by sampling, so it is noisier than the sum).
//   - vcsw/msg and ivcsw/msg: the server's voluntary and involuntary context switches
//     per message (getrusage, all its threads).
//
// On a machine with few cores the client competes with the server for CPU, which moves
// msgs/s and latency but not the server's CPU per message; compare cpu-ns/msg first.
//
// # Results
//
// Measured on 2026-11-26 on the development machine (2 shared vCPUs, AMD EPYC, Linux,
// Go 1.26, other engineers' builds and tests running, load average 3 to 7: msgs/s and
// latency are noisy, CPU per message less so), with interleaved rounds of
//
//	go test -run '^$' -bench Echo -benchtime 30000x
//
// "before" is the code before this work with the session-1 configuration (64 KiB reads
// for bufev and gnet); "now" is the current code with 256 KiB. Server CPU per message in
// ns, median [min-max] of 6 rounds. First series (load average 3 to 5):
//
//	                           bufev                std                  gnet
//	before:
//	pingpong 64 B, 1 conn       9392 [8414-15694]   12209 [10488-17377]  14257 [11413-17219]
//	pingpong 64 B, 50 conns     5875 [5705-5924]     6261 [6060-6590]     5570 [5355-6081]
//	pingpong 64 B, 1000 conns   7710 [6494-8332]     8164 [7162-9102]     6276 [5654-7371]
//	stream 4 KiB, 50 conns      1866 [1627-1949]     1434 [1356-2106]     1802 [1568-2083]
//	now (without the single-chain write below):
//	pingpong 64 B, 1 conn       9157 [8369-17863]   10761 [10361-17960]  11506 [9683-15629]
//	pingpong 64 B, 50 conns     5812 [5552-5893]     6345 [5827-6789]     5508 [5329-6626]
//	pingpong 64 B, 1000 conns   6722 [6324-9173]     7413 [6695-8812]     6329 [5820-7771]
//	stream 4 KiB, 50 conns      1282 [1051-1439]     1498 [1354-1641]     1391 [1272-1504]
//
// Second series, current code (load average 5.5 to 6.5, so every figure is higher):
//
//	before:
//	pingpong 64 B, 1 conn       8968 [8450-9425]    11256 [10571-14041]  10834 [9971-14001]
//	pingpong 64 B, 50 conns     6284 [5962-6816]     6903 [6374-7604]     5802 [5734-7232]
//	pingpong 64 B, 1000 conns   8576 [7235-9668]     9421 [7994-10266]    8079 [6994-8239]
//	stream 4 KiB, 50 conns      1826 [1503-1998]     1564 [1312-1623]     1898 [1601-2327]
//	now:
//	pingpong 64 B, 1 conn       9676 [8588-12456]   11567 [10285-11825]  10765 [10147-11706]
//	pingpong 64 B, 50 conns     6026 [5751-6283]     7218 [6639-7763]     5623 [5368-5949]
//	pingpong 64 B, 1000 conns   8442 [7758-8883]     9087 [8439-9332]     7650 [7413-8519]
//	stream 4 KiB, 50 conns      1307 [1160-1423]     1576 [1484-1861]     1528 [1259-1754]
//
// All three servers allocate nothing per echoed message (0 allocs/op) and make the same
// system calls per ping-pong message: bufev and gnet one read and one write, std one
// write and about two reads (the second returns EAGAIN and parks the goroutine in the
// netpoller); epoll_wait is amortised over the ready connections and no epoll_ctl runs
// after setup. Streaming, bufev and gnet make 0.019 reads and writes per 4 KiB message
// (about 215 KiB each), std 0.13 (32 KiB each).
//
// In the first series the code changes alone (a third configuration, the old code at
// 256 KiB, in the same rounds) took bufev's 1000 connections from 7325 to 6722 ns (-8%);
// the other scenarios moved within noise (50 connections 6030 → 5812, streaming 1320 →
// 1282).
//
// (Session 2's state; "Closing the gap to gnet" below has session 3's.) bufev has the
// lowest CPU per message with one connection and when streaming, and
// beats the standard library everywhere. It does not reach gnet with 50 and 1000
// connections: 4-7% behind with 50 and 6-10% with 1000 in these series, about the spread
// of a single server here but the same sign in every run of this work. The difference is
// user space; the system calls cost the same. perf record, 300 000 messages over 50
// connections: 0.71 µs of user time per message for bufev, 0.52 µs for gnet. callgrind
// (whole server process over the measured phase, 50 connections, BENCH_VALGRIND=1 as
// below): gnet runs 1 170 instructions per message with almost no first-level cache
// misses (0.09), bufev 2 600 with 12: its path goes through the loop's active queue, the
// socket backend, the core (through the backend.Core interface), two buffers with their
// callbacks, and a chain taken from a pool for every read and returned after every write
// (about 250 instructions: sync.Pool, chain setup and release), where gnet reads into one
// loop-wide buffer and writes from it. What closing that would take: reads that land in
// a chain the buffer keeps (no pool round trip per message; the chain moves from input
// to output in an echo, so this needs buffers that trade spare chains), cheaper buffer
// callbacks (about 250 instructions per message for four changes), and an I/O event
// dispatched without the generic active-queue round trip (about 190).
//
// One of those was cheap and is done: WriteToFD writes a single contributing chain with
// one write(2), without the pooled iovec scratch — 2 830 → 2 610 instructions per
// 64-byte echo (callgrind, two runs each, ±40).
//
// Three more of bufev's own costs were cut afterwards (64-byte ping-pong, callgrind as
// below, 100 000 messages). The whole process's count varies by ±40 instructions per
// message from run to run (the runtime's and the poller's share depends on how many
// connections each epoll_pwait returns), but the count inside bufev's own packages is
// the same to the instruction in every run, so each change is given as that:
//
//   - evbuffer callbacks: the buffer keeps a count of its enabled callbacks and a
//     pointer to the sole one, so a change costs one inlined test without enabled
//     callbacks and one call without a walk with one (a bufferevent's input has its
//     watermark callback, its output the socket's write trigger plus the core's
//     disabled timer callback); the deferred check and the run share one frame.
//     evbuffer 933 → 783 instructions per message.
//   - rate limits: "is this bufferevent limited?" is one cached flag in the
//     bufferevent's first cache line, tested by inlined checks, instead of two pointer
//     loads 80 bytes apart in four non-inlined calls. bufferevent 468 → 420.
//   - event dispatch: a ready persistent I/O event with nothing to do on activation (no
//     timeout to re-arm, not already active, not a signal) runs straight from the epoll
//     result loop instead of through the active queue, when the base has one priority,
//     no dispatch limits, and nothing was active, queued by other goroutines or
//     signalled before the poll. The queue's order and libevent's batch semantics are
//     kept: an event added by a callback of the batch ignores the batch's readiness, a
//     deleted one does not run, a loop break queues the rest of the batch for the next
//     Loop, and events activated by callbacks run after the batch. eventbase 292 → 162.
//
// Together, bufev's own code (its packages and this benchmark's read callback) went
// from 2 081 to 1 753 instructions per message with 50 connections and from 2 075 to
// 1 749 with 1000; the whole process from 2 631 to 2 300 (50) and 2 735 to 2 414 (1000),
// first-level cache misses from 17.0 to 14.1 (50) and 24.0 to 20.7 (1000), last-level
// misses at 1000 from 13.6 to 13.0 per message (--cache-sim, 1 MiB 8-way LL). The CPU per
// message moved less than the noise: 5 917 → 5 802 ns with 50 connections and 7 000 →
// 6 844 ns with 1000 (benchstat medians of 10 interleaved rounds of 100 000 messages,
// ±2-12%, p = 0.12 and 0.97; the new build also has evbuffer's Add and ReadLine work of
// the same day), gnet 5 492 and 6 338 in the same rounds.
// About 330 instructions are about 0.1 µs of a 5.8 µs message. What is left of the gap
// to gnet is user time: perf record of 300 000 messages over 50 connections (one run
// each, connection setup included) puts the server's user time at 0.73 µs per message
// for bufev and 0.48 µs for gnet, its kernel time at 5.7 and 5.9 µs. The whole process
// still runs about 1 100 more instructions per message than gnet's 1 170: the chain
// pool round trip (about 250), the socket backend's calls through backend.Core, and two
// callbacks per buffer and message. Measured and not kept: the socket backend's output
// callback split into an inlinable test and a call (17 instructions per message fewer,
// no visible CPU change; the input's watermark callback cannot be made small enough to
// inline without caching its threshold). Not tried then: dropping the defer around the
// socket backend's read callback (about 35 instructions; it keeps the reference count and
// a ThreadSafe lock right when a user callback panics), and enabling the input's
// watermark callback only while a watermark can bind (about 75; every backend would
// have to bound its reads by InputRoom). Session 3 made the watermark callback skip
// removals instead (AddsOnly), which needs nothing of the backends; see "Closing the gap
// to gnet", which also supersedes this paragraph's counts.
//
// Streaming. About 92% of every server's streaming CPU is in read and write system
// calls, and on loopback a system call also pays for the peer's TCP work: a read that
// frees receive space sends a window update that makes the client transmit inside the
// server's read, and a write that finds the client's window open delivers into the
// client's socket inside the server's write. Fewer, larger calls cut that overhead:
// 256 KiB instead of 64 KiB reads cost bufev 22% less CPU per message (1.86 → 1.45 µs,
// 6 interleaved runs of 100 000 messages; another 4-run series gave 1.80, 1.48 and 1.40
// µs at 64, 128 and 256 KiB) and gnet 18% less, while ping-pong does not change
// (interleaved, all scenarios within noise). At equal buffer sizes bufev and gnet cost
// the same (64 KiB: 1.86 and 1.87 µs; 256 KiB: 1.45 and 1.52). The standard library at
// its idiomatic 32 KiB was level with them at 256 KiB in that series (1.41 µs; the two
// series above put bufev 13-17% below it), but given the same 256 KiB it is cheaper
// than both (1.13 µs), and not in user space but in the kernel: perf record puts std's
// writes at 220
// samples against bufev's 506 for the same messages (64 KiB), and the difference is
// transmission: 60% of bufev's write samples are in tcp_write_xmit delivering into the
// client's socket, 29% of std's. Most of std's writes find the client's window closed
// and queue, leaving the transmission to the client's own reads. That is a
// property of the scheduling of 50 goroutines on two threads against one loop thread,
// not of the work done per byte; a server cannot choose it.
//
// 1000 connections. With a thousand connections the objects one message walks (fd
// entry, event, callback closure, socket backend, bufferevent, two buffers and their
// callbacks, a chain) no longer stay in cache, so the misses per message decide the user
// time. valgrind's cache simulator counts them deterministically, whatever the load:
// BENCH_VALGRIND=1 makes the benchmark zero and dump callgrind's counters around each
// measured phase, so a dump holds the server process during that phase alone:
//
//	cd bench && CGO_ENABLED=0 go test -c -o bench.test .
//	BENCH_VALGRIND=1 GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind \
//	    --cache-sim=yes --LL=1048576,8,64 ./bench.test -test.run '^$' \
//	    -test.bench 'Echo/pingpong/size=64/conns=1000/server=bufev$' -test.benchtime 100000x
//
// (CGO_ENABLED=0 and asyncpreemptoff=1 keep callgrind's signal handling from crashing;
// the last callgrind.out.<pid>.<n> is the measured phase. For server=bufev-async add
// ASYNC_NOWAIT=1: valgrind 3.19 runs no other thread while one blocks in io_uring_enter,
// where the async ring waits for its loop, so the benchmark would hang.) With a 1 MiB 8-way last-level
// cache, the last-level misses per message fell from 21-23 to 11-13 and the
// instructions from 2 800-3 200 to 2 740-2 790, through three layout changes: an fd's
// first two events live in its fdInfo and an Event's per-activation fields come first
// (eventbase); the bufferevent's per-message fields fill its first three cache lines and
// its core output callback stays disabled until a backend uses the generic timers
// (bufferevent); the socket backend's per-event fields share one line.
//
// Neither server's loop goroutines are locked to their threads by the bench (since
// session 5): the async backend locks a loop goroutine itself while its ring's receives
// carry the traffic (more than four connections per loop) and leaves it unlocked while
// it receives by readiness (see "Threads" in the async package). Until then the bench
// locked the async loops for their life, which cost the one-connection row 20% to 28%
// against the unlocked socket server (a locked loop costs either backend that much with
// one connection on different CPUs). BENCH_ASYNC_LOCKED=1 locks the async loops for
// their life as before, BENCH_SOCKET_LOCKED=1 the socket server's, and ASYNC_NOLOCK=1
// stops the backend's own lock, for comparisons.
//
// # Closing the gap to gnet
//
// A third round of work (session 3) went after what one echoed message costs in user
// space: the objects and cache lines it walks, and the instructions. Each change was
// measured with the callgrind recipe above (100 000 messages, --cache-sim with a 1 MiB
// 8-way last-level cache, the whole server process; instructions per message vary by
// about ±30 from run to run with the runtime's share, last-level misses at 1000
// connections by about ±0.3), then all of them together against the code before, gnet
// and std in interleaved CPU runs. Per 64-byte message, instructions / first-level
// misses / last-level misses:
//
//	                                         50 conns             1000 conns
//	before                                   2309 / 14.9 / 0.6    2327 / 20.3 / 11.7
//	evbuffer Notifier, 128-byte Buffer       2329 /  7.4 / 0.1    2270 / 14.9 /  6.7-6.9
//	sock 256 and BufferEvent 512 bytes       2291 /  5.6 / 0.3    2305 / 13.9 /  4.9
//	raw write(2) (FlagNonblockingFD)         2031 /  5.4 / 0.6    2012 / 13.3 /  5.1
//	ChainCache per event base                1867 /  5.7 / 0.2    1841 / 13.5 /  4.9
//	fdInfo 64 and Event 192 bytes            1872 /  4.4 / 0.7    1896 / 12.5 /  4.1
//	AddsOnly callbacks, one-extent Commit    1683 /  4.1 / 0.0    1668 / 12.1 /  3.7
//	eventbase Handler for the socket events  1705 /  3.5 / 0.0    1699 / 11.5 /  3.2
//	chain release/alloc path streamlined     1578 /  3.7 / 0.3    1559 / 11.2 /  3.3
//	AddBuffer into an empty buffer inline    1539 /  3.4 / 0.2    (own packages -28)
//	Buffer.ReadWith for the socket's reads   1460 /  3.4 / 0.0    1439 / 11.1 /  3.1
//	gnet, for comparison                     1105 /  0.4 / 0.1    1460 /  4.6 /  0.0
//
// (bufev's own packages: 1752 → 1333 instructions per message.) The changes:
//
//   - evbuffer: a callback can be a Notifier (AddNotifier), an interface the owner
//     implements on its own object; a buffer whose only enabled callback is one calls it
//     straight from the buffer, with no Callback object and no method-value closure in
//     between (two objects, two likely misses, per buffer and change). The bufferevent's
//     watermark and output callbacks and the socket's output callback are Notifiers. The
//     Buffer shrank from 192 to 128 bytes, an aligned size class (two cache lines): the
//     limits, the callback list and the deferral state moved to a side struct the paths
//     moving bytes never read. Together: last-level misses 11.7 → 6.7-6.9 at 1000.
//     (Keeping the first callbacks inside a bigger Buffer measured worse, see below: the
//     gain comes from calling into an object already in cache and from a smaller Buffer.)
//   - The socket backend's sock padded from 240 to 256 bytes and the BufferEvent from
//     480 to 512, aligned size classes, so that their hot fields never straddle an extra
//     line: 6.8 → 4.9 last-level misses, all of it from the sock (in isolation the
//     BufferEvent's padding saves 0.5 first-level misses per message and no last-level
//     ones: 3.51 → 3.02 and 3.12 → 3.26, within the spread).
//   - evbuffer.FlagNonblockingFD: WriteToFD's single write(2) is a raw system call on
//     Linux, as the socket's read already was; the socket backend sets it (its
//     descriptors are always non-blocking). 260 instructions per message fewer, mostly
//     the runtime's entersyscall/exitsyscall and the scheduler work they cause.
//   - evbuffer.ChainCache: a loop-local last-in first-out list of freed chains per size
//     class, bounded at 1 MiB, without sync.Pool's atomics and processor pinning; the
//     buffers of a base's non-ThreadSafe bufferevents share one (eventbase.Base.Local
//     keeps it), ThreadSafe ones keep the shared pools, and a bufferevent's buffers leave
//     it when it is finalised. The chain just freed is still the next one handed out, so
//     the cache behaviour of the pools is kept (the per-connection chain tried in session
//     2 lost it). 164-171 instructions per message fewer.
//   - eventbase's fdInfo is 64 bytes (int32 counts) and its Event padded to 192, both
//     aligned: 4.9 → 4.1 last-level misses at 1000.
//   - evbuffer Callback.SetAddsOnly: a callback that only cares about additions is not
//     run for removals alone (one inlined test instead of a run). The socket's output
//     callback is AddsOnly; the bufferevent's input watermark callback is AddsOnly except
//     while reading is suspended by the watermark (only an addition can reach the limit,
//     SetWatermark and SetMaxInput recheck at once, and only a removal can release a
//     suspension). Commit of one extent checks and commits in one walk, and the socket's
//     read asks the core's MaxToRead once. 190-230 instructions fewer.
//   - eventbase.Handler and Base.NewHandlerEvent: an event callback through an interface;
//     the socket's read and write events call the sock itself, so a ready fd no longer
//     loads a method-value object: 3.7 → 3.2 last-level misses at 1000.
//   - evbuffer's chain path: a buffer with a chain cache gives freed plain chains to it
//     before its spare, the retired-chain check is inlined, and Reserve of one extent in
//     an empty buffer links a new chain directly: 110-140 instructions fewer. AddBuffer
//     into a buffer without chains (an echo's output) takes the source's list inline:
//     26 fewer.
//   - evbuffer Buffer.ReadWith(n, read): a read into the buffer's own space in one call,
//     where Reserve, the read and Commit took three and a kept extent slice; a read that
//     finds nothing gives its freshly linked chain back (an idle connection holds no
//     256 KiB chain after an empty read). The socket's reads use it, and the sock keeps
//     its two buffers instead of asking the core for them: 66 instructions fewer.
//   - Measured and not kept: core.Active written as two flag tests (2 instructions per
//     message fewer).
//
// Not done: dropping the defer around the socket's read callback (about 25 instructions
// now; it keeps the reference count and a ThreadSafe lock right when a user callback
// panics, which is worth more). What is left at 1000 connections is about eight cache
// lines per message that gnet does not touch: the fd entry, the event, the sock, two of
// the bufferevent and two of each buffer (the bufferevent's second line holds the
// watermarks and maximum read and write, which would need narrowing to 32 bits to join
// the first). Session 4 took them on; see "One line per object" below.
//
// The result, interleaved on a loaded machine (load average 2.5 to 4; 12 rounds of
// -benchtime 30000x, server CPU per message, benchstat medians ± 95% interval, "before"
// is the code this round started from, built with the same benchmark):
//
//	                           gnet            bufev now (vs gnet)              bufev before    std
//	pingpong 64 B, 1 conn      10.58 µs ± 5%    8.72 µs ± 27% (-17.6%, p=0.028)  9.01 µs ± 13%  10.92 µs ± 12%
//	pingpong 64 B, 50 conns     6.22 µs ± 5%    5.99 µs ± 2%  (~, p=0.18)        6.24 µs ± 7%    7.29 µs ± 8%
//	pingpong 64 B, 1000 conns   7.88 µs ± 6%    7.93 µs ± 6%  (~, p=0.38)        8.51 µs ± 9%    9.52 µs ± 9%
//	stream 4 KiB, 50 conns      1.43 µs ± 14%   1.28 µs ± 13% (~, p=0.55)        1.34 µs ± 16%   1.49 µs ± 9%
//
// bufev's median is now below gnet's in three scenarios and level with it at 1000
// connections (+0.6%, not significant); the code before used 7.9% more than gnet there
// (p=0.028). A second series, with the AddBuffer change and under heavier load (load
// average 4.6 rising to 7.3), shows how far the noise reaches: gnet 11.66, 5.92, 7.07
// and 1.36 µs; bufev now 8.74 (-25%, p=0.017), 6.23 (+5.3%, p=0.14), 7.65 (+8.2%,
// p=0.55) and 1.33 (-2.5%, p=0.16); bufev before 9.14, 6.12, 8.62 (+22% against gnet,
// p=0.000) and 1.30; std 11.41, 6.71, 8.61 and 1.50. Across both series bufev's CPU per
// message is below gnet's with one connection, and level with it (no significant
// difference either way) with 50 and 1000 connections and when streaming, where the
// code before was significantly above it at 1000.
//
// With ReadWith, the final state, two more series (20 rounds of the two many-connection
// scenarios at load average 2.5 to 3, then 12 rounds of all four at 3 to 5.3; "before"
// as above):
//
//	20 rounds                  gnet           bufev now                  bufev before
//	pingpong 64 B, 50 conns    5.88 µs ± 1%   5.81 µs ± 1% (-1.2%, p=0.27)  6.09 µs ± 2% (+3.5%, p=0.001)
//	pingpong 64 B, 1000 conns  7.13 µs ± 4%   7.06 µs ± 7% (-0.9%, p=0.37)  7.91 µs ± 4% (+11%, p=0.000)
//
//	12 rounds                  gnet            bufev now                     bufev before    std
//	pingpong 64 B, 1 conn      10.95 µs ± 13%   8.58 µs ± 32% (-21.7%, p=0.012)  9.65 µs ± 21%  11.57 µs ± 6%
//	pingpong 64 B, 50 conns     5.70 µs ± 4%    5.74 µs ± 2%  (+0.6%, p=0.84)    5.99 µs ± 2%    6.66 µs ± 3%
//	pingpong 64 B, 1000 conns   6.61 µs ± 4%    6.84 µs ± 7%  (+3.5%, p=0.13)    8.08 µs ± 8%    8.07 µs ± 8%
//	stream 4 KiB, 50 conns      1.46 µs ± 13%   1.23 µs ± 5%  (-15.7%, p=0.005)  1.40 µs ± 8%    1.56 µs ± 6%
//
// (percentages and p against gnet). bufev is below gnet with one connection and when
// streaming, and level with it with 50 and 1000 connections: its median was below
// gnet's in the 20-round series and 0.6-3.5% above in the 12-round one, never a
// significant difference, where the code before was significantly above it in every
// series (3.5-5% with 50, 8-22% with 1000). It is below the standard library in every
// scenario (-26%, -14%, -15%, -21%; p ≤ 0.006) and allocates nothing per message.
// Against its own previous code in the same rounds the new build is 3.9% cheaper at 50
// connections (p=0.045) and 6.7% at 1000 (p=0.14, within that scenario's noise). It is
// below the standard library everywhere: -20% (1 connection, p=0.020), -18% (50,
// p=0.000), -17% (1000, p=0.000), -14% (streaming, p=0.006). Reproduce with the
// interleaved rounds above (two builds, `-bench 'Echo/.*/.*/.*/server=(bufev|gnet|std)$'`
// for the old one, `server=bufev$` for the new) and
// `benchstat -filter '.unit:cpu-ns/msg' -col /server`.
//
// # One line per object at 1000 connections
//
// Session 4 went after the cache lines of "Closing the gap to gnet" (callgrind recipe
// above, whole server process, 100 000 messages of 64 bytes, 1000 connections). There,
// every line one message touches for the first time is a first-level miss, and the
// misses are whole numbers per source line: 1.00 each, one per cache line, which makes
// them easy to attribute (a per-line self-cost listing of the dump:
// fdmap.go:153 fi.mask, the fdInfo; :182 ev.events and :192 ev.interval, two lines of
// the event; socket.go onRead, the sock; bufferevent.go lockLoop and effectiveHigh, two
// lines of the bufferevent; buffer.go Len, Unfreeze and AddBuffer, and callbacks.go's
// cbRun test, two lines of each buffer; plus 0.2 for the fd table and 0.2 for the epoll
// result array). Per message, instructions / first-level misses / last-level misses:
//
//	                                                 1000 conns            50 conns
//	before (main at 7e00fec)                         1433 / 10.67 / 2.82   1445 / 3.05 / 0.00
//	Event.interval in the event's first line         1440 /  9.69 / 3.61
//	BufferEvent: one hot line                        1409 /  8.74 / 1.77
//	  ... its second line, not its first             1411 /  8.66 / 1.37
//	  (the same build again)                         1403 /  8.59 / 1.00
//	fd slots name the sole event                     1382 /  7.69 / 0.84   1401 / 0.46 / 0.00
//	gnet, for comparison                             1438 /  3.84 / 0.01
//
// (Last-level misses depend on where the heap puts the objects and move by ±0.4 from
// run to run of one build; instructions by about ±10, first-level misses by ±0.1.)
//
//   - eventbase Event: interval, which direct dispatch tests, sat in the event's second
//     line; it moves into the first (ncalls, read only on the queued path, moves next
//     to the queue links). TestEventLayout keeps direct dispatch's fields in 64 bytes.
//   - bufferevent BufferEvent: what a read event, the read callback and an echoed write
//     read fits one line: the effective read high watermark is cached (readHigh, kept by
//     SetWatermark and SetMaxInput), the maximum single read and write are int32
//     (SetMaxSingleRead/Write clamp at math.MaxInt32, which no read(2) or write(2)
//     exceeds anyway), bits say whether rlow and rhigh are set and whether there is a
//     write callback, and refs is int32; the watermarks, maximum input, write callback
//     and deferral flags move out. 30 instructions fewer as well: the tests of unset
//     watermarks and of a missing write callback no longer load them.
//   - The hot line is not the BufferEvent's first (its second here; its last since the
//     embedding below, which spreads them as well). Every 512-byte object
//     starts at a multiple of 512 and every aligned object of this design starts with its
//     hot fields, so first lines crowd one eighth of the cache sets: 1000 bufferevents,
//     500 sockets and 500 buffer lines there against 2048 ways of a 1 MiB 8-way cache.
//     Moving the bufferevent's to the second line spreads them: last-level misses 1.77 →
//     1.0-1.4. (The L2 of the machine these run on indexes sets with the same address
//     bits below the page size, so the crowding is not an artefact of the simulator.)
//   - eventbase fd table: Base.fds holds, beside each fd's fdInfo, its event when it has
//     exactly one (a socket that is reading while its write event is idle), kept by
//     ioAdd and ioDel and checked by checkInvariants. Direct dispatch of a ready fd with
//     one event goes from the slot to the event without reading the fdInfo (its
//     registered ET, the only thing it read there, is the event's own). The slot is 16
//     bytes instead of 8, which costs the table 0.1 misses per message.
//
// What callgrind still counts, 7.7 lines per message against gnet's 3.8 (with 50
// connections everything now stays in the first-level cache: 0.46 misses): the slot and
// epoll arrays (0.5), the event, the sock, the bufferevent, and two lines of each
// buffer. A buffer cannot do with one: what a read, an echo and a write touch (the
// chain list and total, 32 bytes; the add and remove counters that callbacks report,
// 16; the generation that Ptr checks, 8; the sole callback, 16; the chain cache, 8;
// flags and freeze state, 8) is 88 bytes, and the counters are written on every change.
// It could shrink only with narrower counters (a CallbackInfo reports changes of any
// size) or AddsOnly callbacks that do not report removals (a change of meaning).
//
// # What the hardware pays: one allocation per socket bufferevent
//
// callgrind simulates neither prefetchers nor memory latency, so the real cost of those
// lines was measured with perf record (cpu-clock at 4999 Hz, which works here where
// hardware counters do not) on the server process, 300 000 messages over 1000
// connections, counting its user-space samples per function and reading perf annotate
// for the instruction after each stalled load:
//
//	perf record -F 4999 -o bufev.data -- ./bench.test -test.run '^$' \
//	    -test.bench 'Echo/pingpong/size=64/conns=1000/server=bufev$' -test.benchtime 300000x
//	perf script -i bufev.data -F pid,ip,sym,dso   # the first pid is the server
//
// Almost all of bufev's user time beyond the instructions sat on the first load of
// three objects, each reached through a pointer read from the one before: the event
// (ioReady, about 300 samples), the sock (onRead's load of s.c, about 300) and the
// bufferevent (lockLoop's load of b.lk, about 260), against gnet's two such loads (its
// connection map and its conn: 115 and 225 samples). That is close to memory latency
// each, about 0.15-0.2 µs per message, not a cache hit. The buffers' lines cost far
// less (they are allocated in pairs, one after the other). Hence:
//
//   - eventbase.Base.InitHandlerEvent initialises a zero Event embedded in its owner,
//     and the socket backend's sock embeds the events of its first socket (a later
//     SetFD allocates), its hot line and the read event's first line sharing one
//     128-byte block. onRead's samples fell from about 300 to 100, but the cost moved on
//     to the bufferevent and the event: server user-time samples 1953 against 1918 (two
//     and four runs, spread about ±70), level.
//
//   - bufferevent.Init builds a bufferevent in a zero BufferEvent a backend embeds in
//     its own object, and the BufferEvent's hot line is now its last (bytes 448-511), so
//     the sock embeds it with its hot line right before the sock's: one 1152-byte
//     allocation per socket bufferevent (as much memory as the 256-, 512- and two
//     192-byte objects before), laid out as the sock's comment and TestSockLayout say,
//     checked on real allocations (the 8-byte allocation header of objects above 512
//     bytes included). lockLoop's samples fell from about 260 to 20 and onRead's stayed
//     near 100; the event's first line (ioReady, 350-450 samples) and the input
//     buffer's (MaxToRead's in.Len(), now about 200 where it was 40: the next pointer
//     chased) remain. Server user-time samples 1710 on average over four runs against
//     1918 for the code before the embedding (-11%, spread about ±100), about 0.14 µs
//     per message. In callgrind, which sees no prefetcher, the first-level misses are
//     unchanged (7.78 per message) and the last-level ones are higher (2.1-3.3: the
//     1152-byte objects put their three hot lines on fewer sets of the simulated
//     cache's virtually indexed sets; the hardware's last level is physically indexed).
//
//   - Measured and not kept: embedding the two buffers as well (a Config field for
//     them, 1408-byte allocation, the buffers before the bufferevent): the input
//     buffer's first line stayed at about 200 samples and user time did not fall (1743
//     against 1710); what is cheap is a line next to one just touched, not a line on the
//     same page.
//
//   - The event's first line was then the costliest load left, and nothing of this
//     message's work can hide it: it is the first thing the dispatch reads. The next
//     ready fd's can be, though. The epoll poller, before reporting a ready fd,
//     prefetches the next one's sole event (from its fd slot) and the two lines before
//     it, where the socket backend keeps its hot line and its bufferevent's
//     (PREFETCHT0 on amd64, PRFM on arm64, from a three-instruction assembly function;
//     a prefetch never faults, so the lines before an event that is not embedded cost
//     nothing but the hint). ioReady's event-line samples fell from 190-300 to 16-23 and
//     lockLoop's to 0; server user-time samples 1167 and 1141 against 1492 and 1233 for
//     the build without it, interleaved. callgrind counts 36 instructions more per
//     message (it executes the hint and simulates no prefetch, counting the hinted lines
//     as misses): 1447 / 7.97 / 3.45 at 1000 connections, 1441 / 0.97 / 0.00 at 50.
//
// Left: the input buffer's first line (MaxToRead's in.Len(), 75-90 samples), a pointer
// read from the bufferevent's hot line, so a prefetch would have to wait for that line;
// and the poll, kqueue and WSAPoll pollers neither prefetch nor yield with one P (below;
// only epoll was measured).
//
// Timed, server CPU per message (benchstat medians ± 95% interval, "before" is main at
// 7e00fec, this session's start, built with the same benchmark; interleaved rounds of
// bufev now, bufev before and gnet, one process each, 100 000 messages at 1000
// connections, 30 000 otherwise; load average 4 to 10 from other engineers' work
// throughout, so every figure is noisy):
//
//	                                     bufev now        bufev before            gnet
//	1000 conns, 16 rounds                6.11 µs ± 7%    6.46 µs ± 7% (+5.7%)     6.45 µs ± 9% (+5.6%, p=0.13)
//	1000 conns, 16 rounds, no prefetch   6.92 µs ± 4%    7.13 µs ± 4% (+3.0%)     7.07 µs ± 6% (+2.2%, p=0.31)
//	1000 conns, 20 rounds, callgrind's   7.53 µs ± 10%   7.71 µs ± 10% (+2.5%)    7.90 µs ± 7% (+5.0%, p=0.096)
//	  three changes only
//	1 conn, 8 rounds                     18.1 µs ± 44%   13.9 µs ± 40% (p=0.16)   13.4 µs ± 13% (p=0.11)
//	50 conns, 8 rounds                   6.43 µs ± 9%    6.25 µs ± 6% (p=0.13)    6.35 µs ± 8% (p=0.28)
//	stream 4 KiB, 50 conns, 8 rounds     1.46 µs ± 17%   1.41 µs ± 18% (p=0.43)   1.58 µs ± 8% (p=0.16)
//
// (percentages and p against bufev now). At 1000 connections bufev's median is now
// below gnet's in every series, by 2-6%, and below its own code before by 2.5-5.7%;
// none of these differences is significant at this load (p 0.1-0.3), as none of the
// session-3 ones was. With one connection the runs were bimodal for both bufev builds
// (8.3 to 25 µs); callgrind puts the new build at 1899 instructions per message against
// 1964 before (-65), and at 50 connections at 0.46 first-level misses against 3.05, so
// neither can have become slower; 50 connections and streaming are level.
//
// Pinned to one CPU (taskset -c 1, server and client sharing it, so GOMAXPROCS is 1;
// 16 rounds at 1000 connections), gnet was significantly cheaper: -9.7% (p=0.019) with
// callgrind's three changes, -10.4% (p=0.013) with the embedding, -18.7% (p=0.000)
// with the prefetch (bufev 7.92, 7.53 and 7.53 µs, gnet 7.16, 6.75 and 6.12 µs), bufev
// now and before level with each other, and bufev's runs bimodal (5.4 to 9.1 µs within
// one series, its fastest below gnet's fastest). The context switches the benchmark
// now reports (vcsw/msg) separate the modes: 0.004-0.008 voluntary switches per
// message in bufev's cheap runs (5.7-6.2 µs), 0.22-0.28 in its costly ones (7.1-8.0
// µs); gnet's stay at 0.03-0.18. Run with GOMAXPROCS=2 on the same single CPU, bufev
// was cheap in all six runs (5.4-6.3 µs, 0.003-0.006 switches). So it is the runtime
// with one P: sysmon takes the P from a thread blocked in a system call for more than
// 20 µs, and when no thread is polling the network (here none is) it starts one to do
// so; the loop's thread, back from epoll_pwait, then has to get its P back, and on one
// CPU the process falls into a sleep and a wake-up every few messages. gnet's loop
// passes through the scheduler (runtime.Gosched) before its blocking epoll_wait. The
// epoll poller now does the same when GOMAXPROCS is 1, and only then: with more Ps
// sysmon leaves a P in a system call alone for 10 ms, and a yield measured 41% worse at
// one connection unpinned (16.7 against 9.9 µs, p=0.001: a thread on the other P takes
// the loop goroutine, so it changes threads every message). A non-blocking epoll_pwait
// before the blocking one, without the yield, did not help (six of eight runs still
// costly). Pinned, interleaved with the build before the yield and gnet:
//
//	                                     bufev now        bufev before (no yield)    gnet
//	1000 conns, 8 rounds, 100 000 msgs   5.99 µs ± 9%     6.97 µs ± 17% (p=0.065)    5.94 µs ± 29% (p=0.46)
//	1 conn, 6 rounds, 30 000 msgs        7.53 µs ± 2%     8.23 µs ± 2% (p=0.002)     7.50 µs ± 3% (p=0.70)
//	50 conns, 6 rounds                   5.97 µs ± 6%     5.78 µs ± 4% (p=0.31)      5.89 µs ± 5% (p=0.49)
//	stream 4 KiB, 50 conns, 6 rounds     1.26 µs ± 11%    1.20 µs ± 12% (p=0.59)     1.38 µs ± 8% (p=0.13)
//
// With one CPU bufev is now level with gnet at 1000 connections and with one connection
// (medians +0.8% and +0.3%, not significant), and level at 50 and streaming. Unpinned
// the code path is unchanged; the last unpinned series before the yield, 8 rounds at
// 1000 connections on a quieter machine (load average 3.6), had bufev at 5.50 µs ± 2%
// with a prototype of it (non-blocking poll, then yield, for any GOMAXPROCS), 5.64 µs ±
// 4% without, and gnet at 5.71 µs ± 4% (+3.9% against the first, p=0.000).
//
// The yield stays in the epoll poller rather than in Base.Loop before every blocking
// wait (tried in the session's final review, not kept): before a Waiter's wait (the async
// ring blocking in io_uring_enter) it made the async server 25% more expensive with one
// connection pinned to one CPU (8.07 → 10.05 µs per message, 8 interleaved rounds,
// p=0.000; voluntary context switches per message 0.60 → 1.13), the socket server
// unchanged (7.62 → 7.59 µs, p=0.33).
//
// The final code of session 4 (main at the yield's commit), interleaved with the code
// before the session (7e00fec) and gnet, server CPU per message, benchstat medians ±
// 95% interval (load average 3 to 9):
//
//	                                    bufev now        bufev before                gnet
//	1000 conns, 16 rounds, 100 000      5.52 µs ± 3%     5.78 µs ± 6% (+4.7%, p=0.081)    5.84 µs ± 3% (+5.9%, p=0.001)
//	1000 conns pinned, 12 rounds        6.10 µs ± 9%     7.44 µs ± 14% (+22%, p=0.000)    6.14 µs ± 18% (+0.7%, p=0.44)
//	1 conn, 16 rounds, 30 000           9.18 µs ± 12%    9.68 µs ± 17% (p=0.51)           10.93 µs ± 28% (+19%, p=0.000)
//	50 conns, 16 rounds                 5.72 µs ± 4%     5.73 µs ± 1% (p=0.96)            5.70 µs ± 2% (p=0.22)
//	stream 4 KiB, 50 conns, 8 rounds    1.21 µs ± 14%    1.25 µs ± 9% (p=0.44)            1.35 µs ± 18% (p=0.14)
//
// (percentages and p against bufev now; "pinned" is taskset -c 1 for the whole run,
// server and client on one CPU.) At 1000 connections bufev is now significantly below
// gnet unpinned and level with it pinned, where the code before was 22% above its own
// new figure; with one connection it stays below gnet, and with 50 and streaming level.
// Reproduce with interleaved rounds of two builds (each `go test -c` of this package):
// for each round, `./new.test -test.run '^$' -test.bench
// 'Echo/pingpong/size=64/conns=1000/server=bufev$' -test.benchtime 100000x`, the same
// for the old build, and `server=gnet$` from either, renaming the two bufev lines
// apart, then `benchstat -filter '.unit:cpu-ns/msg' -col /server` (prefix each run
// with `taskset -c 1` for the pinned series).
//
// # What was tried for the loop's scheduler cost
//
// The event loop blocks in epoll_pwait on its own thread (syscall.Syscall6), outside Go's
// netpoller, so while it waits its P sits in a system call and sysmon keeps ticking.
// Under strace the plain-socket ping-pong with one connection shows, per 20 000 messages,
// about 3 300 nanosleep and 320 futex calls for bufev, 8 600 and 590 for gnet, and 8 900
// and 640 for the standard library (counts grow with wall time, which strace inflates):
// on plain sockets bufev's loop does not cost more scheduler system calls than its peers.
// Measured alternatives, each against the unchanged build in interleaved runs (6 runs of
// every scenario, benchstat medians of cpu-ns/msg), none of which was kept:
//
//   - Parking the loop goroutine in Go's netpoller (the epoll fd registered through
//     os.NewFile and waited on with RawConn.Read, a read deadline for timers): nanosleep
//     calls fell by three quarters, but CPU per message rose (geomean +11%: 10.9 → 13.2 µs
//     with one connection, 6.3 → 6.7 µs with 50, 9.3 → 10.3 µs with 1000), as every wait
//     adds a park, a netpoll round and an extra empty epoll_pwait.
//   - A raw non-blocking epoll_pwait before each blocking one (gnet's and netpoll's
//     busy-poll step): no difference (geomean +0.9%, every scenario within noise); the
//     loop already never blocks while callbacks, deferred work or queued requests are
//     pending, and its non-blocking polls and epoll_ctl calls are already raw.
//   - runtime.LockOSThread on the loop goroutine: no difference (geomean +3.8%, within
//     noise).
//   - Spinning over non-blocking polls before blocking was not tried beyond that: the
//     client's round trip is tens of microseconds here, so a spin long enough to catch
//     it burns more CPU than the blocking wait it saves.
//   - Batching epoll_ctl changes: there are none in steady state to batch.
//
// Layout alternatives measured with callgrind's cache simulation (last-level misses per
// message, 1000 connections, 100 000 messages; run-to-run spread about ±0.8), none kept:
//
//   - Embedding the input and output buffers in the BufferEvent (one 824-byte allocation
//     instead of three): 16.3 misses against 13.6 for separate buffers. Go gives objects
//     above 512 bytes an 8-byte allocation header; the 824-byte bufferevent started 8
//     bytes before a cache-line boundary, so its hot fields spanned one line more.
//   - Padding the BufferEvent to 512 bytes (cache-line aligned size class): 14.7, no
//     gain.
//   - Keeping an evbuffer's first two callbacks and its callback list inside the Buffer
//     (no separate Callback objects): worse, 14.7 against 11.3 (the Buffer grew from 176
//     to 232 bytes).
//   - Capping epoll_wait at 64 events per call (so that each batch's events are still
//     cached when they run): 17.2 against 16.7, no gain.
//   - Reads sized to what recent reads needed (4 KiB up to the maximum, growing fourfold
//     on a full read) plus AddBuffer handing the destination's spare chain to the
//     emptied source, so that an echo's chain cycles between input and output instead
//     of through the pools: 190 fewer instructions per message (2 614 → 2 424 with 50
//     connections) but more cache misses, as every connection then holds its own chain
//     where the pool hands out the one just freed, still cached: first-level misses
//     11.9 → 16.7 with 50 connections, last-level 13.0 → 16.9 with 1000. Not kept.
//   - Raw write(2) for the socket backend's writes (as its reads): done in session 3
//     behind evbuffer.FlagNonblockingFD, since WriteToFD serves blocking descriptors too
//     (see "Closing the gap to gnet").
//
// Kept: the socket backend's read(2) is a raw system call on Linux (a non-blocking read
// never blocks): 383 → 335 ns of CPU per read in a microbenchmark of EAGAIN reads
// (getrusage over 500 000 reads, 12 interleaved runs), below the end-to-end noise
// (geomean -2.9% on the four scenarios, not significant). The socket backend now sets
// TCP_NODELAY on accepted and connected TCP sockets itself, as the standard library
// does, so this server no longer sets it in its accept callback.
//
// # Dependencies
//
// github.com/panjf2000/gnet/v2 (and its dependencies: ants, zap, bytebufferpool,
// lumberjack, x/sync) is required only by this module's tests. gnet is the most used Go
// event-loop networking library and the peer bufev must beat on CPU per message; a
// comparison is only honest against the real thing, built from the Go module proxy at a
// pinned version (v2.9.7). No other module of the repository depends on it.
//
// The tests build on Linux, macOS and FreeBSD (they use getrusage and SO_REUSEPORT).
package bench
