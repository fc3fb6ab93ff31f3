package auth

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/grpc/metadata"

	"github.com/schemagate/schemagate/tests/harness"
)

// secrets returns every credential and hash the tests configure, plus a few
// distinctive fragments of them.
func secrets(t *testing.T, extra ...string) []string {
	t.Helper()
	var out []string
	for _, s := range []string{aliceToken, alicePassword, bobPassword, leadToken, pagerToken, rootToken} {
		out = append(out, s, sha256Hex(s))
	}
	out = append(out, bcryptHash(t, alicePassword), "S3CRET")
	return append(out, extra...)
}

func assertNoSecrets(t *testing.T, what, text string, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s contains secret %q:\n%s", what, s, text)
		}
	}
}

// formats renders v the ways a careless caller might.
func formats(v any) string {
	return fmt.Sprintf("%v\n%+v\n%#v\n%s", v, v, v, v)
}

func TestSecretsNeverShown(t *testing.T) {
	t.Parallel()
	const badBcrypt = "$2a$10$S3CRETbutNotAValidHash"
	secret := secrets(t, badBcrypt, sha256Hex("bad-S3CRET")[:60])

	// Configuration values, printed and logged.
	logs := &harness.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for _, pc := range testPrincipals(t) {
		assertNoSecrets(t, "formatted PrincipalConfig", formats(pc), secret)
		assertNoSecrets(t, "formatted []PrincipalConfig", formats([]PrincipalConfig{pc}), secret)
		logger.Info("config", "principal", pc)
	}

	// Configuration errors.
	bad := []PrincipalConfig{
		{Name: "a", Roles: []string{"admin"}, PasswordBcrypt: badBcrypt},
		{Name: "b", Roles: []string{"admin"}, TokenSHA256: sha256Hex("bad-S3CRET")[:60]},
		{Name: "c", Roles: []string{"admin"}, PasswordSHA256: strings.Repeat("S3CRET", 11)[:64]},
		{Name: "d", Roles: []string{"admin"}, TokenSHA256: sha256Hex(rootToken)},
		{Name: "e", Roles: []string{"admin"}, TokenSHA256: sha256Hex(rootToken)},
	}
	if _, err := New(bad, Options{Logger: logger}); err == nil {
		t.Fatal("New accepted bad configuration")
	} else {
		assertNoSecrets(t, "New error", formats(err), secret)
	}

	// Authentication failures and successes, through every entry point.
	a, err := New(testPrincipals(t), Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	headers := []string{
		"Bearer " + aliceToken + "-wrong",
		"Bearer " + aliceToken,
		basicHeader("alice", alicePassword+"-wrong"),
		basicHeader("alice", alicePassword),
		basicHeader("mallory", bobPassword),
		basicHeader("bob", bobPassword),
		"Basic " + alicePassword,
		alicePassword,
		"Token " + rootToken,
	}
	for _, header := range headers {
		p, err := a.Authenticate(context.Background(), header)
		assertNoSecrets(t, "Authenticate result", formats(p)+formats(err), secret)

		// The refusal handed to fail is what the Confluent API writes in
		// the body (its message); the headers are the middleware's.
		req := httptest.NewRequest(http.MethodGet, "/subjects", nil)
		req.Header.Set("Authorization", header)
		rec, err := serveMiddleware(a, PermAdmin, req)
		assertNoSecrets(t, "HTTP refusal", formats(err), secret)
		assertNoSecrets(t, "HTTP response", fmt.Sprint(rec.Header())+rec.Body.String(), secret)

		ctx, err := a.authorizeGRPC(grpcIncoming(header), "/schemagate.v1.Admin/Anything", map[string]Permission{"/schemagate.v1.Admin/Anything": PermAdmin}, func(metadata.MD) {})
		assertNoSecrets(t, "gRPC refusal", formats(err), secret)
		if ctx == nil {
			ctx = context.Background()
		}
		assertNoSecrets(t, "Require error", formats(Require(ctx, PermAdmin)), secret)
	}
	assertNoSecrets(t, "logs", logs.String(), secret)
	if !strings.Contains(logs.String(), "authentication failed") {
		t.Error("failures were not logged")
	}
}
