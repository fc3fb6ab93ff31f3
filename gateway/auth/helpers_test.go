package auth

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/schemagate/schemagate/tests/harness"
)

// Credentials used across the tests. Every one of them, and every hash
// derived from them, must stay out of errors, String output and logs.
const (
	aliceToken    = "alice-token-S3CRET"
	alicePassword = "alice-password-S3CRET"
	bobPassword   = "bob-password-S3CRET"
	leadToken     = "lead-token-S3CRET"
	pagerToken    = "pager-token-S3CRET"
	rootToken     = "root-token-S3CRET"
)

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// bcryptHash hashes pw at the minimum cost, to keep tests fast, and
// memoizes the result so each password is hashed once per test binary.
var bcryptMemo sync.Map

func bcryptHash(t testing.TB, pw string) string {
	t.Helper()
	if h, ok := bcryptMemo.Load(pw); ok {
		return h.(string)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	bcryptMemo.Store(pw, string(h))
	return string(h)
}

func basicHeader(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// testPrincipals is a configuration with one principal per role:
// alice (producer; token and bcrypt password), bob (author; SHA-256
// password), lead (governance-lead; token), pager (oncall; token) and root
// (admin; token).
func testPrincipals(t testing.TB) []PrincipalConfig {
	return []PrincipalConfig{
		{Name: "alice", Roles: []string{"producer"}, TokenSHA256: sha256Hex(aliceToken), PasswordBcrypt: bcryptHash(t, alicePassword)},
		{Name: "bob", Roles: []string{"author"}, PasswordSHA256: sha256Hex(bobPassword)},
		{Name: "lead", Roles: []string{"governance-lead"}, TokenSHA256: sha256Hex(leadToken)},
		{Name: "pager", Roles: []string{"oncall"}, TokenSHA256: sha256Hex(pagerToken)},
		{Name: "root", Roles: []string{"admin"}, TokenSHA256: sha256Hex(rootToken)},
	}
}

// newTestAuthenticator builds an Authenticator over testPrincipals that logs
// at debug level into the returned buffer.
func newTestAuthenticator(t testing.TB, opts Options) (*Authenticator, *harness.Buffer) {
	t.Helper()
	logs := &harness.Buffer{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	a, err := New(testPrincipals(t), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a, logs
}
