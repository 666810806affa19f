// Package evbuffer is a chained byte buffer: libevent's evbuffer in Go.
//
// Every other part of bufev moves bytes through a [Buffer]: bufferevents
// read into one and write from another, filters transform one into another,
// pairs splice one into the other. Its design lets those moves cost almost
// nothing.
//
// # Chains
//
// A Buffer is a singly linked list of chains. Each chain is one contiguous
// block of memory holding a window of readable bytes, with free space before
// the window (the "misalign") and after it:
//
//	[ misalign | readable bytes | free space ]
//
// The operations use that layout:
//
//   - Draining or removing from the front advances the misalign of the first
//     chain; nothing is moved. A chain whose bytes are all gone is freed.
//   - Adding fills the free space of the last chain holding data. When that
//     is too small the bytes are either moved to the front of the chain (only
//     when the chain is less than half full and holds at most 2 KiB), or a new
//     chain is linked, twice the size of the previous one up to 4 KiB, or as
//     big as the data.
//   - Prepending writes into the misalign space of the first chain, else into
//     a new chain.
//   - Spare empty chains after the last chain with data (left by Reserve or
//     Expand, or by reads) are used before anything is allocated.
//   - Chain memory comes from power-of-two pools (1 KiB to 1 MiB) shared by
//     all buffers, and goes back to them when the chain is freed, except
//     for one spare chain per buffer (see Memory below), so a buffer in
//     steady use allocates nothing. Chains above 1 MiB are left to the
//     garbage collector; a single chain never exceeds [MaxChainSize].
//
// Moving bytes between buffers relinks chains instead of copying them:
// [Buffer.AddBuffer] and [Buffer.PrependBuffer] cost the same for 10 bytes or
// 10 MiB, and [Buffer.RemoveBuffer] copies only the one chain that the
// boundary splits.
//
// Some chains hold memory the buffer does not own:
//
//   - [Buffer.AddReference] links the caller's slice itself and calls the
//     cleanup function exactly once when the last of its bytes has left every
//     buffer.
//   - [Buffer.AddSpace] links the caller's memory as empty space that the
//     next adds and reads fill (for memory the caller manages, such as the
//     async backend's pool of bulk receive blocks) and calls the release
//     function exactly once when the chain is freed, never while completion
//     I/O pins it.
//   - [Buffer.AddBufferReference] gives a buffer chains that share another
//     buffer's memory (read-only for both) without taking the bytes away from
//     it; the memory is recycled when neither holds it any more.
//   - [Buffer.AddFile] and [Buffer.AddFileSegment] add ranges of a file. In a
//     buffer with [FlagDrainsToFD] they stay in the file and
//     [Buffer.WriteToFD] sends them with sendfile(2); elsewhere the segment is
//     read into memory once and shared.
//
// [Buffer.ReadFromFD] reads with readv(2) into up to 4 chains of free space,
// sized by FIONREAD and [Buffer.MaxRead]; [Buffer.WriteToFD] writes with
// writev(2) over up to 128 chains.
//
// # Memory
//
// Like a bufio.Reader, which keeps its buffer, a Buffer keeps one emptied
// chain as a spare for its next add, read or reservation, instead of giving
// it back to the shared pools: filling and emptying a buffer over and over
// (the life of a connection's buffers) then costs no pool round trip. The
// bound:
//
//   - The spare is at most 4 KiB (plus its small chain header). Only plain
//     pooled chains are kept: never reference, shared, file or pinned
//     memory. An empty Buffer therefore holds at most 4 KiB, plus, until
//     its next modification, the chain that the last ReadLineSlice result
//     points into, and any space reserved with Reserve or Expand.
//   - [FlagKeepMemory] raises the bound to 1 MiB, for buffers that move big
//     blocks; [FlagReleaseMemory] lowers it to nothing: an empty buffer then
//     holds no memory at all, for very many mostly idle buffers, at the cost
//     of a pool round trip (about 10 ns) per fill-and-empty cycle.
//   - [Buffer.Shrink] gives the spare, the chain kept for the last
//     ReadLineSlice result and the empty space after the last byte (except
//     what a read in flight uses) back at once, for a buffer about to sit
//     idle; [Buffer.Reset] gives back everything. A Buffer dropped without
//     either leaves its memory to the garbage collector (and never calls the
//     release function of AddSpace memory still in it).
//   - A [ChainCache] (Buffer.SetChainCache) serves buffers confined to one
//     goroutine, an event loop's: the plain chains they free go to it before
//     the spare, and their next chains come from it, last freed first out,
//     without the shared pools' atomic operations. It holds at most 1 MiB.
//     bufferevent gives the buffers of its loop-confined bufferevents their
//     base's cache.
//
// # Slices into the buffer
//
// Several methods hand out slices of the buffer's own memory instead of
// copying. They stay valid until the next call that modifies the buffer
// (adds, removes, drains, moves, reads or writes from an fd, resets), with
// the exceptions noted:
//
//   - [Buffer.Peek] and [Buffer.Pullup]: readable bytes. Do not write to them;
//     they may be shared with another buffer or belong to the caller of
//     AddReference.
//   - [Buffer.ReadLineSlice] and [Buffer.Find]: like bufio.Reader.ReadSlice.
//   - [Buffer.Reserve]: writable space; it stays valid across the matching
//     [Buffer.Commit].
//
// A [Ptr] is not a slice: it names a position and survives modifications
// (see its documentation).
//
// # Completion I/O
//
// Completion-based I/O (io_uring, IOCP) hands the kernel memory that it
// fills or sends long after the call returned. [Buffer.PinRead] reserves
// space at the end (over up to N chains), freezes the end and returns the
// extents for the kernel to fill; [Buffer.CommitRead] credits the bytes
// received. [Buffer.PinWrite] returns the readable bytes at the front and
// freezes the front; [Buffer.CommitWrite] drains what was sent. In between,
// the chains involved are pinned (libevent's MEM_PINNED_R/W): no operation
// frees, recycles, moves or realigns them. Drain empties a read-pinned chain
// instead of freeing it; AddBuffer, PrependBuffer, RemoveBuffer and Pullup
// copy the bytes already in it and leave it behind; Pullup refuses to move
// a write-pinned chain (ErrPinned); Reset keeps read-pinned chains (empty)
// and frees write-pinned memory only at the commit (libevent's DANGLING
// chains). One read and one write may be in flight per buffer
// (ErrInFlight otherwise).
//
// # Performance notes
//
// The hot paths are written out so that the common case is a few loads and
// stores around the copy or the search: Add into the free space of the last
// chain (or the spare), Remove of a whole one-chain buffer, and ReadLineSlice
// of a line inside the first chain (one bytes.IndexByte, as
// bufio.Reader.ReadSlice). A line that spans two chains is moved to the
// front of the first chain (it is a plain chain with room for it) instead of
// being pulled up into a new one. The benchmarks in bench_test.go compare
// each path with bytes.Buffer, bufio or a bare copy in the same run.
//
// The spare chain was checked for its cache cost with many connections: in
// bench's 64-byte echo over 1000 connections under callgrind's cache
// simulation (1 MiB last-level cache, 100 000 messages, two runs each), the
// server's last-level misses per message were 15.1 and 15.1 with the spare
// and 15.1 and 14.9 without it (run-to-run spread about 0.8): a per-buffer
// spare costs no measurable locality against the pools' recently freed
// chains.
//
// With many connections the objects a change walks decide the cost (bench's
// doc.go has the measurements): a Buffer is 128 bytes, two aligned cache
// lines, with its rarely used state in a side struct; a callback can be a
// [Notifier] on its owner's own object, called straight from the buffer;
// [Callback.SetAddsOnly] spares a callback that only cares about additions
// the runs for removals; and [FlagNonblockingFD] makes the write of a socket
// known to be non-blocking a raw system call.
//
// Tried and dropped, measured with the ReadLine benchmark (CPU time, six
// interleaved runs, benchstat): searching for the end of line eight bytes at
// a time in Go (SWAR), either as a loop over the first 32 bytes or as four
// words tested at once, instead of calling bytes.IndexByte. Both were 15-20%
// slower on 20-28 byte lines (about 300 against 265 µs per MiB): the
// assembly IndexByte, one 32-byte vector compare, beats the word arithmetic
// even with its call overhead.
//
// # Concurrency
//
// A Buffer is not safe for concurrent use. Confine it to one goroutine — a
// bufferevent's buffers belong to its event loop — or guard it with your own
// lock. Callbacks run on the goroutine that modified the buffer, or, after
// [Buffer.DeferCallbacks], wherever the [Deferrer] runs them (the event loop).
// The only state shared between goroutines is memory shared by
// AddBufferReference and file segments; both are reference counted
// atomically, so buffers on different goroutines may hold the same memory.
//
// # Differences from libevent
//
// The behaviour follows libevent (include/event2/buffer.h) and its
// regression tests, which are ported in this package's tests. Deliberate
// differences:
//
//   - Errors are Go errors: sentinels prefixed "evbuffer: " ([ErrFrozen],
//     [ErrNegative], [ErrTooLarge], ...) and *os.SyscallError values for
//     system calls, instead of -1 and errno. Sizes are ints; negative sizes
//     are errors ([ErrNegative]) rather than huge unsigned values, so
//     libevent's drain(-1) is Drain(b.Len()).
//   - ReadFromFD returns (0, io.EOF) at end of file, and WriteToFD of an
//     empty buffer returns (0, nil) (libevent returns -1 without setting
//     errno).
//   - CopyOut, CopyOutFrom, Peek and Search work on a buffer whose front is
//     frozen: they change nothing (libevent's copyout refuses).
//   - ReadLine and ReadLineSlice stop at [Buffer.MaxLineLength] (64 KiB by
//     default) with [ErrLineTooLong], so a peer that never sends an end of
//     line cannot make the buffer scan or grow without bound.
//   - A [Ptr] is re-resolved from its position after the buffer changes
//     before it, instead of being left dangling.
//   - Peek gives no extents for empty chains.
//   - A failed AddFileSegment leaves the caller's segment reference alone
//     (libevent drops it). Files are never memory-mapped: a file truncated
//     under a mapping kills a Go process with SIGBUS, which it cannot
//     recover from. Bytes in sendfile chains cannot be read into memory
//     ([ErrNotInMemory]) instead of being undefined; RemoveBuffer splits such
//     chains without reading them.
//   - A Buffer is garbage collected: [Buffer.Reset] does what
//     evbuffer_free does to the contents (reference cleanups, recycling).
//     There is no reference count on the buffer and no built-in lock
//     (evbuffer_enable_locking, evbuffer_lock).
//   - Callbacks are removed by the handle AddCallback returns (Go functions
//     are not comparable, so evbuffer_remove_cb's (fn, arg) form and the
//     obsolete evbuffer_setcb are gone). A callback may remove any callback,
//     not only itself. A callback may also be a [Notifier] (AddNotifier): an
//     owner implementing it on its own object saves the function value and
//     the Callback object a change would otherwise load.
//   - Adding nothing to an empty buffer allocates nothing; adding more than
//     MaxChainSize bytes at once links several chains.
//   - The "with offset" variants disappear into slicing:
//     AddReference(p[off:off+n], cleanup).
//
// # libevent names
//
//	evbuffer_new, evbuffer_free           New (or a zero Buffer), Reset
//	evbuffer_get_length                   Len
//	evbuffer_get_contiguous_space         ContiguousSpace
//	evbuffer_add, evbuffer_add_printf     Add, AddString, Printf, Write, WriteString
//	evbuffer_add_iovec                    AddIovec
//	evbuffer_add_reference(_with_offset)  AddReference
//	evbuffer_prepend                      Prepend
//	evbuffer_add_buffer                   AddBuffer
//	evbuffer_prepend_buffer               PrependBuffer
//	evbuffer_remove_buffer                RemoveBuffer
//	evbuffer_add_buffer_reference         AddBufferReference
//	evbuffer_remove, evbuffer_drain       Remove, Read, ReadByte, Drain
//	evbuffer_copyout(_from)               CopyOut, CopyOutFrom
//	evbuffer_pullup                       Pullup
//	evbuffer_readln, evbuffer_readline    ReadLine, ReadLineSlice
//	evbuffer_find                         Find
//	evbuffer_search(_range), _search_eol  Search, SearchRange, SearchEOL
//	evbuffer_ptr_set (SET, ADD)           SetPtr, AdvancePtr
//	evbuffer_peek                         Peek
//	evbuffer_reserve_space, _commit_space Reserve, Commit
//	evbuffer_expand                       Expand
//	evbuffer_freeze, evbuffer_unfreeze    Freeze, Unfreeze, Frozen
//	evbuffer_add_cb, evbuffer_remove_cb*  AddCallback (AddNotifier), RemoveCallback
//	evbuffer_cb_set/clear_flags           Callback.SetEnabled
//	evbuffer_defer_callbacks              DeferCallbacks
//	evbuffer_read                         ReadFromFD (and ReadFrom)
//	evbuffer_write(_atmost)               WriteToFD (and WriteTo)
//	evbuffer_set/get_max_read             SetMaxRead, MaxRead
//	evbuffer_set/clear_flags              SetFlags, ClearFlags, Flags
//	evbuffer_file_segment_new/_free       NewFileSegment, FileSegment.Release
//	evbuffer_file_segment_add_cleanup_cb  FileSegment.SetCleanup
//	evbuffer_add_file_segment, _add_file  AddFileSegment, AddFile
//
// # Platforms
//
// Descriptors are ints everywhere. On Unix systems ReadFromFD and WriteToFD
// use readv/writev (Linux, FreeBSD, macOS; plain read/write on the others)
// and sendfile. On Windows the descriptor is a SOCKET handle and they use
// WSARecv/WSASend over up to 16 extents, with would-block errors matching
// syscall.EAGAIN; there is no sendfile, so file segments (whose descriptor
// is a file HANDLE there) are read into memory. Elsewhere (js, wasip1,
// plan9) descriptor I/O returns an error matching errors.ErrUnsupported. The
// Windows code is compiled and vetted but only the Unix code is tested here.
package evbuffer
