package ssl_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"

	"github.com/bufev/bufev/backends/pair"
	"github.com/bufev/bufev/backends/ssl"
	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/eventbase"
)

// exampleCert makes a self-signed certificate for "example.test" and a
// pool that trusts it.
func exampleCert() (tls.Certificate, *x509.CertPool) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "example.test"},
		DNSNames:     []string{"example.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv, Leaf: leaf}, pool
}

// TLS in filter mode over an in-memory pair: a client and a server ssl
// bufferevent complete the handshake on the loop and exchange a line.
func ExampleNewFilter() {
	cert, pool := exampleCert()
	base, _ := eventbase.New(eventbase.Config{})
	defer base.Close()
	ua, ub, _ := pair.New(base, 0)

	server, _ := ssl.NewFilter(base, ub, &tls.Config{Certificates: []tls.Certificate{cert}},
		ssl.Accepting, bufferevent.CloseOnFree)
	client, _ := ssl.NewFilter(base, ua, &tls.Config{RootCAs: pool, ServerName: "example.test"},
		ssl.Connecting, bufferevent.CloseOnFree)

	_ = server.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		buf := make([]byte, 64)
		n, _ := bev.Read(buf)
		fmt.Printf("server got %q\n", buf[:n])
		_, _ = bev.WriteString("hello, client")
	}, nil, nil)
	_ = server.Enable(bufferevent.Read)

	_ = client.SetCallbacks(func(bev *bufferevent.BufferEvent) {
		buf := make([]byte, 64)
		n, _ := bev.Read(buf)
		fmt.Printf("client got %q\n", buf[:n])
		_ = bev.Close()
		_ = server.Close()
		base.LoopBreak()
	}, nil, func(bev *bufferevent.BufferEvent, what bufferevent.Events, err error) {
		if what == bufferevent.Connected {
			cs, _ := ssl.ConnectionState(bev)
			fmt.Println("connected:", tls.VersionName(cs.Version), cs.PeerCertificates[0].Subject.CommonName)
			return
		}
		fmt.Println("event:", what, err)
	})
	_ = client.Enable(bufferevent.Read)
	_, _ = client.WriteString("hello, server") // sent once the handshake is done

	_ = base.Loop(eventbase.LoopNoExitOnEmpty)
	// Output:
	// connected: TLS 1.3 example.test
	// server got "hello, server"
	// client got "hello, client"
}
