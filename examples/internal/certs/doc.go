// Package certs generates the throwaway certificates the examples use: a self-signed
// server certificate (becat -S, echo -tls, the demo's TLS proxy) and a small CA that
// signs a server certificate for 127.0.0.1 (https-get's test). Keys are ECDSA P-256,
// made fresh in memory on every call; nothing touches the disk unless the caller writes
// the PEM out.
package certs
