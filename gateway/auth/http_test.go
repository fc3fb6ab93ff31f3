package auth

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type confluentError struct {
	ErrorCode int    `json:"error_code"`
	Message   string `json:"message"`
}

func TestHTTPMiddleware(t *testing.T) {
	t.Parallel()
	a, _ := newTestAuthenticator(t, Options{})
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := FromContext(r.Context())
		if !ok {
			http.Error(w, "no principal", http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, p.Name)
	})
	h := a.HTTPMiddleware(PermSchemasWrite, next)
	tests := []struct {
		name       string
		auth       string
		wantStatus int
		wantBody   string          // for 200
		wantErr    *confluentError // ErrorCode only; Message checked by substring
		wantText   string
	}{
		{name: "basic bcrypt author", auth: basicHeader("bob", bobPassword), wantStatus: http.StatusOK, wantBody: "bob"},
		{name: "bearer admin", auth: "Bearer " + rootToken, wantStatus: http.StatusOK, wantBody: "root"},
		{name: "no credentials", wantStatus: http.StatusUnauthorized, wantErr: &confluentError{ErrorCode: 40101}, wantText: "basic auth"},
		{name: "wrong password", auth: basicHeader("bob", "nope"), wantStatus: http.StatusUnauthorized, wantErr: &confluentError{ErrorCode: 40101}, wantText: "invalid credentials"},
		{name: "malformed", auth: "Basic bm9jb2xvbg==", wantStatus: http.StatusUnauthorized, wantErr: &confluentError{ErrorCode: 40101}, wantText: "malformed basic credentials"},
		{name: "producer cannot write", auth: basicHeader("alice", alicePassword), wantStatus: http.StatusForbidden,
			wantErr: &confluentError{ErrorCode: 40301}, wantText: `principal "alice" (roles [producer]) lacks permission "schemas.write"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodPost, "/subjects/s/versions", nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantErr == nil {
				if diff := cmp.Diff(tt.wantBody, rec.Body.String()); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
				return
			}
			if got, want := rec.Header().Get("Content-Type"), "application/vnd.schemaregistry.v1+json"; got != want {
				t.Errorf("Content-Type = %q, want %q", got, want)
			}
			wantChallenge := ""
			if tt.wantStatus == http.StatusUnauthorized {
				wantChallenge = `Basic realm="schemagate"`
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != wantChallenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, wantChallenge)
			}
			var got confluentError
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if !strings.Contains(got.Message, tt.wantText) {
				t.Errorf("message %q does not contain %q", got.Message, tt.wantText)
			}
			got.Message = ""
			if diff := cmp.Diff(tt.wantErr, &got); diff != "" {
				t.Errorf("error body (-want +got):\n%s", diff)
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
	h := a.HTTPMiddleware(PermSchemasHardDelete, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := FromContext(r.Context())
		fmt.Fprint(w, p)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodDelete, "/subjects/s?permanent=true", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "anonymous" {
		t.Errorf("open middleware: %d %q, want 200 anonymous", rec.Code, rec.Body)
	}
}

func TestHTTPMiddlewarePanicsOnUndefinedPermission(t *testing.T) {
	t.Parallel()
	a, _ := newTestAuthenticator(t, Options{})
	defer func() {
		if recover() == nil {
			t.Error("no panic for an undefined permission")
		}
	}()
	a.HTTPMiddleware("nope", http.NotFoundHandler())
}
