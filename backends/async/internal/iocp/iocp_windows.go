//go:build windows

package iocp

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/bufev/bufev/eventbase"
	"golang.org/x/sys/windows"
)

// Sentinel errors, matched with errors.Is. They are never modified: safe for concurrent
// use.
var (
	// ErrCanceled is reported by an operation ended by Cancel before it completed.
	ErrCanceled = errors.New("iocp: operation canceled")
	// ErrClosed is returned by, and reported to, operations of a closed Port. It wraps
	// net.ErrClosed.
	ErrClosed = fmt.Errorf("iocp: port closed: %w", net.ErrClosed)
	// ErrTooManyBuffers is returned by Send for more than MaxBuffers buffers.
	ErrTooManyBuffers = fmt.Errorf("iocp: more than %d buffers in one operation", MaxBuffers)
	// ErrBusy is returned by RecvOp and SendOp for an Op still in flight.
	ErrBusy = errors.New("iocp: operation still in flight")
	// ErrNotAssociated is returned for a socket not associated with the Port.
	ErrNotAssociated = errors.New("iocp: socket not associated with this port")
	// ErrStuck is returned by Close when canceled operations did not complete in time;
	// their memory then stays referenced forever rather than risk a kernel write into
	// freed memory.
	ErrStuck = errors.New("iocp: canceled operations did not complete")
)

// MaxBuffers bounds the buffers of one Send or Recv (WSABUFs per call). A constant:
// safe for concurrent use.
const MaxBuffers = 64

// closeWait bounds how long Close waits for canceled operations to complete.
const closeWait = 10 * time.Second

// quitKey is the completion key of the packet Close posts to stop the goroutine.
const quitKey = ^uintptr(0)

var (
	modkernel32     = windows.NewLazySystemDLL("kernel32.dll")
	procGQCSEx      = modkernel32.NewProc("GetQueuedCompletionStatusEx")
	wsaInit         sync.Once
	wsaErr          error
	acceptExSockLen = uint32(unsafe.Sizeof(windows.RawSockaddrInet6{})) + 16
)

// overlappedEntry is OVERLAPPED_ENTRY.
type overlappedEntry struct {
	key      uintptr
	ov       *windows.Overlapped
	internal uintptr
	qty      uint32
}

type opKind uint8

const (
	opRecv opKind = iota + 1
	opSend
	opConnect
	opAccept
)

// Op is one overlapped operation, returned by the Port's methods; its zero value may be
// passed to RecvOp and SendOp, and reused once its callback has run. It must live in
// heap memory (the system writes into it) and must not be copied while in flight. Its
// OVERLAPPED stays the first field: the completion's OVERLAPPED pointer is converted back
// to the Op. Loop-confined, like the Port.
type Op struct {
	ov       windows.Overlapped
	port     *Port
	kind     opKind
	sock     windows.Handle
	canceled bool
	queued   bool // completion dequeued or deferred; delivery pending
	bufs     [][]byte
	wsa      [MaxBuffers]windows.WSABuf
	flags    uint32

	immN  uint32 // byte count of an operation completed at once
	immFn func() // delivers it from the base's deferred queue; kept across reuse

	onIO     func(n int, err error)
	onAccept func(s windows.Handle, peer windows.Sockaddr, err error)

	// accept
	lsock   windows.Handle
	asock   windows.Handle
	addrBuf [2 * (unsafe.Sizeof(windows.RawSockaddrInet6{}) + 16)]byte
}

type completion struct {
	op     *Op
	n      uint32
	status windows.NTStatus
}

// Port is a completion port bound to one event base. All methods are loop-confined
// (call them on the base's loop goroutine, or while the loop is not running), except
// where a method says otherwise.
type Port struct {
	h    windows.Handle
	base *eventbase.Base

	inflight map[*Op]struct{} // loop-confined
	skip     map[windows.Handle]bool
	closed   bool

	pending  atomic.Int64 // operations the kernel will post a completion for
	closing  atomic.Bool
	orphaned atomic.Bool // the base closed under us: completions cannot be delivered
	onOrphan func()
	done     chan struct{}
	free     chan *batch // pooled batches (goroutine takes, loop gives back)

	// mu orders the goroutine's own release of an orphaned port against Close.
	mu     sync.Mutex
	exited bool // the goroutine closed the port handle (under mu)
}

func startup() error {
	wsaInit.Do(func() {
		var d windows.WSAData
		if err := windows.WSAStartup(0x202, &d); err != nil {
			wsaErr = os.NewSyscallError("WSAStartup", err)
			return
		}
		if err := windows.LoadConnectEx(); err != nil {
			wsaErr = os.NewSyscallError("WSAIoctl(ConnectEx)", err)
		}
	})
	return wsaErr
}

// New creates a completion port whose callbacks run on base's loop goroutine, and starts
// the goroutine that waits on it. Close releases both.
//
// If base is closed while operations are still in flight (their callbacks can then never
// run), the goroutine waits for the system to complete them, closes the port and exits
// by itself, calling onOrphan (if not nil) on that goroutine; Close then only reports the
// undelivered callbacks. Loop-confined.
func New(base *eventbase.Base, onOrphan func()) (*Port, error) {
	if base == nil {
		return nil, errors.New("iocp: nil base")
	}
	if err := procGQCSEx.Find(); err != nil {
		return nil, err
	}
	if err := startup(); err != nil {
		return nil, err
	}
	h, err := windows.CreateIoCompletionPort(windows.InvalidHandle, 0, 0, 1)
	if err != nil {
		return nil, os.NewSyscallError("CreateIoCompletionPort", err)
	}
	p := &Port{
		h:        h,
		base:     base,
		inflight: make(map[*Op]struct{}),
		skip:     make(map[windows.Handle]bool),
		done:     make(chan struct{}),
		onOrphan: onOrphan,
		free:     make(chan *batch, batchPool),
	}
	for range batchPool {
		p.free <- p.newBatch()
	}
	go p.run()
	return p, nil
}

// Associate attaches sock to the port (once per socket) and, when Windows allows it,
// turns off completion packets for operations that complete at once. Loop-confined.
func (p *Port) Associate(sock windows.Handle) error {
	if p.closed {
		return ErrClosed
	}
	if _, ok := p.skip[sock]; ok {
		return nil
	}
	if _, err := windows.CreateIoCompletionPort(sock, p.h, 0, 0); err != nil {
		return os.NewSyscallError("CreateIoCompletionPort", err)
	}
	skip := windows.SetFileCompletionNotificationModes(sock,
		windows.FILE_SKIP_COMPLETION_PORT_ON_SUCCESS|windows.FILE_SKIP_SET_EVENT_ON_HANDLE) == nil
	p.skip[sock] = skip
	return nil
}

// Forget drops the port's record of sock; call it before closing a socket whose
// operations have all completed (the handle value may be reused). Loop-confined.
func (p *Port) Forget(sock windows.Handle) { delete(p.skip, sock) }

// InFlight reports how many operations have not yet had their callback called.
// Loop-confined.
func (p *Port) InFlight() int { return len(p.inflight) }

func (p *Port) newOp(kind opKind, sock windows.Handle, reuse *Op) (*Op, error) {
	if p.closed {
		return nil, ErrClosed
	}
	if _, ok := p.skip[sock]; !ok {
		return nil, ErrNotAssociated
	}
	if reuse == nil {
		return &Op{port: p, kind: kind, sock: sock}, nil
	}
	if _, busy := p.inflight[reuse]; busy {
		return nil, ErrBusy
	}
	imm := reuse.immFn
	*reuse = Op{port: p, kind: kind, sock: sock, immFn: imm}
	return reuse, nil
}

func (op *Op) setBufs(bufs [][]byte) error {
	if len(bufs) > MaxBuffers {
		return ErrTooManyBuffers
	}
	op.bufs = bufs
	for i, b := range bufs {
		op.wsa[i].Len = uint32(len(b))
		op.wsa[i].Buf = nil
		if len(b) > 0 {
			op.wsa[i].Buf = &b[0]
		}
	}
	return nil
}

// started finishes the start of op after the system call returned err: pending, done at
// once (with skip-on-success, deliver through Defer) or failed.
func (p *Port) started(op *Op, err error, n uint32) error {
	switch {
	case err == windows.ERROR_IO_PENDING || err == nil && !p.skip[op.sock]:
		p.inflight[op] = struct{}{}
		p.pending.Add(1)
		p.base.AddVirtual(1)
		return nil
	case err == nil:
		p.inflight[op] = struct{}{}
		op.queued = true
		op.immN = n
		if op.immFn == nil {
			op.immFn = func() { op.port.deliver(completion{op: op, n: op.immN}) }
		}
		p.base.AddVirtual(1)
		p.base.Defer(op.immFn)
		return nil
	default:
		return err
	}
}

// Recv starts an overlapped WSARecv into bufs; cb gets the byte count (0 at end of
// stream) or the error, on the loop goroutine. Loop-confined.
func (p *Port) Recv(sock windows.Handle, bufs [][]byte, cb func(n int, err error)) (*Op, error) {
	return p.RecvOp(nil, sock, bufs, cb)
}

// RecvOp is Recv reusing op (when not nil) instead of allocating one: an Op may be
// reused once its callback has run (ErrBusy before). Loop-confined.
func (p *Port) RecvOp(op *Op, sock windows.Handle, bufs [][]byte, cb func(n int, err error)) (*Op, error) {
	op, err := p.newOp(opRecv, sock, op)
	if err != nil {
		return nil, err
	}
	if err := op.setBufs(bufs); err != nil {
		return nil, err
	}
	op.onIO = cb
	var n uint32
	err = windows.WSARecv(sock, &op.wsa[0], uint32(len(bufs)), &n, &op.flags, &op.ov, nil)
	if err := p.started(op, err, n); err != nil {
		return nil, os.NewSyscallError("WSARecv", err)
	}
	return op, nil
}

// Send starts an overlapped gathering WSASend of bufs; cb gets the byte count sent or
// the error, on the loop goroutine. Loop-confined.
func (p *Port) Send(sock windows.Handle, bufs [][]byte, cb func(n int, err error)) (*Op, error) {
	return p.SendOp(nil, sock, bufs, cb)
}

// SendOp is Send reusing op (when not nil) instead of allocating one, as RecvOp.
// Loop-confined.
func (p *Port) SendOp(op *Op, sock windows.Handle, bufs [][]byte, cb func(n int, err error)) (*Op, error) {
	op, err := p.newOp(opSend, sock, op)
	if err != nil {
		return nil, err
	}
	if err := op.setBufs(bufs); err != nil {
		return nil, err
	}
	op.onIO = cb
	var n uint32
	err = windows.WSASend(sock, &op.wsa[0], uint32(len(bufs)), &n, 0, &op.ov, nil)
	if err := p.started(op, err, n); err != nil {
		return nil, os.NewSyscallError("WSASend", err)
	}
	return op, nil
}

// Connect starts ConnectEx of the associated stream socket sock to sa, binding sock to
// the wildcard address first when it is not bound yet (ConnectEx requires it); cb gets
// the outcome on the loop goroutine. Loop-confined.
func (p *Port) Connect(sock windows.Handle, sa windows.Sockaddr, cb func(err error)) (*Op, error) {
	op, err := p.newOp(opConnect, sock, nil)
	if err != nil {
		return nil, err
	}
	var wild windows.Sockaddr = &windows.SockaddrInet4{}
	if _, ok := sa.(*windows.SockaddrInet6); ok {
		wild = &windows.SockaddrInet6{}
	}
	if err := windows.Bind(sock, wild); err != nil && err != windows.WSAEINVAL {
		return nil, os.NewSyscallError("bind", err)
	}
	op.onIO = func(_ int, err error) { cb(err) }
	err = windows.ConnectEx(sock, sa, nil, 0, nil, &op.ov)
	if err := p.started(op, err, 0); err != nil {
		return nil, os.NewSyscallError("ConnectEx", err)
	}
	return op, nil
}

// Accept starts AcceptEx on the associated listening socket lsock with a fresh socket of
// the given family (windows.AF_INET or AF_INET6); cb gets the accepted socket (blocking
// mode, not associated with any port, owned by cb) and the peer's address, or the error,
// on the loop goroutine. Loop-confined.
func (p *Port) Accept(lsock windows.Handle, family int, cb func(s windows.Handle, peer windows.Sockaddr, err error)) (*Op, error) {
	op, err := p.newOp(opAccept, lsock, nil)
	if err != nil {
		return nil, err
	}
	as, err := windows.WSASocket(int32(family), windows.SOCK_STREAM, windows.IPPROTO_TCP, nil, 0,
		windows.WSA_FLAG_OVERLAPPED|windows.WSA_FLAG_NO_HANDLE_INHERIT)
	if err != nil {
		return nil, os.NewSyscallError("WSASocket", err)
	}
	op.lsock, op.asock, op.onAccept = lsock, as, cb
	var n uint32
	err = windows.AcceptEx(lsock, as, &op.addrBuf[0], 0, acceptExSockLen, acceptExSockLen, &n, &op.ov)
	if err := p.started(op, err, n); err != nil {
		windows.Closesocket(as)
		return nil, os.NewSyscallError("AcceptEx", err)
	}
	return op, nil
}

// Cancel asks the system to end every operation in flight on sock (CancelIoEx); each
// reports ErrCanceled unless it completed first. The callbacks still run later, on the
// loop goroutine, once the system has let go of the buffers. Loop-confined.
func (p *Port) Cancel(sock windows.Handle) error {
	if p.closed {
		return ErrClosed
	}
	found := false
	for op := range p.inflight {
		if op.sock == sock && !op.queued {
			op.canceled = true
			found = true
		}
	}
	if !found {
		return nil
	}
	if err := windows.CancelIoEx(sock, nil); err != nil && err != windows.ERROR_NOT_FOUND {
		return os.NewSyscallError("CancelIoEx", err)
	}
	return nil
}

// CancelOp asks the system to end op only (CancelIoEx with its OVERLAPPED); it
// reports ErrCanceled unless it completed first. Harmless for an op already completed.
// Loop-confined.
func (p *Port) CancelOp(op *Op) error {
	if p.closed {
		return ErrClosed
	}
	if _, ok := p.inflight[op]; !ok || op.queued || op.canceled {
		return nil
	}
	op.canceled = true
	if err := windows.CancelIoEx(op.sock, &op.ov); err != nil && err != windows.ERROR_NOT_FOUND {
		return os.NewSyscallError("CancelIoEx", err)
	}
	return nil
}

// run is the port's goroutine: it dequeues completions and hands them to the loop.
func (p *Port) run() {
	defer close(p.done)
	var entries [64]overlappedEntry
	quit := false
	for {
		if quit && p.pending.Load() == 0 {
			return
		}
		var got uint32
		r, _, e := syscall.SyscallN(procGQCSEx.Addr(), uintptr(p.h),
			uintptr(unsafe.Pointer(&entries[0])), uintptr(len(entries)),
			uintptr(unsafe.Pointer(&got)), uintptr(windows.INFINITE), 0)
		if r == 0 {
			if e == windows.WAIT_TIMEOUT {
				continue
			}
			// The port itself failed: nothing more can be dequeued.
			return
		}
		var b *batch
		select {
		case b = <-p.free:
		default:
			b = p.newBatch() // every pooled batch is queued on the loop: it lags
		}
		b.items = b.items[:0]
		for i := range entries[:got] {
			en := &entries[i]
			if en.key == quitKey && en.ov == nil {
				quit = true
				continue
			}
			op := (*Op)(unsafe.Pointer(en.ov))
			b.items = append(b.items, completion{op: op, n: en.qty, status: windows.NTStatus(en.internal)})
			p.pending.Add(-1)
		}
		if len(b.items) > 0 && !p.closing.Load() && !p.orphaned.Load() {
			if p.base.RunInLoop(b.fn) != nil {
				// The base is closed: nobody will run callbacks any more.
				p.orphaned.Store(true)
			}
		} else {
			p.recycle(b)
		}
		if p.orphaned.Load() && !quit && p.pending.Load() == 0 && p.releaseOrphan() {
			if p.onOrphan != nil {
				p.onOrphan()
			}
			return
		}
	}
}

// releaseOrphan closes the port handle unless Close has started; it reports whether it
// did.
func (p *Port) releaseOrphan() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing.Load() {
		return false
	}
	p.exited = true
	windows.CloseHandle(p.h)
	return true
}

// batch carries completions from the port's goroutine to the loop. Batches are pooled
// (p.free) so that steady traffic allocates nothing; fn is allocated once per batch.
type batch struct {
	items []completion
	fn    func()
}

// batchPool is how many batches circulate before the goroutine allocates more.
const batchPool = 4

func (p *Port) newBatch() *batch {
	b := &batch{items: make([]completion, 0, 64)}
	b.fn = func() { p.deliverBatch(b) }
	return b
}

// recycle returns b to the pool (dropping it when the pool is full).
func (p *Port) recycle(b *batch) {
	clear(b.items)
	b.items = b.items[:0]
	select {
	case p.free <- b:
	default:
	}
}

func (p *Port) deliverBatch(b *batch) {
	for _, c := range b.items {
		c.op.queued = true
	}
	for _, c := range b.items {
		p.deliver(c)
	}
	p.recycle(b)
}

// deliver runs op's callback unless Close already did.
func (p *Port) deliver(c completion) {
	op := c.op
	if _, ok := p.inflight[op]; !ok {
		return
	}
	delete(p.inflight, op)
	p.base.AddVirtual(-1)
	var err error
	if c.status != 0 {
		err = os.NewSyscallError(op.kind.String(), c.status.Errno())
		if op.canceled {
			err = fmt.Errorf("%w: %w", ErrCanceled, err)
		}
	}
	n := int(c.n)
	switch op.kind {
	case opAccept:
		op.finishAccept(err)
		return
	case opConnect:
		if err == nil {
			if e := windows.Setsockopt(op.sock, windows.SOL_SOCKET, windows.SO_UPDATE_CONNECT_CONTEXT, nil, 0); e != nil {
				err = os.NewSyscallError("setsockopt(SO_UPDATE_CONNECT_CONTEXT)", e)
			}
		}
	}
	op.onIO(n, err)
}

func (op *Op) finishAccept(err error) {
	as := op.asock
	if err != nil {
		windows.Closesocket(as)
		op.onAccept(windows.InvalidHandle, nil, err)
		return
	}
	ls := op.lsock
	if e := windows.Setsockopt(as, windows.SOL_SOCKET, windows.SO_UPDATE_ACCEPT_CONTEXT,
		(*byte)(unsafe.Pointer(&ls)), int32(unsafe.Sizeof(ls))); e != nil {
		windows.Closesocket(as)
		op.onAccept(windows.InvalidHandle, nil, os.NewSyscallError("setsockopt(SO_UPDATE_ACCEPT_CONTEXT)", e))
		return
	}
	var lrsa, rrsa *windows.RawSockaddrAny
	var llen, rlen int32
	windows.GetAcceptExSockaddrs(&op.addrBuf[0], 0, acceptExSockLen, acceptExSockLen, &lrsa, &llen, &rrsa, &rlen)
	var peer windows.Sockaddr
	if rrsa != nil {
		peer, _ = rrsa.Sockaddr()
	}
	op.onAccept(as, peer, nil)
}

func (k opKind) String() string {
	switch k {
	case opRecv:
		return "WSARecv"
	case opSend:
		return "WSASend"
	case opConnect:
		return "ConnectEx"
	case opAccept:
		return "AcceptEx"
	}
	return "iocp"
}

// Close cancels every operation in flight, waits until the system has completed them
// all (bounded; see ErrStuck), stops the goroutine, closes the port, and then calls each
// callback that had not run yet with an error matching ErrClosed (an accepted socket is
// closed). Sockets stay open: they belong to the caller. Idempotent. Loop-confined.
func (p *Port) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	p.mu.Lock()
	p.closing.Store(true)
	exited := p.exited
	p.mu.Unlock()
	cancelled := map[windows.Handle]bool{}
	for op := range p.inflight {
		if !op.queued && !cancelled[op.sock] {
			cancelled[op.sock] = true
			windows.CancelIoEx(op.sock, nil)
		}
	}
	var err error
	if exited {
		// Orphaned: the goroutine closed the port after the base closed.
		<-p.done
	} else {
		if e := windows.PostQueuedCompletionStatus(p.h, 0, quitKey, nil); e != nil {
			err = os.NewSyscallError("PostQueuedCompletionStatus", e)
		} else {
			select {
			case <-p.done:
			case <-time.After(closeWait):
				// Leave the port, the goroutine and the ops referenced: safe, but leaked.
				return ErrStuck
			}
		}
		if e := windows.CloseHandle(p.h); e != nil && err == nil {
			err = os.NewSyscallError("CloseHandle", e)
		}
	}
	ops := make([]*Op, 0, len(p.inflight))
	for op := range p.inflight {
		ops = append(ops, op)
	}
	for _, op := range ops {
		delete(p.inflight, op)
		p.base.AddVirtual(-1)
		if op.kind == opAccept {
			windows.Closesocket(op.asock)
			op.onAccept(windows.InvalidHandle, nil, ErrClosed)
		} else {
			op.onIO(0, ErrClosed)
		}
	}
	return err
}
