package ssl

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"sync"
	"time"

	"github.com/bufev/bufev/backends/socket"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/backend"
	"github.com/bufev/bufev/evbuffer"
	"github.com/bufev/bufev/eventbase"
)

// TypeName is the name ssl bufferevents are registered under
// (BufferEvent.Type, bufferevent.Types). bufferevent.Open with it fails
// with an error matching errors.ErrUnsupported: use NewSocket or NewFilter.
// A constant, safe for concurrent use.
const TypeName = "ssl"

func init() {
	bufferevent.Register(TypeName, func(*eventbase.Base, bufferevent.Options) (*bufferevent.BufferEvent, error) {
		return nil, fmt.Errorf("%w: an ssl bufferevent needs a tls.Config and a state; use ssl.NewSocket or ssl.NewFilter", errors.ErrUnsupported)
	})
}

// State is the TLS state an ssl bufferevent starts in (libevent's enum
// bufferevent_ssl_state, same values). A plain value: safe for concurrent
// use.
type State int

// States.
// Constants, safe for concurrent use.
const (
	// Open: the TLS session is already established; it is taken from a
	// Session released by an earlier ssl bufferevent (see WithSession).
	Open State = 0
	// Connecting: act as the TLS client and run the handshake.
	Connecting State = 1
	// Accepting: act as the TLS server and run the handshake.
	Accepting State = 2
)

// String returns "Open", "Connecting", "Accepting" or "State(n)". Safe for
// concurrent use.
func (s State) String() string {
	switch s {
	case Open:
		return "Open"
	case Connecting:
		return "Connecting"
	case Accepting:
		return "Accepting"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Flags are the per-bufferevent behaviour flags of libevent's
// bufferevent_ssl_set_flags (same values for the first two). A plain value:
// safe for concurrent use; read and change a bufferevent's flags with
// GetFlags, SetFlags and ClearFlags.
type Flags uint64

// Flags.
// Constants, safe for concurrent use.
const (
	// DirtyShutdown: a peer that closes the connection without a TLS
	// close_notify alert gives an EOF event instead of an Error
	// (BUFFEREVENT_SSL_DIRTY_SHUTDOWN).
	DirtyShutdown Flags = 1
	// BatchWrite: gather the output into full-sized records (up to 16 KiB
	// of plaintext each) instead of one record per buffer chunk
	// (BUFFEREVENT_SSL_BATCH_WRITE).
	BatchWrite Flags = 2
	// NoCloseNotify: Close does not send close_notify, so the peer sees a
	// dirty shutdown — libevent's behaviour on bufferevent_free. bufev
	// extension.
	NoCloseNotify Flags = 4

	allFlags = DirtyShutdown | BatchWrite | NoCloseNotify
)

// DefaultHandshakeTimeout bounds the handshake unless HandshakeTimeout says
// otherwise (libevent has no such limit; a peer that stops mid-handshake
// would hold the connection forever).
// A constant, safe for concurrent use.
const DefaultHandshakeTimeout = 10 * time.Second

// maxErrors is how many errors Errors keeps (libevent keeps 3).
const maxErrors = 8

// writeFrame is the most plaintext handed to crypto/tls per Write: one
// full record (libevent uses 15000, WRITE_FRAME).
const writeFrame = 16 << 10

// innerMaxRead is the maximum single read and write of the hidden socket
// bufferevent in socket mode: a full TLS record is 16 KiB + up to 256
// bytes, so the default 16 KiB would split every full record over two
// system calls.
const innerMaxRead = 64 << 10

// defaultUnderCap bounds the ciphertext queued in the underlying's output
// when it has no write high watermark.
const defaultUnderCap = 64 << 10

// Option configures NewSocket and NewFilter. Options are plain functions
// over a private settings value: safe for concurrent use.
type Option func(*settings)

type settings struct {
	hsTimeout time.Duration
	flags     Flags
	session   *Session
}

// HandshakeTimeout sets how long the handshake may take (from construction
// to the Connected event), and a server-requested renegotiation; 0 means no
// limit, a negative d counts as 0. The default is DefaultHandshakeTimeout.
// On expiry the event callback gets Timeout with ErrHandshakeTimeout. Safe
// for concurrent use.
func HandshakeTimeout(d time.Duration) Option {
	return func(s *settings) { s.hsTimeout = max(d, 0) }
}

// WithFlags sets the initial flags (see SetFlags); unknown bits are
// ignored. Safe for concurrent use.
func WithFlags(f Flags) Option {
	return func(s *settings) { s.flags = f & allFlags }
}

// WithSession gives the released Session that state Open takes over (see
// Session). Safe for concurrent use.
func WithSession(sess *Session) Option {
	return func(s *settings) { s.session = sess }
}

// Session is an established TLS session that can outlive its ssl
// bufferevent, for libevent's re-wrap use: obtain it with SessionOf after
// the Connected event, close the bufferevent without CloseOnFree (the
// session is then released, with any ciphertext already read from the
// transport), and pass it with WithSession to a new ssl bufferevent in
// state Open over the same connection. Safe for concurrent use.
type Session struct {
	mu       sync.Mutex
	tc       *tls.Conn
	ad       *adapter
	attached bool
	out      []byte // ciphertext not yet sent when released
}

// ConnectionState returns the session's negotiated parameters (the zero
// value once the session has ended). Call it while no bufferevent drives
// the session, or on that bufferevent's loop goroutine outside a
// renegotiation (it waits for crypto/tls's handshake lock). Not safe for
// concurrent use with the bufferevent driving the session except on its
// loop goroutine, as said.
func (s *Session) ConnectionState() tls.ConnectionState {
	s.mu.Lock()
	tc := s.tc
	s.mu.Unlock()
	if tc == nil {
		return tls.ConnectionState{}
	}
	return tc.ConnectionState()
}

// registry of live ssl bufferevents, for the package functions.
var live = struct {
	sync.Mutex
	m map[*bufferevent.BufferEvent]*engine
}{m: make(map[*bufferevent.BufferEvent]*engine)}

func lookup(bev *bufferevent.BufferEvent) (*engine, error) {
	if bev == nil {
		return nil, ErrNotSSL
	}
	live.Lock()
	e := live.m[bev]
	live.Unlock()
	if e == nil {
		if bev.Type() == TypeName {
			return nil, bufferevent.ErrClosed
		}
		return nil, ErrNotSSL
	}
	return e, nil
}

// phases of an engine.
const (
	phHandshake = iota
	phOpen
	phReneg // a renegotiation runs on a goroutine
	phDone  // failed, EOF, or closed
)

// engine is the ssl backend: backend.Ops for the ssl bufferevent and the
// callbacks of the underlying bufferevent (the hidden socket bufferevent in
// socket mode).
type engine struct {
	c          backend.Core
	bev        *bufferevent.BufferEvent
	base       *eventbase.Base
	u          *bufferevent.BufferEvent
	uc         backend.Core
	socketMode bool
	cfg        *tls.Config
	state      State

	// Loop-confined, guarded by the core lock for ThreadSafe bufferevents.
	tc         *tls.Conn
	ad         *adapter
	sess       *Session
	phase      int
	flags      Flags
	errs       []error
	busy       bool
	again      bool
	runQueued  bool
	hsTimer    *eventbase.Event
	backstop   *time.Timer // ends the handshake goroutine even if the loop stops
	hsStop     func() bool // unregisters the base-close watch of the handshake goroutine
	hsTimeout  time.Duration
	dead       bool
	aborted    bool // the constructor failed: Close leaves the transport alone
	hsDone     bool // the handshake completed (ConnectionState is safe)
	finPending bool // Flush(Write, Finished) during a handshake: done when it completes
	rdone      bool // the peer's close_notify ended the read direction; writing goes on
	uReadOff   bool
	uCbGen     uint64 // the underlying's CallbacksGen once ours were set
	outCb      *evbuffer.Callback
	vec        [1][]byte
	pv         [1][]byte

	runFn, kickFn, flushHSFn, feedFn func()
}

// NewSocket creates an ssl bufferevent in socket mode: TLS over the
// connected (or, with fd -1, not yet connected: see Connect) stream socket
// fd, libevent's bufferevent_openssl_socket_new. state is Connecting (TLS
// client: cfg must set ServerName or InsecureSkipVerify), Accepting (TLS
// server: cfg must have a certificate) or Open (cfg may be nil; the session
// comes from WithSession). The handshake starts at once on a short-lived
// goroutine; the event callback gets Connected when it completes (then
// ConnectionState works), or Error / Timeout when it fails. With
// CloseOnFree, Close closes fd; without it fd stays open and the TLS session
// is released for re-wrapping.
//
// On error NewSocket takes nothing, whatever opts says: fd is left open
// (possibly switched to non-blocking mode, as socket.New does), nothing was
// written to it, and it is still the caller's to use or close; a session
// given with WithSession can be given again. On success fd belongs to the
// bufferevent as CloseOnFree says.
//
// Call it on the loop goroutine or before the loop runs; the new
// bufferevent is loop-confined unless opts has ThreadSafe.
func NewSocket(base *eventbase.Base, fd int, cfg *tls.Config, state State, opts bufferevent.Options, extra ...Option) (*bufferevent.BufferEvent, error) {
	st, err := prepare(cfg, state, extra)
	if err != nil {
		return nil, err
	}
	if base == nil {
		return nil, bufferevent.ErrNilBase
	}
	inner, err := socket.New(base, fd, opts&bufferevent.CloseOnFree)
	if err != nil {
		return nil, err
	}
	bev, err := newEngine(base, inner, true, cfg, state, opts, st)
	if err != nil {
		// Detach fd from the hidden socket bufferevent before closing it,
		// so that fd stays open (see the ownership rule above).
		_ = inner.SetFD(-1)
		_ = inner.Close()
		return nil, err
	}
	return bev, nil
}

// NewFilter creates an ssl bufferevent in filter mode: TLS over the
// bufferevent underlying (a socket, a pair, a filter, anything), libevent's
// bufferevent_openssl_filter_new. The ssl bufferevent takes over
// underlying's callbacks and enables its reading and writing; from then on
// only the ssl bufferevent may use it. With CloseOnFree, Close closes
// underlying; without it underlying is handed back (its callbacks cleared
// unless the user has set new ones since) and the TLS session is released
// for re-wrapping. States and cfg as NewSocket.
//
// On error NewFilter takes nothing, whatever opts says: underlying is not
// closed and keeps the callbacks, enabled directions and suspension it had,
// nothing was written to it, and it is still the caller's; a session given
// with WithSession can be given again.
//
// Call it on the loop goroutine or before the loop runs; the new
// bufferevent is loop-confined unless opts has ThreadSafe.
func NewFilter(base *eventbase.Base, underlying *bufferevent.BufferEvent, cfg *tls.Config, state State, opts bufferevent.Options, extra ...Option) (*bufferevent.BufferEvent, error) {
	st, err := prepare(cfg, state, extra)
	if err != nil {
		return nil, err
	}
	if base == nil {
		return nil, bufferevent.ErrNilBase
	}
	if underlying == nil {
		return nil, ErrNilUnderlying
	}
	return newEngine(base, underlying, false, cfg, state, opts, st)
}

func prepare(cfg *tls.Config, state State, extra []Option) (settings, error) {
	st := settings{hsTimeout: DefaultHandshakeTimeout}
	for _, o := range extra {
		if o != nil {
			o(&st)
		}
	}
	switch state {
	case Connecting:
		if cfg == nil {
			return st, ErrNilConfig
		}
		if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
			return st, ErrNoServerName
		}
	case Accepting:
		if cfg == nil {
			return st, ErrNilConfig
		}
		if len(cfg.Certificates) == 0 && cfg.GetCertificate == nil && cfg.GetConfigForClient == nil {
			return st, ErrNoCertificate
		}
	case Open:
		s := st.session
		if s == nil {
			return st, ErrNoSession
		}
		s.mu.Lock()
		ok := !s.attached && s.tc != nil
		s.mu.Unlock()
		if !ok {
			return st, ErrNoSession
		}
	default:
		return st, fmt.Errorf("%w: %d", ErrInvalidState, int(state))
	}
	return st, nil
}

// testHook, when set by a test, is called at each step of newEngine that
// can fail after the bufferevent exists ("callbacks": taking over the
// underlying's callbacks, "timer": arming the handshake timeout); a non-nil
// result fails that step as the real call would.
var testHook func(step string) error

func hook(step string) error {
	if testHook != nil {
		return testHook(step)
	}
	return nil
}

// newEngine builds the ssl bufferevent over u. Everything that can fail
// runs before u is changed, or is undone: on error u has the callbacks,
// enabled directions and read suspension it had, nothing was written to
// it, it is not closed, and a session given with WithSession can be used
// again (the ownership rule of NewSocket and NewFilter).
func newEngine(base *eventbase.Base, u *bufferevent.BufferEvent, socketMode bool, cfg *tls.Config, state State, opts bufferevent.Options, st settings) (*bufferevent.BufferEvent, error) {
	e := &engine{
		base:       base,
		u:          u,
		uc:         bufferevent.BackendCore(u),
		socketMode: socketMode,
		cfg:        cfg,
		state:      state,
		flags:      st.flags,
		hsTimeout:  st.hsTimeout,
	}
	e.runFn = e.deferredRun
	e.kickFn = e.kick
	e.flushHSFn = e.flushHS
	e.feedFn = e.feed
	if state == Open {
		s := st.session
		s.mu.Lock()
		if s.attached {
			s.mu.Unlock()
			return nil, ErrNoSession
		}
		s.attached = true
		s.mu.Unlock()
		e.sess = s
	}
	_, fdErr := u.FD()
	bev, err := bufferevent.New(base, bufferevent.Config{Type: TypeName, Options: opts}, func(c backend.Core) (backend.Ops, error) {
		e.c = c
		e.outCb = c.Output().AddCallback(e.onOutput)
		if !socketMode && errors.Is(fdErr, errors.ErrUnsupported) {
			return noFD{engine: e}, nil
		}
		return e, nil
	})
	if err != nil {
		e.detachSession()
		return nil, err
	}
	e.bev = bev
	live.Lock()
	live.m[bev] = e
	live.Unlock()
	if state != Open && e.hsTimeout > 0 {
		t, err := base.NewTimer(e.onHSTimeout)
		if err != nil {
			e.abort(nil)
			return nil, err
		}
		e.hsTimer = t
	}

	prevR, prevW, prevE := u.Callbacks()
	prevOn := u.Enabled()
	err = hook("callbacks")
	if err == nil {
		err = u.SetCallbacks(e.uRead, e.uWrite, e.uEvent)
	}
	if err != nil {
		e.abort(nil)
		return nil, err
	}
	undo := func() {
		_ = u.SetCallbacks(prevR, prevW, prevE)
		if off := bufferevent.ReadWrite &^ prevOn; off != 0 {
			_ = u.Disable(off)
		}
	}
	// Close clears the underlying's callbacks only if they are still ours.
	e.uc.Lock()
	e.uCbGen = e.uc.CallbacksGen()
	e.uc.Unlock()
	_ = u.Enable(bufferevent.ReadWrite)
	if state != Open && e.hsTimer != nil {
		err := hook("timer")
		if err == nil {
			err = e.hsTimer.AddTimeout(e.hsTimeout)
		}
		if err != nil {
			e.abort(undo)
			return nil, err
		}
	}
	if socketMode {
		// The hidden socket bufferevent calls back when its output drained
		// to half of what we queue at most.
		_ = u.SetWatermark(bufferevent.Write, defaultUnderCap/2, defaultUnderCap)
		// Read and write a full record (16 KiB of plaintext plus framing)
		// and more per system call: with the default 16 KiB single write a
		// full record took two writes and a round of write polling.
		_ = u.SetMaxSingleRead(innerMaxRead)
		_ = u.SetMaxSingleWrite(innerMaxRead)
	}

	switch state {
	case Open:
		s := e.sess
		e.tc, e.ad = s.tc, s.ad
		e.ad.u, e.ad.ueof, e.ad.werr = u, false, nil
		e.phase = phOpen
		e.hsDone = true
		if len(s.out) > 0 {
			_, _ = u.Write(s.out)
			s.out = nil
		}
		e.updateURead()
		e.queueRun()
	default:
		e.ad = newAdapter()
		e.ad.u = u
		if state == Connecting {
			e.tc = tls.Client(e.ad, cfg)
		} else {
			e.tc = tls.Server(e.ad, cfg)
		}
		e.sess = &Session{tc: e.tc, ad: e.ad, attached: true}
		e.startHandshake()
	}
	return bev, nil
}

// detachSession lets a session given with WithSession be used again after
// a constructor failed.
func (e *engine) detachSession() {
	if e.sess != nil {
		e.sess.mu.Lock()
		e.sess.attached = false
		e.sess.mu.Unlock()
		e.sess = nil
	}
}

// abort finalises a bufferevent whose constructor failed without touching
// the transport (undo, if not nil, first restores what was changed on it),
// and makes a session given with WithSession usable again.
func (e *engine) abort(undo func()) {
	e.aborted = true
	_ = e.bev.Close()
	if undo != nil {
		undo()
	}
}

// noFD is the engine over an underlying without a descriptor (a pair):
// the fields named FD and SetFD hide the engine's methods, so the
// bufferevent reports errors.ErrUnsupported for them, as its underlying.
type noFD struct {
	*engine
	FD    struct{}
	SetFD struct{}
}

// ---- handshake ----

func (e *engine) startHandshake() {
	e.phase = phHandshake
	ad := e.ad
	// The goroutine hands work to the loop with Base.RunInLoop (Core's
	// RunInLoop needs the core lock).
	ad.kickW = func() { _ = e.base.RunInLoop(e.flushHSFn) }
	ad.kickR = func() { _ = e.base.RunInLoop(e.feedFn) }
	if e.hsTimer != nil {
		// Created and armed by newEngine.
		e.armBackstop()
	}
	e.watchBaseClose()
	e.base.AddVirtual(1)
	// Whatever already sits in the underlying's input belongs to the
	// handshake.
	e.feedLocked()
	tc := e.tc
	go func() {
		err := tc.Handshake()
		_ = e.base.RunInLoop(func() { e.finishHS(err) })
	}()
}

// feed runs on the loop when the handshake goroutine consumed all it had
// and more ciphertext waits in the underlying.
func (e *engine) feed() {
	if e.dead {
		return
	}
	e.c.Enter()
	e.feedLocked()
	e.c.Leave()
}

func (e *engine) feedLocked() {
	if (e.phase != phHandshake && e.phase != phReneg) || e.dead {
		return
	}
	before := e.ad.nread
	left := e.ad.feed()
	e.chargeRead(before)
	if left {
		e.suspendURead(true)
	} else {
		e.suspendURead(false)
	}
}

// flushHS runs on the loop to send what the handshake goroutine wrote.
func (e *engine) flushHS() {
	if e.dead {
		_ = e.ad.takeWQ()
		return
	}
	e.c.Enter()
	e.flushHSLocked()
	e.c.Leave()
}

func (e *engine) flushHSLocked() {
	if q := e.ad.takeWQ(); len(q) > 0 && !e.dead {
		before := e.ad.nwrite
		if _, err := e.u.Write(q); err == nil {
			e.ad.nwrite += int64(len(q))
		}
		e.chargeWrite(before)
	}
}

func (e *engine) onHSTimeout() {
	e.c.Enter()
	defer e.c.Leave()
	if (e.phase != phHandshake && e.phase != phReneg) || e.dead {
		return
	}
	e.fail(backend.Timeout, ErrHandshakeTimeout)
}

// finishHS runs on the loop when the handshake goroutine is done.
func (e *engine) finishHS(err error) {
	e.base.AddVirtual(-1)
	if e.dead {
		return
	}
	e.c.Enter()
	defer e.c.Leave()
	e.flushHSLocked()
	if e.phase != phHandshake || e.dead {
		return
	}
	e.stopHSTimer()
	if err != nil {
		what, cause := e.classify(err)
		e.fail(what, cause)
		return
	}
	ad := e.ad
	ad.mu.Lock()
	ad.hs = false
	ad.kickW, ad.kickR = nil, nil
	ad.mu.Unlock()
	e.phase = phOpen
	e.hsDone = true
	if e.state == Connecting && e.cfg.Renegotiation != tls.RenegotiateNever &&
		e.tc.ConnectionState().Version <= tls.VersionTLS12 {
		ad.careful = true
	}
	e.c.TriggerEvent(backend.Connected, nil, 0)
	if e.c.Closed() || e.dead {
		return
	}
	e.updateURead()
	e.run()
	e.finishPending()
}

// startReneg hands tls.Conn.Read to a goroutine for a renegotiation the
// server requested: crypto/tls runs the new handshake inside Read, which
// must be able to block. Writing pauses until it is over.
func (e *engine) startReneg() {
	e.phase = phReneg
	ad := e.ad
	ad.mu.Lock()
	ad.hs, ad.reneg = true, true
	ad.sawCCS, ad.finPending, ad.renegDone = false, false, false
	ad.kickW = func() { _ = e.base.RunInLoop(e.flushHSFn) }
	ad.kickR = func() { _ = e.base.RunInLoop(e.feedFn) }
	ad.mu.Unlock()
	if e.hsTimeout > 0 {
		if t, err := e.base.NewTimer(e.onHSTimeout); err == nil {
			if t.AddTimeout(e.hsTimeout) == nil {
				e.hsTimer = t
				e.armBackstop()
			} else {
				t.Free()
			}
		}
	}
	e.watchBaseClose()
	e.base.AddVirtual(1)
	e.feedLocked()
	tc := e.tc
	go func() {
		buf := make([]byte, 16<<10)
		n, err := tc.Read(buf)
		_ = e.base.RunInLoop(func() { e.finishReneg(buf[:n], err) })
	}()
}

// finishReneg runs on the loop when the renegotiation goroutine is done,
// with the application data its Read returned.
func (e *engine) finishReneg(data []byte, err error) {
	e.base.AddVirtual(-1)
	if e.dead {
		return
	}
	e.c.Enter()
	defer e.c.Leave()
	e.flushHSLocked()
	if e.phase != phReneg || e.dead {
		return
	}
	e.stopHSTimer()
	ad := e.ad
	ad.mu.Lock()
	ad.hs, ad.reneg, ad.renegDone = false, false, false
	ad.kickW, ad.kickR = nil, nil
	ad.mu.Unlock()
	e.phase = phOpen
	if len(data) > 0 {
		in := e.c.Input()
		in.Unfreeze(false)
		_ = in.Add(data)
		in.Freeze(false)
		e.c.ResetReadTimer()
		e.c.TriggerRead(0)
		if e.dead || e.c.Closed() {
			return
		}
	}
	if err != nil && err != errWouldBlock {
		what, cause := e.classify(err)
		e.fail(what, cause)
		return
	}
	e.updateURead()
	e.run()
	e.finishPending()
}

func (e *engine) stopHSTimer() {
	if e.hsTimer != nil {
		e.hsTimer.Free()
		e.hsTimer = nil
	}
	if e.backstop != nil {
		e.backstop.Stop()
		e.backstop = nil
	}
	if e.hsStop != nil {
		e.hsStop()
		e.hsStop = nil
	}
}

// watchBaseClose makes the handshake goroutine's reads fail when the base
// is closed under it (with the bufferevent still open), so the goroutine
// ends with the base instead of waiting for the backstop (the handshake
// timeout plus a second) or, with no handshake timeout, for good.
func (e *engine) watchBaseClose() {
	ad := e.ad
	if stop, err := e.base.OnClose(func() { ad.fail(errBaseClosed, true) }); err == nil {
		e.hsStop = stop
	}
}

// armBackstop makes the handshake goroutine's reads fail a second after the
// handshake timeout even if the loop never runs again (its base was closed
// under it), so the goroutine cannot outlive its bufferevent for long.
func (e *engine) armBackstop() {
	ad := e.ad
	e.backstop = time.AfterFunc(e.hsTimeout+time.Second, func() { ad.fail(ErrHandshakeTimeout, true) })
}

// ---- errors ----

// classify maps a crypto/tls or transport error to the event bits and the
// error passed to the event callback.
func (e *engine) classify(err error) (backend.Events, error) {
	switch {
	case errors.Is(err, errPeerClosed):
		if e.flags&DirtyShutdown != 0 {
			return backend.Reading | backend.EOF, io.EOF
		}
		return backend.Reading | backend.Error, ErrDirtyShutdown
	case err == io.EOF:
		return backend.Reading | backend.EOF, io.EOF
	case errors.Is(err, errTruncated):
		return backend.Reading | backend.Error, ErrTruncated
	}
	return backend.Reading | backend.Error, wrapAlert(err)
}

// wrapAlert makes a received alert (crypto/tls reports it as a
// *net.OpError "remote error" around its unexported alert type) match
// errors.As(err, new(tls.AlertError)).
func wrapAlert(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "remote error" && op.Err != nil {
		if v := reflect.ValueOf(op.Err); v.Kind() == reflect.Uint8 {
			var ae tls.AlertError
			if !errors.As(err, &ae) {
				return fmt.Errorf("%w%.0w", err, tls.AlertError(v.Uint()))
			}
		}
	}
	return err
}

func (e *engine) pushErr(err error) {
	if err == nil || err == io.EOF {
		return
	}
	if len(e.errs) == maxErrors {
		copy(e.errs, e.errs[1:])
		e.errs = e.errs[:maxErrors-1]
	}
	e.errs = append(e.errs, err)
}

// fail ends the connection with an event (libevent's conn_closed): no more
// reading or writing, then the event callback.
func (e *engine) fail(what backend.Events, err error) {
	if e.phase == phDone {
		return
	}
	if what&backend.Error != 0 || what&backend.Timeout != 0 {
		e.pushErr(err)
	}
	wasHS := e.phase == phHandshake || e.phase == phReneg
	e.phase = phDone
	e.stopHSTimer()
	if wasHS {
		e.ad.fail(err, true)
	}
	e.suspendURead(true)
	// The connection is over both ways: disable the user's directions
	// before the callback sees the event, as the core's backends do for
	// EOF, errors and timeouts. This also stops the generic read and write
	// timers, which would otherwise report a Timeout after the EOF (libevent
	// stops its SSL I/O here but leaves the enabled bits; in filter mode its
	// generic timers keep running).
	e.c.DisableUser(backend.ReadWrite)
	e.c.TriggerEvent(what, err, 0)
}

// endRead ends the read direction on the peer's close_notify: reading
// stops (the user's Read bit is cleared, the transport is no longer read)
// and the event callback gets Reading|EOF with io.EOF, but the connection
// stays open for writing. The peer half-closed, as a socket peer does with
// shutdown(SHUT_WR), and may still be reading our answer: TLS 1.3 allows it
// and crypto/tls keeps writing after a close_notify. Lock held, on loop.
func (e *engine) endRead() {
	e.rdone = true
	e.suspendURead(true)
	e.c.DisableUser(backend.Read)
	e.c.TriggerEvent(backend.Reading|backend.EOF, io.EOF, 0)
}

// ---- running the connection on the loop ----

// onOutput is the output buffer's callback: data the user added is
// encrypted at the end of the loop turn (several writes coalesce into one
// record).
func (e *engine) onOutput(_ *evbuffer.Buffer, info evbuffer.CallbackInfo) {
	if info.Added == 0 || e.phase != phOpen || e.dead {
		return
	}
	if !e.c.OnLoop() {
		e.c.RunInLoop(e.kickFn)
		return
	}
	if e.busy {
		e.again = true
		return
	}
	e.queueRun()
}

func (e *engine) kick() {
	if e.phase == phOpen && !e.dead {
		e.queueRun()
	}
}

// queueRun schedules run at the end of this loop turn. Lock held, on loop.
func (e *engine) queueRun() {
	if e.runQueued || e.dead {
		return
	}
	e.runQueued = true
	e.c.Hold()
	e.base.Defer(e.runFn)
}

func (e *engine) deferredRun() {
	e.c.Lock()
	e.runQueued = false
	if !e.dead {
		e.run()
	}
	e.c.Release()
	e.c.Unlock()
}

// run writes what it can and reads what it can until nothing changes.
// Lock held, on loop.
func (e *engine) run() {
	if e.busy {
		e.again = true
		return
	}
	e.busy = true
	for {
		e.again = false
		if e.phase != phOpen || e.c.Closed() || e.dead {
			break
		}
		e.doWrite(false)
		if e.phase != phOpen || e.c.Closed() || e.dead {
			break
		}
		e.doRead(false)
		if !e.again {
			break
		}
	}
	e.busy = false
	if !e.dead {
		e.updateURead()
	}
}

// underFull reports whether the underlying's output holds as much
// ciphertext as we queue.
func (e *engine) underFull() bool {
	_, high, _ := e.u.Watermark(bufferevent.Write)
	if high <= 0 {
		high = defaultUnderCap
	}
	return e.u.Output().Len()+e.ad.stage.Len() >= high
}

func (e *engine) chargeRead(before int64) {
	if d := e.ad.nread - before; d > 0 {
		e.c.ChargeRead(int(d))
	}
}

func (e *engine) chargeWrite(before int64) {
	if d := e.ad.nwrite - before; d > 0 {
		e.c.ChargeWrite(int(d))
	}
}

// doWrite encrypts output into the underlying (libevent's
// consider_writing). force ignores the underlying's fill level and the
// enabled bits (Flush).
func (e *engine) doWrite(force bool) bool {
	out := e.c.Output()
	wrote := false
	for out.Len() > 0 && e.phase == phOpen && !e.dead {
		if !force && (!e.c.Active(backend.Write) || e.underFull()) {
			break
		}
		n := e.c.MaxToWrite()
		if force {
			n = out.Len()
		}
		if n <= 0 {
			break
		}
		var p []byte
		if e.flags&BatchWrite != 0 {
			n = min(n, out.Len(), 16<<10)
			var err error
			if p, err = out.Pullup(n); err != nil {
				e.ad.flush()
				e.fail(backend.Writing|backend.Error, err)
				return wrote
			}
		} else {
			n = min(n, out.Len(), writeFrame)
			if out.Peek(n, nil, e.pv[:]) == 0 || len(e.pv[0]) == 0 {
				// Only sendfile segments (not in memory) can do this;
				// TLS must see the bytes.
				e.pv[0] = nil
				e.ad.flush()
				e.fail(backend.Writing|backend.Error, evbuffer.ErrNotInMemory)
				return wrote
			}
			p = e.pv[0]
			e.pv[0] = nil
			if len(p) > n {
				p = p[:n]
			}
		}
		before := e.ad.nwrite
		k, err := e.tc.Write(p)
		e.chargeWrite(before)
		if k > 0 {
			out.Unfreeze(true)
			_ = out.Drain(k)
			out.Freeze(true)
			wrote = true
		}
		if err != nil {
			e.ad.flush()
			e.fail(backend.Writing|backend.Error, err)
			return wrote
		}
	}
	e.ad.flush()
	if wrote && !e.dead && !e.c.Closed() {
		e.c.ResetWriteTimer()
		e.c.TriggerWrite(0)
	}
	return wrote
}

// doRead decrypts records into the input (libevent's consider_reading).
// force ignores the enabled bits and the input limit (the transport ended:
// take everything, close_notify included).
func (e *engine) doRead(force bool) bool {
	in := e.c.Input()
	got := false
	for e.phase == phOpen && !e.dead && !e.rdone {
		n := e.c.MaxToRead()
		if force {
			n = 16 << 10
		} else if !e.c.Active(backend.Read) {
			break
		}
		if n <= 0 {
			if e.c.InputRoom() == 0 {
				e.c.SuspendRead(backend.SuspendWatermark)
			}
			break
		}
		if !e.ad.mayProgress() {
			// Nothing to decrypt yet: skip the call (and its
			// allocation) that would only answer errWouldBlock.
			break
		}
		in.Unfreeze(false)
		if _, err := in.Reserve(n, e.vec[:]); err != nil {
			in.Freeze(false)
			e.fail(backend.Reading|backend.Error, err)
			return got
		}
		p := e.vec[0][:n]
		before := e.ad.nread
		k, err := e.tc.Read(p)
		e.ad.readDone(p, k, err)
		e.vec[0] = p[:k]
		if k > 0 {
			_ = in.Commit(e.vec[:])
		}
		e.vec[0] = nil
		in.Freeze(false)
		e.chargeRead(before)
		if k > 0 {
			got = true
		}
		if err != nil {
			e.ad.flush()
			if err == errWouldBlock {
				break
			}
			if err == errRenegotiate {
				if got && !e.c.Closed() && (!force || e.c.Enabled()&backend.Read != 0) {
					e.c.ResetReadTimer()
					e.c.TriggerRead(0)
				}
				if e.phase == phOpen && !e.dead && !e.c.Closed() {
					e.startReneg()
				}
				return true
			}
			if got && !e.c.Closed() && (!force || e.c.Enabled()&backend.Read != 0) {
				e.c.ResetReadTimer()
				e.c.TriggerRead(0)
				got = false
			}
			if e.phase != phOpen || e.dead {
				return true
			}
			if err == io.EOF {
				// close_notify: the peer half-closed.
				e.endRead()
				return true
			}
			what, cause := e.classify(err)
			e.fail(what, cause)
			return true
		}
	}
	// Records crypto/tls wrote while reading (alerts, key updates).
	e.ad.flush()
	if got && !e.dead && !e.c.Closed() && (!force || e.c.Enabled()&backend.Read != 0) {
		e.c.ResetReadTimer()
		e.c.TriggerRead(0)
	}
	return got
}

// suspendURead stops (or resumes) the underlying's reading on our behalf.
func (e *engine) suspendURead(off bool) {
	if e.uReadOff == off || e.u == nil {
		return
	}
	e.uReadOff = off
	e.uc.Lock()
	if off {
		e.uc.SuspendRead(backend.SuspendFilter)
	} else {
		e.uc.UnsuspendRead(backend.SuspendFilter)
	}
	e.uc.Unlock()
}

// updateURead lets the underlying read while we want ciphertext.
func (e *engine) updateURead() {
	switch e.phase {
	case phHandshake, phReneg:
		// feed decides.
	case phOpen:
		e.suspendURead(e.rdone || !e.c.Active(backend.Read))
	default:
		e.suspendURead(true)
	}
}

// ---- the underlying's callbacks ----

func (e *engine) uRead(*bufferevent.BufferEvent) {
	if e.busy {
		e.again = true
		return
	}
	e.c.Enter()
	defer e.c.Leave()
	if e.dead {
		return
	}
	switch e.phase {
	case phHandshake, phReneg:
		e.feedLocked()
	case phOpen:
		e.run()
	}
}

func (e *engine) uWrite(*bufferevent.BufferEvent) {
	if e.busy {
		e.again = true
		return
	}
	if e.phase != phOpen || e.dead {
		return
	}
	e.c.Enter()
	defer e.c.Leave()
	if e.dead || e.c.Output().Len() == 0 {
		return
	}
	e.run()
}

func (e *engine) uEvent(_ *bufferevent.BufferEvent, what bufferevent.Events, err error) {
	if what&bufferevent.Connected != 0 && what&(bufferevent.Error|bufferevent.EOF|bufferevent.Timeout) == 0 {
		return // the TLS handshake produces our Connected
	}
	if e.busy {
		// Delivered from inside our own work: handle it afterwards.
		e.base.Defer(func() { e.uEvent(nil, what, err) })
		return
	}
	e.c.Enter()
	defer e.c.Leave()
	if e.dead || e.phase == phDone {
		return
	}
	switch {
	case what&bufferevent.EOF != 0 && e.rdone:
		// The transport's end after the peer's close_notify: the read
		// direction has ended already, writing goes on, unless the same
		// event (a deferred underlying coalesces one turn's events) also
		// reports an error or a write timeout: that ends writing too (a
		// read timeout concerns the direction that has ended).
		e.ad.ueof = true
		switch {
		case what&bufferevent.Error != 0:
			if err == nil {
				err = errors.New("ssl: underlying bufferevent error")
			}
			e.fail(backend.Writing|backend.Error, err)
		case what&bufferevent.Timeout != 0 && what&bufferevent.Writing != 0:
			e.fail(backend.Writing|backend.Timeout, err)
		}
	case what&bufferevent.EOF != 0:
		e.ad.ueof = true
		if e.phase == phHandshake || e.phase == phReneg {
			e.ad.fail(errPeerClosed, false)
			return // the goroutine reports
		}
		// Decrypt what is left (a close_notify tells EOF from a dirty
		// shutdown), then report.
		e.busy = true
		e.doRead(true)
		e.busy = false
		if e.phase == phOpen && !e.dead && !e.rdone {
			what, cause := e.classify(e.ad.endErr())
			e.fail(what, cause)
		}
	case what&bufferevent.Timeout != 0:
		e.fail(what, err)
	default:
		if err == nil {
			err = errors.New("ssl: underlying bufferevent error")
		}
		e.fail(what|backend.Error, err)
	}
}

// ---- backend.Ops ----

// Enable implements backend.Ops.
func (e *engine) Enable(dir backend.Direction) error {
	if e.dead {
		return nil
	}
	if e.phase == phOpen {
		if dir&backend.Read != 0 {
			e.updateURead()
		}
		e.queueRun()
	}
	return e.c.AdjustGenericTimeouts()
}

// Disable implements backend.Ops.
func (e *engine) Disable(dir backend.Direction) error {
	if dir&backend.Read != 0 && e.phase == phOpen && !e.busy {
		e.updateURead()
	}
	e.c.StopTimers(dir)
	return nil
}

// Flush implements backend.Ops: Flush and Finished encrypt the whole output
// regardless of watermarks; Finished then sends close_notify (the peer gets
// EOF) and flushes the underlying with the same mode (a socket then shuts
// its write side down once the ciphertext is sent). During a handshake,
// close_notify cannot be sent yet: Finished is remembered and done when the
// handshake completes (finishPending), and the underlying only gets Flush
// until then.
func (e *engine) Flush(dir backend.Direction, mode backend.FlushMode) (bool, error) {
	if e.dead {
		return false, nil
	}
	did := false
	umode := mode
	if dir&backend.Write != 0 && mode != backend.Normal {
		switch {
		case e.phase == phOpen:
			did = e.doWrite(true)
			if mode == backend.Finished && e.phase == phOpen {
				if err := e.tc.CloseWrite(); err == nil {
					did = true
				}
				e.ad.flush()
			}
		case mode == backend.Finished && (e.phase == phHandshake || e.phase == phReneg):
			e.finPending = true
			umode = backend.Flush
		}
	}
	if umode != backend.Normal {
		if d, err := e.u.Flush(dir, umode); err == nil && d {
			did = true
		}
	}
	return did, nil
}

// finishPending does a Flush(Write, Finished) asked for during a handshake,
// once the connection is open again. Lock held, on the loop.
func (e *engine) finishPending() {
	if !e.finPending || e.phase != phOpen || e.dead || e.c.Closed() {
		return
	}
	e.finPending = false
	_, _ = e.Flush(backend.Write, backend.Finished)
}

// AdjustTimeouts implements backend.Ops with the generic timers.
func (e *engine) AdjustTimeouts() error { return e.c.AdjustGenericTimeouts() }

// Close implements backend.Ops: send close_notify if possible, then close
// (CloseOnFree) or release the transport and the TLS session.
func (e *engine) Close() error {
	if e.dead {
		return nil
	}
	e.dead = true
	live.Lock()
	delete(live.m, e.bev)
	live.Unlock()
	e.stopHSTimer()
	if e.outCb != nil {
		_ = e.c.Output().RemoveCallback(e.outCb)
	}
	if e.aborted {
		// The constructor failed: the transport is the caller's again.
		e.detachSession()
		e.u = nil
		return nil
	}
	hs := e.phase == phHandshake || e.phase == phReneg
	if hs {
		e.ad.fail(net.ErrClosed, true)
	}
	closing := e.c.Options()&bufferevent.CloseOnFree != 0
	if closing && e.phase == phOpen && e.flags&NoCloseNotify == 0 && (!e.ad.ueof || e.rdone) {
		_ = e.tc.CloseWrite()
	}
	if e.ad != nil {
		e.ad.flush()
	}
	u := e.u
	// Let go of the underlying's callbacks unless the user has set new
	// ones since (closing us inside our own callback and taking the
	// underlying back at once: we are finalised only after that callback
	// returns). libevent's unlink clears them only "if still ours" too.
	e.uc.Lock()
	e.uc.ClearCallbacksIf(e.uCbGen)
	e.uc.Unlock()
	e.suspendURead(false)
	if e.socketMode || (closing && u.Type() == socket.TypeName) {
		e.drainInner()
	}
	e.release(hs, closing)
	var err error
	if closing && !hs && u.Type() == socket.TypeName && u.Output().Len() > 0 && e.linger(u) {
		e.u = nil
		return nil
	}
	if closing || e.socketMode {
		err = u.Close()
	}
	e.u = nil
	return err
}

// Linger bounds how long an ssl bufferevent closed with CloseOnFree keeps
// its socket open so that the ciphertext still in the socket's output (all
// of the output, once Flush encrypted it) is sent; after it the socket is
// closed with whatever it still holds. A constant, safe for concurrent use.
const Linger = 10 * time.Second

// linger keeps the socket u open until its output has been sent, a write
// error or timeout, Linger or the base's Close ends it (not an EOF), then
// closes it (filter.Linger does the same for
// filters). The write callback that tells the user its output drained comes
// once the output is encrypted, and Finished encrypts all of it at once: a
// Close made then must not drop the records waiting in the socket. u no
// longer reads (an EOF from a peer that half-closed must not end the
// linger). It reports false if lingering is impossible (the base is
// closed). Lock held, on the loop.
func (e *engine) linger(u *bufferevent.BufferEvent) bool {
	l := &lingering{u: u}
	t, err := e.base.NewTimer(l.end)
	if err != nil {
		return false
	}
	// A base closed meanwhile ends the linger: nobody else would close u.
	stop, err := e.base.OnClose(l.end)
	if err != nil {
		t.Free()
		return false
	}
	if u.SetCallbacks(nil, l.write, l.event) != nil {
		stop()
		t.Free()
		return false
	}
	l.t, l.stop = t, stop
	_ = u.SetWatermark(bufferevent.Write, 0, 0)
	_ = u.Disable(bufferevent.Read)
	_ = t.AddTimeout(Linger)
	return true
}

// lingering is a socket kept open by linger.
type lingering struct {
	u    *bufferevent.BufferEvent
	t    *eventbase.Event
	stop func() bool // unregisters end from the base's OnClose functions
	done bool
}

func (l *lingering) write(u *bufferevent.BufferEvent) {
	if u.Output().Len() == 0 {
		l.end()
	}
}

// event ends the linger on an error or a timeout, not on the peer's EOF (a
// peer that half-closed still reads).
func (l *lingering) event(_ *bufferevent.BufferEvent, what bufferevent.Events, _ error) {
	if what&(bufferevent.Error|bufferevent.Timeout) != 0 {
		l.end()
	}
}

// end closes the socket. Loop goroutine, no lock held.
func (l *lingering) end() {
	if l.done {
		return
	}
	l.done = true
	l.stop()
	l.t.Free()
	_ = l.u.Close()
}

// drainInner writes, without blocking, what the hidden socket
// bufferevent still holds (the close_notify) before it is closed, and
// keeps what it read ahead for a released session.
func (e *engine) drainInner() {
	fd, err := e.u.FD()
	out := e.u.Output()
	if err == nil && fd >= 0 && out.Len() > 0 {
		out.Unfreeze(true)
		_, _ = out.WriteToFD(fd, out.Len())
		out.Freeze(true)
	}
}

// release detaches the TLS session so that a new ssl bufferevent can take
// it over (state Open), with the ciphertext already read but not decrypted
// and, in socket mode, what could not be sent.
func (e *engine) release(hs, closing bool) {
	s := e.sess
	if s == nil {
		return
	}
	ad := e.ad
	if !hs && e.phase == phOpen && !closing {
		if e.socketMode {
			// Read-ahead of the hidden socket belongs to the session.
			if n := e.u.Input().Len(); n > 0 {
				buf := make([]byte, n)
				k, _ := e.u.Read(buf)
				ad.rbuf = append(ad.rbuf[:len(ad.rbuf):len(ad.rbuf)], buf[:k]...)
			}
			if n := e.u.Output().Len(); n > 0 {
				buf := make([]byte, n)
				out := e.u.Output()
				out.Unfreeze(true)
				k, _ := out.Remove(buf)
				out.Freeze(true)
				s.out = buf[:k]
			}
		}
		ad.u = nil
		s.mu.Lock()
		s.attached = false
		s.mu.Unlock()
		return
	}
	ad.u = nil
	s.mu.Lock()
	s.tc, s.ad = nil, nil
	s.mu.Unlock()
}

// FD implements backend.FD: the socket's descriptor (socket mode) or the
// underlying's (filter mode, as libevent).
func (e *engine) FD() int {
	if e.u == nil {
		return -1
	}
	fd, err := e.u.FD()
	if err != nil {
		return -1
	}
	return fd
}

// SetFD implements backend.SetFD. In socket mode the socket's descriptor
// is replaced (the old one is not closed); the TLS state is not restarted.
// In filter mode the descriptor belongs to the underlying bufferevent and
// is left alone, as in libevent (set it on the underlying).
func (e *engine) SetFD(fd int) error {
	if e.u == nil {
		return bufferevent.ErrClosed
	}
	if !e.socketMode {
		return nil
	}
	return e.u.SetFD(fd)
}

// Underlying implements backend.Underlying: the underlying bufferevent in
// filter mode, nil in socket mode.
func (e *engine) Underlying() any {
	if e.socketMode || e.u == nil {
		return nil
	}
	return e.u
}

// LocalAddr implements backend.Addresser: the socket's local address (the
// underlying's socket in filter mode), or nil.
func (e *engine) LocalAddr() net.Addr {
	if fd := e.FD(); fd >= 0 {
		l, _ := sockAddrs(fd)
		return l
	}
	return nil
}

// RemoteAddr implements backend.Addresser: the peer's address, or nil.
func (e *engine) RemoteAddr() net.Addr {
	if fd := e.FD(); fd >= 0 {
		_, r := sockAddrs(fd)
		return r
	}
	return nil
}

// SetPriority implements backend.Prioritizer for socket mode.
func (e *engine) SetPriority(p int) error {
	if e.u == nil {
		return bufferevent.ErrClosed
	}
	return e.u.SetPriority(p)
}

// ---- package functions ----

// ConnectionState returns the negotiated TLS parameters of bev (version,
// cipher suite, ALPN protocol, peer certificates, server name). It fails
// with ErrHandshaking before the Connected event. Loop-confined unless bev
// is ThreadSafe.
func ConnectionState(bev *bufferevent.BufferEvent) (tls.ConnectionState, error) {
	var cs tls.ConnectionState
	e, err := lookup(bev)
	if err != nil {
		return cs, err
	}
	var state error
	if err := bev.WithLock(func(_, _ *evbuffer.Buffer) {
		if e.tc == nil || !e.hsDone || e.phase == phReneg {
			state = ErrHandshaking
			return
		}
		cs = e.tc.ConnectionState()
	}); err != nil {
		return cs, err
	}
	return cs, state
}

// SessionOf returns bev's TLS session, to be taken over by a new ssl
// bufferevent (state Open) once bev is closed without CloseOnFree. It
// fails with ErrHandshaking before the Connected event. Loop-confined
// unless bev is ThreadSafe.
func SessionOf(bev *bufferevent.BufferEvent) (*Session, error) {
	e, err := lookup(bev)
	if err != nil {
		return nil, err
	}
	var s *Session
	var state error
	if err := bev.WithLock(func(_, _ *evbuffer.Buffer) {
		if e.phase != phOpen {
			state = ErrHandshaking
			return
		}
		s = e.sess
	}); err != nil {
		return nil, err
	}
	return s, state
}

// Errors returns the errors bev has seen (handshake failures, alerts
// received or sent, transport errors), oldest first, at most the last 8
// (libevent keeps a stack of 3 OpenSSL errors). Use errors.As with
// tls.AlertError or *tls.CertificateVerificationError to inspect them.
// Loop-confined unless bev is ThreadSafe.
func Errors(bev *bufferevent.BufferEvent) ([]error, error) {
	e, err := lookup(bev)
	if err != nil {
		return nil, err
	}
	var out []error
	err = bev.WithLock(func(_, _ *evbuffer.Buffer) { out = append(out, e.errs...) })
	return out, err
}

// GetFlags returns bev's flags (libevent's bufferevent_ssl_get_flags).
// Loop-confined unless bev is ThreadSafe.
func GetFlags(bev *bufferevent.BufferEvent) (Flags, error) {
	e, err := lookup(bev)
	if err != nil {
		return 0, err
	}
	var f Flags
	err = bev.WithLock(func(_, _ *evbuffer.Buffer) { f = e.flags })
	return f, err
}

// SetFlags sets flags on bev and returns the previous flags (libevent's
// bufferevent_ssl_set_flags). Bits other than DirtyShutdown, BatchWrite and
// NoCloseNotify fail with ErrInvalidFlags. Loop-confined unless bev is
// ThreadSafe.
func SetFlags(bev *bufferevent.BufferEvent, f Flags) (Flags, error) {
	return changeFlags(bev, f, true)
}

// ClearFlags clears flags on bev and returns the previous flags
// (libevent's bufferevent_ssl_clear_flags). Loop-confined unless bev is
// ThreadSafe.
func ClearFlags(bev *bufferevent.BufferEvent, f Flags) (Flags, error) {
	return changeFlags(bev, f, false)
}

func changeFlags(bev *bufferevent.BufferEvent, f Flags, set bool) (Flags, error) {
	if f&^allFlags != 0 || f == 0 {
		return 0, fmt.Errorf("%w: %#x", ErrInvalidFlags, uint64(f))
	}
	e, err := lookup(bev)
	if err != nil {
		return 0, err
	}
	var prev Flags
	err = bev.WithLock(func(_, _ *evbuffer.Buffer) {
		prev = e.flags
		if set {
			e.flags |= f
		} else {
			e.flags &^= f
		}
	})
	return prev, err
}

// Connect starts a non-blocking connect of a socket-mode ssl bufferevent
// created with fd -1 (libevent's bufferevent_socket_connect on an SSL
// bufferevent); the TLS handshake proceeds once connected. Loop-confined
// unless bev is ThreadSafe.
func Connect(bev *bufferevent.BufferEvent, addr net.Addr) error {
	e, err := lookup(bev)
	if err != nil {
		return err
	}
	if !e.socketMode {
		return ErrNotSocketMode
	}
	var u *bufferevent.BufferEvent
	_ = bev.WithLock(func(_, _ *evbuffer.Buffer) { u = e.u })
	if u == nil {
		return bufferevent.ErrClosed
	}
	return socket.Connect(u, addr)
}
