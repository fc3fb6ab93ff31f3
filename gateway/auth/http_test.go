package auth

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// serveMiddleware runs req through a.HTTPMiddleware(perm, ...) with a next
// handler that writes the name of the principal in its context, and
// returns the response and the error handed to fail (nil when next ran).
// fail writes nothing: the body of a refusal is the caller's.
func serveMiddleware(a *Authenticator, perm Permission, req *http.Request) (*httptest.ResponseRecorder, error) {
	var failed error
	h := a.HTTPMiddleware(perm, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := FromContext(r.Context())
		if !ok {
			http.Error(w, "no principal", http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, p.Name)
	}), func(_ http.ResponseWriter, _ *http.Request, err error) { failed = err })
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec, failed
}

// TestHTTPMiddleware checks what the middleware hands to fail and the
// headers it sets; the status and body that the Confluent API makes of
// them are checked in gateway/confluent (TestAuthRefusals).
func TestHTTPMiddleware(t *testing.T) {
	t.Parallel()
	a, _ := newTestAuthenticator(t, Options{})
	tests := []struct {
		name     string
		auth     string
		wantName string // principal next saw, when allowed
		wantErr  error  // sentinel of the error handed to fail; nil: allowed
		wantMsg  string // its whole message, which reaches the client
	}{
		{name: "basic bcrypt author", auth: basicHeader("bob", bobPassword), wantName: "bob"},
		{name: "bearer admin", auth: "Bearer " + rootToken, wantName: "root"},
		{name: "no credentials", wantErr: ErrNoCredentials, wantMsg: wantNoCredentials},
		{name: "wrong password", auth: basicHeader("bob", "nope"), wantErr: ErrBadCredentials, wantMsg: "invalid credentials"},
		{name: "malformed", auth: "Basic bm9jb2xvbg==", wantErr: ErrBadCredentials,
			wantMsg: `invalid credentials: malformed basic credentials; expected "Basic <base64(user:password)>"`},
		{name: "producer cannot write", auth: basicHeader("alice", alicePassword), wantErr: ErrPermissionDenied,
			wantMsg: `principal "alice" (roles [producer]) lacks permission "schemas.write"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodPost, "/subjects/s/versions", nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec, err := serveMiddleware(a, PermSchemasWrite, req)
			if tt.wantErr == nil {
				if err != nil || rec.Code != http.StatusOK {
					t.Fatalf("refused: %v; status %d, body %s", err, rec.Code, rec.Body)
				}
				if diff := cmp.Diff(tt.wantName, rec.Body.String()); diff != "" {
					t.Errorf("principal seen by next (-want +got):\n%s", diff)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("fail got %v, want %v", err, tt.wantErr)
			}
			if err.Error() != tt.wantMsg {
				t.Errorf("message %q, want %q", err, tt.wantMsg)
			}
			if rec.Body.Len() != 0 {
				t.Errorf("next ran or the middleware wrote a body: %q", rec.Body)
			}
			wantChallenge := ""
			if errors.Is(err, ErrNoCredentials) || errors.Is(err, ErrBadCredentials) {
				wantChallenge = Challenge
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != wantChallenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, wantChallenge)
			}
			if got := rec.Header().Get("Retry-After"); got != "" {
				t.Errorf("Retry-After = %q without a failure limit", got)
			}
		})
	}
}

func TestHTTPMiddlewareOpen(t *testing.T) {
	t.Parallel()
	a, err := New(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := serveMiddleware(a, PermSchemasHardDelete, httptest.NewRequest(http.MethodDelete, "/subjects/s?permanent=true", nil))
	if err != nil || rec.Code != http.StatusOK || rec.Body.String() != "anonymous" {
		t.Errorf("open middleware: %v, %d %q, want 200 anonymous", err, rec.Code, rec.Body)
	}
}

func TestHTTPMiddlewarePanics(t *testing.T) {
	t.Parallel()
	a, _ := newTestAuthenticator(t, Options{})
	fail := func(http.ResponseWriter, *http.Request, error) {}
	for name, build := range map[string]func(){
		"undefined permission": func() { a.HTTPMiddleware("nope", http.NotFoundHandler(), fail) },
		"no fail function":     func() { a.HTTPMiddleware(PermSchemasRead, http.NotFoundHandler(), nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("no panic for %s", name)
				}
			}()
			build()
		}()
	}
}
