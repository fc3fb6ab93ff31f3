package main

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/schemagate/schemagate/tests/harness"
)

// TestCLIOverMutualTLS: with tls.* configured, the CLI reaches the gRPC API with --tls-ca and a
// client certificate that maps to a principal; without TLS, or without a certificate, it is
// refused.
func TestCLIOverMutualTLS(t *testing.T) {
	ca := harness.NewCA(t, "schemagate CLI test CA")
	serverCert, serverKey := ca.Issue(t, "127.0.0.1", true)
	opsCert, opsKey := ca.Issue(t, "ops.example", false)
	dir := t.TempDir()
	config := filepath.Join(dir, "schemagate.yaml")
	if err := os.WriteFile(config, []byte(`tls:
  cert_file: `+serverCert+`
  key_file: `+serverKey+`
  client_ca_file: `+ca.File+`
auth:
  principals:
    - name: ops
      roles: [author]
      client_cert_cn: ops.example
`), 0o600); err != nil {
		t.Fatal(err)
	}
	schemaFile := filepath.Join(dir, "user.avsc")
	if err := os.WriteFile(schemaFile, []byte(`{"type":"record","name":"User","fields":[{"name":"id","type":"long"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := harness.Start(t, harness.Options{DataDir: filepath.Join(dir, "data"), ConfigFile: config, TLS: &tls.Config{RootCAs: ca.Pool, MinVersion: tls.VersionTLS12}})

	mtls := []string{"--server", s.GRPCAddr, "--tls-ca", ca.File, "--tls-cert", opsCert, "--tls-key", opsKey}
	if out, errOut, code := harness.Run(t, nil, append([]string{"schema", "register", "users-value", "--type", "AVRO", "--file", schemaFile}, mtls...)...); code != 0 {
		t.Fatalf("register over mutual TLS: exit %d\n%s%s", code, out, errOut)
	}
	const listed = "SUBJECT      VERSIONS\nusers-value  1\n"
	out, errOut, code := harness.Run(t, nil, append([]string{"subjects", "list"}, mtls...)...)
	if code != 0 || out != listed {
		t.Errorf("subjects list over mutual TLS = exit %d %q %s; want users-value", code, out, errOut)
	}
	// The same through the environment variables.
	env := []string{"SCHEMAGATE_TLS_CA=" + ca.File, "SCHEMAGATE_TLS_CERT=" + opsCert, "SCHEMAGATE_TLS_KEY=" + opsKey}
	if out, errOut, code := harness.Run(t, env, "subjects", "list", "--server", s.GRPCAddr); code != 0 || out != listed {
		t.Errorf("subjects list with SCHEMAGATE_TLS_* = exit %d %q %s", code, out, errOut)
	}

	refused := []struct {
		name string
		args []string
		want string
	}{
		{"plaintext to the TLS port", []string{"--server", s.GRPCAddr}, "Unavailable"},
		{"TLS without a client certificate", []string{"--server", s.GRPCAddr, "--tls-ca", ca.File}, "authentication required"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := harness.Run(t, nil, append([]string{"subjects", "list"}, tc.args...)...)
			if code == 0 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want a failure mentioning %q", code, out, errOut, tc.want)
			}
		})
	}
}
