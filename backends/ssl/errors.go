package ssl

import (
	"errors"
	"io"
	"os"
)

// Errors returned by this package. Compare with errors.Is.
// Sentinel values, never modified: safe for concurrent use.
var (
	// ErrNilConfig is returned by the constructors without a *tls.Config
	// (states Connecting and Accepting need one).
	ErrNilConfig = errors.New("ssl: nil tls.Config")
	// ErrNoServerName is returned for a client (state Connecting) whose
	// config has neither ServerName nor InsecureSkipVerify: crypto/tls
	// verifies the server's certificate against ServerName, and an empty
	// one would accept any valid certificate for any name.
	ErrNoServerName = errors.New("ssl: client config has no ServerName (set it, or InsecureSkipVerify to skip verification)")
	// ErrNoCertificate is returned for a server (state Accepting) whose
	// config has no Certificates, GetCertificate or GetConfigForClient.
	ErrNoCertificate = errors.New("ssl: server config has no certificate")
	// ErrInvalidState is returned for a State other than Connecting,
	// Accepting and Open.
	ErrInvalidState = errors.New("ssl: invalid state")
	// ErrNoSession is returned for state Open without a Session (see
	// WithSession), or when a Session is reused while still attached.
	ErrNoSession = errors.New("ssl: state Open needs a released Session")
	// ErrNilUnderlying is returned by NewFilter without an underlying
	// bufferevent.
	ErrNilUnderlying = errors.New("ssl: nil underlying bufferevent")
	// ErrNotSSL is returned by the package functions for a bufferevent that
	// is not a live ssl bufferevent.
	ErrNotSSL = errors.New("ssl: not an ssl bufferevent")
	// ErrNotSocketMode is returned by Connect for a filter-mode bufferevent.
	ErrNotSocketMode = errors.New("ssl: not a socket-mode ssl bufferevent")
	// ErrHandshaking is returned by ConnectionState and Session before the
	// handshake has completed.
	ErrHandshaking = errors.New("ssl: handshake not complete")
	// ErrHandshakeTimeout is passed with the Timeout event when the
	// handshake did not complete in time. It matches os.ErrDeadlineExceeded.
	ErrHandshakeTimeout error = timeoutError{}
	// ErrDirtyShutdown is passed with the Error event when the peer closed
	// the connection without a TLS close_notify alert and the DirtyShutdown
	// flag is not set. It matches io.ErrUnexpectedEOF.
	ErrDirtyShutdown error = dirtyError{}
	// ErrInvalidFlags is returned by SetFlags and ClearFlags for bits
	// other than DirtyShutdown, BatchWrite and NoCloseNotify.
	ErrInvalidFlags = errors.New("ssl: invalid flags")
)

type timeoutError struct{}

func (timeoutError) Error() string        { return "ssl: handshake timeout" }
func (timeoutError) Timeout() bool        { return true }
func (timeoutError) Temporary() bool      { return true }
func (timeoutError) Is(target error) bool { return target == os.ErrDeadlineExceeded }

type dirtyError struct{}

func (dirtyError) Error() string {
	return "ssl: peer closed the connection without close_notify (dirty shutdown)"
}
func (dirtyError) Is(target error) bool { return target == io.ErrUnexpectedEOF }

// ErrTruncated is passed with the Error event when the transport ended in
// the middle of a TLS record (a truncation, never treated as a dirty
// shutdown). It matches io.ErrUnexpectedEOF.
// Never modified: safe for concurrent use.
var ErrTruncated error = truncatedError{}

type truncatedError struct{}

func (truncatedError) Error() string        { return "ssl: connection closed in the middle of a TLS record" }
func (truncatedError) Is(target error) bool { return target == io.ErrUnexpectedEOF }

var errTruncated = ErrTruncated

// errPeerClosed is what the adapter returns once the underlying transport
// reached EOF. It is not io.EOF on purpose: crypto/tls turns a bare io.EOF
// at a record boundary into io.EOF, which would hide a missing
// close_notify.
var errPeerClosed = errors.New("ssl: transport closed")

// errBaseClosed ends a handshake goroutine whose base was closed under it.
var errBaseClosed = errors.New("ssl: base closed during the handshake")
