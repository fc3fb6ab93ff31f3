package main

import (
	"strings"
	"testing"

	"github.com/schemagate/schemagate/tests/harness"
)

// TestServeRefusesUnknownEnv: serve fails on a misspelled SCHEMAGATE_ variable, naming it and
// the closest setting, as it fails on a misspelled key in the file; a client command in the
// same environment is not bothered, and neither is serve by the client's own variables.
func TestServeRefusesUnknownEnv(t *testing.T) {
	typo := []string{"SCHEMAGATE_STORAGE_ULR=sqlite://elsewhere.db"}
	_, errOut, code := harness.Run(t, typo, "serve", "--data-dir", t.TempDir(), "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0")
	want := "environment SCHEMAGATE_STORAGE_ULR: not a schemagate setting (did you mean SCHEMAGATE_STORAGE_URL?)"
	if code != 3 || !strings.Contains(errOut, want) {
		t.Errorf("serve with %s: exit %d, stderr %q; want exit 3 (an error) and %q", typo[0], code, errOut, want)
	}

	s := harness.Start(t, harness.Options{Env: []string{"SCHEMAGATE_TOKEN=unused", "SCHEMAGATE_TLS_CA="}})
	if out, errOut, code := harness.Run(t, typo, "subjects", "list", "--server", s.GRPCAddr); code != 0 {
		t.Errorf("client command with %s: exit %d %q %q, want 0", typo[0], code, out, errOut)
	}
	if err := s.Stop(t); err != nil {
		t.Errorf("stop: %v", err)
	}
}
