package main_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/tests/harness"
)

func TestMain(m *testing.M) { os.Exit(harness.RunWithBinary(m)) }

// orderSchema is the Avro schema the tests register.
const orderSchema = `{"type":"record","name":"Order","fields":[{"name":"id","type":"string"}]}`

// orderGUID is the GUID srfake derives from orderSchema.
const orderGUID = "ee6ca993-1f01-8fa4-b316-1217d55f7015"

// exchange is one request to srfake and what it answered.
type exchange struct {
	Method, Path, Auth, Body string
	Status                   int
	Answer                   any // the JSON body decoded; error bodies reduced to their error_code
}

// do sends method path with the Authorization header auth (none when "") and body, and
// returns the exchange.
func do(t *testing.T, url, method, path, auth, body string) exchange {
	t.Helper()
	header := http.Header{}
	if auth != "" {
		header.Set("Authorization", auth)
	}
	status, b := harness.Do(t, method, url+path, header, body)
	var answer any
	if err := json.Unmarshal([]byte(b), &answer); err != nil {
		t.Fatalf("%s %s: %d %q is not JSON: %v", method, path, status, b, err)
	}
	if m, ok := answer.(map[string]any); ok && status >= 400 {
		answer = map[string]any{"error_code": m["error_code"]}
	}
	return exchange{method, path, auth, body, status, answer}
}

// TestConfluentAPI starts srfake as a process, once per kind of credentials, and speaks the
// Confluent REST API to it: a registration, the schema read back by ID and by subject version,
// and requests without and with wrong credentials.
func TestConfluentAPI(t *testing.T) {
	register := mustJSON(t, map[string]string{"schema": orderSchema})
	tests := []struct {
		name      string
		opts      harness.SrfakeOptions
		auth      string // the right Authorization header
		wrongAuth string
	}{
		{"no credentials", harness.SrfakeOptions{}, "", ""},
		{"bearer token", harness.SrfakeOptions{BearerToken: "fake-token"}, "Bearer fake-token", "Bearer other-token"},
		{"basic auth", harness.SrfakeOptions{Username: "registry-admin", Password: "fake-password"},
			basic("registry-admin", "fake-password"), basic("registry-admin", "other-password")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := harness.StartSrfake(t, tt.opts)
			got := []exchange{
				do(t, url, "POST", "/subjects/orders-value/versions", tt.auth, register),
				do(t, url, "GET", "/schemas/ids/1", tt.auth, ""),
				do(t, url, "GET", "/subjects/orders-value/versions/1", tt.auth, ""),
				do(t, url, "GET", "/schemas/ids/2", tt.auth, ""),
			}
			want := []exchange{
				{"POST", "/subjects/orders-value/versions", tt.auth, register, http.StatusOK, map[string]any{"id": 1.0}},
				{"GET", "/schemas/ids/1", tt.auth, "", http.StatusOK, map[string]any{"schema": orderSchema}},
				{"GET", "/subjects/orders-value/versions/1", tt.auth, "", http.StatusOK,
					map[string]any{"subject": "orders-value", "version": 1.0, "id": 1.0, "schema": orderSchema, "guid": orderGUID}},
				{"GET", "/schemas/ids/2", tt.auth, "", http.StatusNotFound, map[string]any{"error_code": 40403.0}},
			}
			if tt.auth != "" {
				got = append(got,
					do(t, url, "GET", "/schemas/ids/1", "", ""),
					do(t, url, "GET", "/schemas/ids/1", tt.wrongAuth, ""))
				want = append(want,
					exchange{"GET", "/schemas/ids/1", "", "", http.StatusUnauthorized, map[string]any{"error_code": 50002.0}},
					exchange{"GET", "/schemas/ids/1", tt.wrongAuth, "", http.StatusForbidden, map[string]any{"error_code": 50002.0}})
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("exchanges with srfake (-want +got):\n%s", diff)
			}
		})
	}
}

// basic returns the Authorization header of HTTP basic auth.
func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// mustJSON returns v encoded as JSON.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
