package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// serverTLS loads the certificate and client CA of cfg into the TLS configuration both
// listeners share, or returns nil when TLS is off. The policy: TLS 1.2 or later; over TLS 1.2
// only the AEAD suites of aeadSuites (no CBC, no SHA-1 MAC, no RSA key exchange; TLS 1.3
// suites are all AEAD and fixed by Go); with a client CA, a client certificate is requested and, when presented,
// must verify against that CA (tls.VerifyClientCertIfGiven), so bearer tokens and basic auth
// keep working for clients without one. NextProtos offers HTTP/2 and HTTP/1.1; the gRPC
// credentials narrow it to HTTP/2.
func serverTLS(cfg TLSConfig) (*tls.Config, error) {
	if !cfg.Enabled() {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls.cert_file/tls.key_file: %w", err)
	}
	tc := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		CipherSuites: aeadSuites(),
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2", "http/1.1"},
	}
	if cfg.ClientCAFile != "" {
		if tc.ClientCAs, err = readCertPool(cfg.ClientCAFile); err != nil {
			return nil, fmt.Errorf("tls.client_ca_file: %w", err)
		}
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return tc, nil
}

// aeadSuites are the TLS 1.2 cipher suites the server accepts: ECDHE key exchange (forward
// secrecy) with AES-GCM or ChaCha20-Poly1305, for ECDSA and RSA certificates.
func aeadSuites() []uint16 {
	return []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	}
}

// grpcTLS is the server TLS configuration narrowed to HTTP/2, the only protocol gRPC speaks.
func grpcTLS(tc *tls.Config) *tls.Config {
	if tc == nil {
		return nil
	}
	g := tc.Clone()
	g.NextProtos = []string{"h2"}
	return g
}

// ClientTLSConfig builds the TLS configuration of a client of the gateway (the CLI): the
// server's certificate is verified against the PEM CA certificates in caFile (the system roots
// when caFile is empty), and certFile and keyFile, set together or not at all, are the client
// certificate offered for mutual TLS. TLS 1.2 or later.
func ClientTLSConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pool, err := readCertPool(caFile)
		if err != nil {
			return nil, fmt.Errorf("TLS CA file: %w", err)
		}
		tc.RootCAs = pool
	}
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("give both a TLS client certificate and its key, or neither")
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("TLS client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// readCertPool reads PEM certificates from path into a new pool; a file without any is an
// error.
func readCertPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}
