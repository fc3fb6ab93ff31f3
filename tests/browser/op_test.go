package browser

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/storage"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/schemagate/schemagate/tests/harness"
)

// The test's OpenID Provider: zitadel/oidc's op package serving its example storage over
// plain HTTP on loopback (auth.oidc allows http on a loopback host), with one person whose
// groups claim maps to a role in the server's auth.oidc.mappings, and one client: the
// console, whose redirect URL is the server's /ui/oidc/callback. (gateway/oidc's tests run the
// same provider over TLS with more people and clients.)

// oidcPerson is the test provider's user.
var oidcPerson = struct{ id, username, password, group string }{"u-erin", "erin", "erin-pw", "schema-leads"}

// oidcClient and oidcSecret are the console's client at the test provider.
const (
	oidcClient = "schemagate-console"
	oidcSecret = "client-secret-of-the-browser-test"
)

type opUsers struct{}

func (opUsers) GetUserByID(id string) *storage.User {
	if id != oidcPerson.id {
		return nil
	}
	return &storage.User{ID: id, Username: oidcPerson.username, Password: oidcPerson.password,
		Email: oidcPerson.username + "@example.org", EmailVerified: true, PreferredLanguage: language.English}
}

func (u opUsers) GetUserByUsername(name string) *storage.User {
	if name != oidcPerson.username {
		return nil
	}
	return u.GetUserByID(oidcPerson.id)
}

func (opUsers) ExampleClientID() string { return "service" }

// opStorage puts the person's groups claim in the ID token (the op package asks
// SetUserinfoFromScopes for every ID token's claims); the name comes from userinfo.
type opStorage struct{ *storage.Storage }

func (s opStorage) SetUserinfoFromScopes(ctx context.Context, ui *zoidc.UserInfo, userID, clientID string, scopes []string) error {
	if err := s.Storage.SetUserinfoFromScopes(ctx, ui, userID, clientID, scopes); err != nil {
		return err
	}
	if userID == oidcPerson.id {
		ui.AppendClaims("groups", []string{oidcPerson.group})
	}
	return nil
}

// startOP starts the provider on loopback with the console at consoleBase as its one client,
// and returns its issuer URL. It stops when the test ends.
func startOP(t *testing.T, consoleBase string) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	st := opStorage{storage.NewStorageWithClients(opUsers{}, map[string]*storage.Client{
		oidcClient: storage.WebClient(oidcClient, oidcSecret, consoleBase+"/ui/oidc/callback"),
	})}
	provider, err := op.NewProvider(&op.Config{CryptoKey: sha256.Sum256([]byte("browser test op")), CodeMethodS256: true},
		st, op.StaticIssuer(issuer), op.WithAllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	harness.MountOIDCLogin(mux, provider, st)
	mux.Handle("/", provider)
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)
	return issuer
}
