package gateway

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestV1RefusesCrossSiteRequests sends /v1 requests as a page on another site could make a
// browser send them (a form post, a text/plain post, a request marked cross-site) and as API
// clients send them. The refusals come before credentials are looked at: the refused requests
// carry an admin token, and a cross-site approval of a promotion is refused even though no such
// promotion exists (404 once it reaches the handler).
func TestV1RefusesCrossSiteRequests(t *testing.T) {
	tg := startGateway(t, testPrincipals(t))
	self := "http://" + tg.g.HTTPAddr()
	const admin = "Bearer admin-token"
	json := map[string]string{"Content-Type": "application/json", "Authorization": admin}
	with := func(extra map[string]string) map[string]string {
		h := map[string]string{"Authorization": admin}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	approve, register := "/v1/promotions/p-0:approve", "/v1/subjects/guard/versions"
	crossSite := v1Error{Status: http.StatusForbidden, Code: 7, Message: "cross-site request refused"}
	unsupported := v1Error{Status: http.StatusUnsupportedMediaType, Code: 3, Message: `unsupported Content-Type: send "Content-Type: application/json"`}
	tests := []struct {
		name, method, path, body string
		header                   map[string]string
		want                     int
		wantErr                  *v1Error // the error body of a refusal
	}{
		{"text/plain approval", "POST", approve, `{}`, with(map[string]string{"Content-Type": "text/plain"}), 415, &unsupported},
		{"form approval", "POST", approve, `a=b`, with(map[string]string{"Content-Type": "application/x-www-form-urlencoded"}), 415, &unsupported},
		{"multipart register", "POST", register, registerBody(orderAvro), with(map[string]string{"Content-Type": "multipart/form-data; boundary=x"}), 415, &unsupported},
		{"approval without a body or Content-Type", "POST", approve, "", with(nil), 415, &unsupported},
		{"PUT without Content-Type", "PUT", "/v1/subjects/guard/owner", `{}`, with(nil), 415, &unsupported},
		{"JSON with another charset", "POST", register, registerBody(orderAvro), with(map[string]string{"Content-Type": "application/json; charset=latin1"}), 415, &unsupported},
		{"DELETE with a text body", "DELETE", "/v1/subjects/guard", "x", with(map[string]string{"Content-Type": "text/plain"}), 415, &unsupported},
		{"Sec-Fetch-Site cross-site", "POST", approve, `{}`, with(map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}), 403, &crossSite},
		{"Sec-Fetch-Site same-site", "POST", approve, `{}`, with(map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "same-site"}), 403, &crossSite},
		{"foreign Origin", "DELETE", "/v1/subjects/guard", "", with(map[string]string{"Origin": "https://evil.example"}), 403, &crossSite},
		{"null Origin", "POST", approve, `{}`, with(map[string]string{"Content-Type": "application/json", "Origin": "null"}), 403, &crossSite},
		{"cross-site read is served", "GET", "/v1/subjects", "", with(map[string]string{"Sec-Fetch-Site": "cross-site"}), 200, nil},
		{"API client approval reaches the handler", "POST", approve, `{}`, json, 404, nil},
		{"same-origin register", "POST", register, registerBody(orderAvro), with(map[string]string{"Content-Type": "application/json; charset=UTF-8", "Sec-Fetch-Site": "same-origin", "Origin": self}), 200, nil},
		{"own Origin without Sec-Fetch-Site", "DELETE", "/v1/subjects/guard", "", with(map[string]string{"Origin": self}), 200, nil},
		{"no credentials still 401", "POST", register, registerBody(orderAvro), map[string]string{"Content-Type": "application/json"}, 401, nil},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(tt.method, self+tt.path, strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range tt.header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s: %s %s = %d %s; want %d", tt.name, tt.method, tt.path, resp.StatusCode, raw, tt.want)
			continue
		}
		if tt.wantErr != nil {
			wantV1Error(t, tt.name, resp.StatusCode, raw, *tt.wantErr)
		}
	}
}

func TestIsJSONContentType(t *testing.T) {
	t.Parallel()
	for ct, want := range map[string]bool{
		"application/json": true, "Application/JSON": true, "application/json; charset=utf-8": true, "application/json;charset=UTF-8": true,
		"": false, "text/plain": false, "application/json; charset=latin1": false, "application/json; foo=bar": false,
		"application/jsonx": false, "application/vnd.schemaregistry.v1+json": false, "application/json; charset": false,
	} {
		if got := isJSONContentType(ct); got != want {
			t.Errorf("isJSONContentType(%q) = %v, want %v", ct, got, want)
		}
	}
}
