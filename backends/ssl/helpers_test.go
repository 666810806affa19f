//go:build unix

package ssl_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bufev/bufev/eventbase"
)

// pki is a test CA with a server certificate (localhost, 127.0.0.1, ::1)
// and a client certificate, generated once per test binary.
type pki struct {
	caCert     *x509.Certificate
	caPEM      []byte
	pool       *x509.CertPool
	server     tls.Certificate
	client     tls.Certificate
	other      tls.Certificate // self-signed, not from the CA
	serverCert []byte          // PEM
	serverKey  []byte          // PEM
	clientCert []byte
	clientKey  []byte
}

var (
	pkiOnce sync.Once
	thePKI  *pki
)

func testPKI(t testing.TB) *pki {
	t.Helper()
	pkiOnce.Do(func() {
		p := &pki{}
		caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		caTmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(1),
			Subject:               pkix.Name{CommonName: "bufev test CA"},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().Add(24 * time.Hour),
			IsCA:                  true,
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
			BasicConstraintsValid: true,
		}
		caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
		if err != nil {
			panic(err)
		}
		p.caCert, _ = x509.ParseCertificate(caDER)
		p.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
		p.pool = x509.NewCertPool()
		p.pool.AddCert(p.caCert)
		leaf := func(serial int64, cn string, usage x509.ExtKeyUsage, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (tls.Certificate, []byte, []byte) {
			key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			tmpl := &x509.Certificate{
				SerialNumber: big.NewInt(serial),
				Subject:      pkix.Name{CommonName: cn},
				NotBefore:    time.Now().Add(-time.Hour),
				NotAfter:     time.Now().Add(24 * time.Hour),
				KeyUsage:     x509.KeyUsageDigitalSignature,
				ExtKeyUsage:  []x509.ExtKeyUsage{usage},
				DNSNames:     []string{"localhost"},
				IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
			}
			if parent == nil {
				parent, parentKey = tmpl, key
			}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
			if err != nil {
				panic(err)
			}
			kder, _ := x509.MarshalECPrivateKey(key)
			certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
			keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
			c, err := tls.X509KeyPair(certPEM, keyPEM)
			if err != nil {
				panic(err)
			}
			return c, certPEM, keyPEM
		}
		p.server, p.serverCert, p.serverKey = leaf(2, "localhost", x509.ExtKeyUsageServerAuth, p.caCert, caKey)
		p.client, p.clientCert, p.clientKey = leaf(3, "bufev client", x509.ExtKeyUsageClientAuth, p.caCert, caKey)
		p.other, _, _ = leaf(4, "impostor", x509.ExtKeyUsageServerAuth, nil, nil)
		thePKI = p
	})
	return thePKI
}

func (p *pki) serverConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{p.server}}
}

func (p *pki) clientConfig() *tls.Config {
	return &tls.Config{RootCAs: p.pool, ServerName: "localhost"}
}

// writeFiles writes the PEM files for the openssl and curl peers.
func (p *pki) writeFiles(t *testing.T) (dir string) {
	t.Helper()
	dir = t.TempDir()
	for name, data := range map[string][]byte{
		"ca.pem": p.caPEM, "server.pem": p.serverCert, "server.key": p.serverKey,
		"client.pem": p.clientCert, "client.key": p.clientKey,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// tcpFDs returns the descriptors of the two ends of a loopback TCP
// connection; the caller owns them.
func tcpFDs(t testing.TB) (a, b int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	ca, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	return dupFD(t, ca), dupFD(t, r.c)
}

// dupFD duplicates c's descriptor and closes c.
func dupFD(t testing.TB, c net.Conn) int {
	t.Helper()
	defer c.Close()
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	fd := -1
	var derr error
	if err := rc.Control(func(f uintptr) { fd, derr = syscall.Dup(int(f)) }); err != nil {
		t.Fatal(err)
	}
	if derr != nil {
		t.Fatal(derr)
	}
	syscall.CloseOnExec(fd)
	return fd
}

func newBase(t testing.TB) *eventbase.Base {
	t.Helper()
	base, err := eventbase.New(eventbase.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return base
}

// runUntil runs base's loop until done() is true or d passes.
func runUntil(t testing.TB, base *eventbase.Base, d time.Duration, done func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(d)
	for !done() {
		if time.Now().After(deadline) {
			return false
		}
		timer, _ := base.NewTimer(func() { base.LoopBreak() })
		_ = timer.AddTimeout(5 * time.Millisecond)
		if err := base.Loop(eventbase.LoopOnce); err != nil {
			t.Fatalf("Loop: %v", err)
		}
		timer.Free()
	}
	return true
}
