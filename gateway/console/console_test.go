package console_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/schemagate/schemagate/gateway"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// TestSignInAndOut: a wrong password is refused, a right one starts a session whose cookie
// is HttpOnly, SameSite=Strict and scoped to /ui/; signing out revokes it on the server, so a
// copy of the cookie no longer works.
func TestSignInAndOut(t *testing.T) {
	w := startWorld(t, nil)
	b := w.browser(t)
	if r := b.get("/ui/"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/ui/signin" {
		t.Fatalf("GET /ui/ without a session: %v; want a redirect to the sign-in page", r)
	}
	if r := b.post("/ui/signin", url.Values{"name": {passwordUser}, "password": {"wrong"}}); r.status != http.StatusUnauthorized ||
		!strings.Contains(r.body, "Wrong name, password or token.") {
		t.Fatalf("wrong password: %v", r)
	}
	r := b.post("/ui/signin", url.Values{"name": {passwordUser}, "password": {password}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("right password: %v", r)
	}
	cookies := (&http.Response{Header: r.header}).Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies: %v", cookies)
	}
	ck := cookies[0]
	got := []any{ck.Name, ck.Path, ck.HttpOnly, ck.Secure, ck.SameSite, len(ck.Value) >= 43, ck.MaxAge}
	want := []any{"schemagate_session", "/ui/", true, false, http.SameSiteStrictMode, true, int((12 * time.Hour).Seconds())}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cookie (-want +got):\n%s", diff)
	}
	if r := b.get("/ui/"); r.status != http.StatusOK || !strings.Contains(r.body, `data-testid="principal">pat<`) {
		t.Fatalf("subjects page after sign-in: %v", r)
	}
	// Signing in again ends the session the browser had.
	if r := b.post("/ui/signin", url.Values{"name": {passwordUser}, "password": {password}}); r.status != http.StatusSeeOther {
		t.Fatalf("second sign-in: %v", r)
	}
	if r := w.withCookie(t, ck.Value).get("/ui/"); r.status != http.StatusSeeOther {
		t.Errorf("the cookie of a replaced session still works: %v", r)
	}
	b.get("/ui/") // the new session's CSRF token
	second := b.cookie()
	if r := b.post("/ui/signout", url.Values{}); r.status != http.StatusSeeOther || r.header.Get("Location") != "/ui/signin" {
		t.Fatalf("sign-out: %v", r)
	}
	if r := w.withCookie(t, second).get("/ui/"); r.status != http.StatusSeeOther {
		t.Errorf("the cookie of a signed-out session still works: %v", r)
	}
}

// TestSignInFailuresCountTowardTheAPILimit: failed sign-ins and failed API calls share one
// failure limit per client address.
func TestSignInFailuresCountTowardTheAPILimit(t *testing.T) {
	w := startWorld(t, func(c *gateway.Config) { c.Auth.MaxFailures = 2 })
	b := w.browser(t)
	var got []int
	for range 2 {
		got = append(got, b.post("/ui/signin", url.Values{"token": {"guess"}}).status)
	}
	got = append(got, b.post("/ui/signin", url.Values{"token": {admin}}).status) // right, but over the limit
	req, _ := http.NewRequest(http.MethodGet, w.base+"/v1/governance/subjects", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	got = append(got, b.do(req).status)
	want := []int{http.StatusUnauthorized, http.StatusUnauthorized, http.StatusTooManyRequests, http.StatusTooManyRequests}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

// TestSessionExpiry moves the injected clock: a session ends after console.session_idle
// without a request (the pages' automatic refresh does not count) and after
// console.session_max however active.
func TestSessionExpiry(t *testing.T) {
	w := startWorld(t, func(c *gateway.Config) { c.Console.SessionIdle, c.Console.SessionMax = 30*time.Minute, time.Hour })
	type step struct {
		advance time.Duration
		path    string
		want    int
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"active within the idle time", []step{{20 * time.Minute, "/ui/", 200}, {20 * time.Minute, "/ui/audit", 200}, {19 * time.Minute, "/ui/", 200}}},
		{"idle", []step{{30 * time.Minute, "/ui/", 303}}},
		{"refresh is not activity", []step{{20 * time.Minute, "/ui/fragments/subjects", 200}, {11 * time.Minute, "/ui/fragments/subjects", 401}}},
		{"absolute expiry", []step{{25 * time.Minute, "/ui/", 200}, {25 * time.Minute, "/ui/", 200}, {10 * time.Minute, "/ui/", 303}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := w.browser(t)
			b.signIn(producer)
			var got, want []int
			for _, s := range tt.steps {
				w.clock.advance(s.advance)
				got, want = append(got, b.get(s.path).status), append(want, s.want)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCSRF: a state-changing request without the session's CSRF token, or with another
// session's, or from another origin, is refused before the API is called.
func TestCSRF(t *testing.T) {
	w := startWorld(t, nil)
	w.seed(t)
	victim, other := w.browser(t), w.browser(t)
	victim.signIn(oncall)
	other.signIn(oncall)
	rollback := url.Values{"reason": {"forged"}, "incident": {"INC-1"}}
	with := func(csrf string) url.Values {
		v := url.Values{"csrf": {csrf}}
		for k, vs := range rollback {
			v[k] = vs
		}
		return v
	}
	tests := []struct {
		name string
		send func() response
	}{
		{"no token", func() response { return victim.post("/ui/subjects/"+grantedSubject+"/rollback", with("")) }},
		{"another session's token", func() response {
			return victim.post("/ui/subjects/"+grantedSubject+"/rollback", with(other.csrf))
		}},
		{"another origin", func() response {
			req, _ := http.NewRequest(http.MethodPost, w.base+"/ui/subjects/"+grantedSubject+"/rollback", strings.NewReader(with(victim.csrf).Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", "https://evil.example")
			return victim.do(req)
		}},
	}
	for _, tt := range tests {
		if r := tt.send(); r.status != http.StatusForbidden {
			t.Errorf("%s: %v; want 403", tt.name, r)
		}
	}
	if got := w.auditActors(t, "mode.rolled_back"); len(got) != 0 {
		t.Errorf("refused requests rolled back: %v", got)
	}
}

// TestReservedMetadataNotSettableOverHTTP: an HTTP client cannot name a session principal,
// under any spelling grpc-gateway would forward.
func TestReservedMetadataNotSettableOverHTTP(t *testing.T) {
	w := startWorld(t, nil)
	b := w.browser(t)
	principal := `{"Name":"admin","Roles":["admin"]}`
	for _, header := range []string{"Grpc-Metadata-Schemagate-Client-Principal-Bin", "Schemagate-Client-Principal-Bin"} {
		for _, value := range []string{principal, base64.StdEncoding.EncodeToString([]byte(principal))} {
			req, _ := http.NewRequest(http.MethodGet, w.base+"/v1/governance/subjects", nil)
			req.Header.Set(header, value)
			if r := b.do(req); r.status != http.StatusUnauthorized {
				t.Errorf("%s: %s: %v; want 401", header, value, r)
			}
		}
	}
}

// securityHeaders are the headers every console page carries.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	"X-Frame-Options":         "DENY",
	"X-Content-Type-Options":  "nosniff",
	"Referrer-Policy":         "same-origin",
	"Cache-Control":           "no-store",
}

var h1RE = regexp.MustCompile(`<h1[ >]`)

// TestEveryPageForEveryRole renders every page for every principal: none is a 5xx, each has
// the security headers and one <h1>; the controls shown follow the roles; a page the API
// refuses shows the refusal with its status.
func TestEveryPageForEveryRole(t *testing.T) {
	w := startWorld(t, nil)
	w.seed(t)
	if _, err := pb.NewGovernanceServiceClient(w.conn).RequestPromotion(as(t, author), &pb.RequestPromotionRequest{Subject: grantedSubject, Ticket: "CHG-1", Reason: "ready"}); err != nil {
		t.Fatal(err)
	}
	pages := []string{"/ui/signin", "/ui/", "/ui/?q=granted&mode=canary&eligible=yes&sort=clean", "/ui/fragments/subjects",
		"/ui/subjects/" + grantedSubject, "/ui/subjects/" + grantedSubject + "?a=1&b=2", "/ui/fragments/subjects/" + grantedSubject,
		"/ui/subjects/" + otherSubject, "/ui/promotions", "/ui/audit", "/ui/audit?verify=1&actor=admin", "/ui/governance"}
	type seen struct {
		Statuses map[string]int
		Controls []string
	}
	controls := []string{"request-promotion", "rollback", "override", "drill", "approve", "reject", "set-owner"}
	want := map[string]seen{}
	all := func(st int) map[string]int {
		m := map[string]int{}
		for _, p := range pages {
			m[p] = st
		}
		m["/ui/signin"] = http.StatusSeeOther // signed in already
		return m
	}
	for _, p := range []string{admin, lead, oncall, author} {
		want[p] = seen{Statuses: all(200)}
	}
	// Granted only granted-*: the other subject and the governance document (every subject's
	// promotions) are refused by the API.
	for _, p := range []string{grantedLead, producer} {
		s := all(200)
		s["/ui/subjects/"+otherSubject] = http.StatusForbidden
		s["/ui/governance"] = http.StatusForbidden
		want[p] = seen{Statuses: s}
	}
	wantControls := map[string][]string{
		admin: {"request-promotion", "rollback", "override", "drill", "approve", "reject", "set-owner"},
		lead:  {"request-promotion", "rollback", "drill", "approve", "reject", "set-owner"},
		// The one subject it may request is pending already.
		grantedLead: {"rollback", "drill", "approve", "reject", "set-owner"},
		oncall:      {"rollback", "drill"}, author: {"request-promotion"}, producer: nil,
	}
	got := map[string]seen{}
	for p := range want {
		sw := want[p]
		sw.Controls = wantControls[p]
		want[p] = sw
		b := w.browser(t)
		b.signIn(p)
		s := seen{Statuses: map[string]int{}}
		for _, path := range pages {
			r := b.get(path)
			s.Statuses[path] = r.status
			if r.status == http.StatusSeeOther {
				continue
			}
			for k, v := range securityHeaders {
				if r.header.Get(k) != v {
					t.Errorf("%s %s: %s = %q, want %q", p, path, k, r.header.Get(k), v)
				}
			}
			if n := len(h1RE.FindAllString(r.body, -1)); n != 1 && !strings.Contains(path, "fragments") {
				t.Errorf("%s %s: %d <h1>, want 1", p, path, n)
			}
			if path == "/ui/subjects/"+grantedSubject || path == "/ui/promotions" {
				for _, c := range controls {
					if strings.Contains(r.body, `data-testid="`+c+`"`) && !slices.Contains(s.Controls, c) {
						s.Controls = append(s.Controls, c)
					}
				}
			}
		}
		slices.SortFunc(s.Controls, func(a, b string) int { return slices.Index(controls, a) - slices.Index(controls, b) })
		got[p] = s
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pages by principal (-want +got):\n%s", diff)
	}
}

// TestActionsAreTheAPIs: every action goes through the API as the session's principal: what
// the principal may not do over gRPC is refused in the browser with the API's status, the
// two-person rule holds, and the audit log names the principal who acted.
func TestActionsAreTheAPIs(t *testing.T) {
	w := startWorld(t, nil)
	w.seed(t)
	browsers := map[string]*browser{}
	for _, p := range []string{admin, lead, grantedLead, producer, oncall} {
		browsers[p] = w.browser(t)
		browsers[p].signIn(p)
	}
	pendingID := func() string {
		id := w.status(t, otherSubject).GetPendingPromotion().GetId()
		if id == "" {
			t.Fatalf("no pending promotion of %s", otherSubject)
		}
		return id
	}
	steps := []struct {
		name       string
		principal  string
		path       func() string
		form       url.Values
		wantStatus int
		wantText   string // in the refusal page
	}{
		{"the lead requests a promotion", lead, func() string { return "/ui/promotions/request" },
			url.Values{"subject": {otherSubject}, "ticket": {"CHG-7"}, "reason": {"clean for a week"}}, http.StatusSeeOther, ""},
		{"the requester cannot approve", lead, func() string { return "/ui/promotions/" + pendingID() + "/approve" }, url.Values{}, http.StatusForbidden, "another governance lead must approve it"},
		{"a producer's session cannot approve", producer, func() string { return "/ui/promotions/" + pendingID() + "/approve" }, url.Values{}, http.StatusForbidden, "governance.approve"},
		{"a lead not granted the subject cannot approve", grantedLead, func() string { return "/ui/promotions/" + pendingID() + "/approve" }, url.Values{}, http.StatusForbidden, otherSubject},
		{"a lead not granted the subject cannot roll it back", grantedLead, func() string { return "/ui/subjects/" + otherSubject + "/rollback" },
			url.Values{"reason": {"r"}, "incident": {"INC-1"}}, http.StatusForbidden, otherSubject},
		{"a producer cannot roll back", producer, func() string { return "/ui/subjects/" + grantedSubject + "/rollback" },
			url.Values{"reason": {"r"}, "incident": {"INC-1"}}, http.StatusForbidden, "governance.rollback"},
		{"the ticket pattern is the API's", lead, func() string { return "/ui/subjects/" + grantedSubject + "/promotions" },
			url.Values{"ticket": {"not a ticket"}, "reason": {"r"}}, http.StatusBadRequest, "ticket"},
		{"another lead approves", admin, func() string { return "/ui/promotions/" + pendingID() + "/approve" }, url.Values{"comment": {"ok"}}, http.StatusSeeOther, ""},
		{"a rollback needs an incident", oncall, func() string { return "/ui/subjects/" + otherSubject + "/rollback" },
			url.Values{"reason": {"pager"}}, http.StatusBadRequest, "incident"},
		{"on-call rolls back", oncall, func() string { return "/ui/subjects/" + otherSubject + "/rollback" },
			url.Values{"reason": {"pager"}, "incident": {"INC-9"}}, http.StatusSeeOther, ""},
		{"on-call stages a drill", oncall, func() string { return "/ui/subjects/" + grantedSubject + "/drill" },
			url.Values{"kind": {"unknown_field"}}, http.StatusSeeOther, ""},
		{"only an admin overrides", lead, func() string { return "/ui/subjects/" + grantedSubject + "/override" },
			url.Values{"mode": {"strict"}, "ticket": {"CHG-8"}, "justification": {"j"}}, http.StatusForbidden, ""},
		{"an admin overrides", admin, func() string { return "/ui/subjects/" + grantedSubject + "/override" },
			url.Values{"mode": {"strict"}, "ticket": {"CHG-8"}, "justification": {"break glass"}}, http.StatusSeeOther, ""},
		{"on-call cannot set the owner", oncall, func() string { return "/ui/subjects/" + grantedSubject + "/owner" },
			url.Values{"team": {"payments"}}, http.StatusForbidden, "governance.approve"},
		{"a lead not granted the subject cannot set its owner", grantedLead, func() string { return "/ui/subjects/" + otherSubject + "/owner" },
			url.Values{"team": {"payments"}}, http.StatusForbidden, otherSubject},
		{"a lead sets the owner", lead, func() string { return "/ui/subjects/" + grantedSubject + "/owner" },
			url.Values{"team": {"payments"}, "escalation": {"#payments-oncall"}}, http.StatusSeeOther, ""},
	}
	for _, s := range steps {
		r := browsers[s.principal].post(s.path(), s.form)
		if r.status != s.wantStatus || !strings.Contains(r.body, s.wantText) {
			t.Errorf("%s: %d %s; want %d with %q", s.name, r.status, errorMessage(r.body), s.wantStatus, s.wantText)
		}
	}
	var got []string
	for _, action := range []string{"promotion.requested", "promotion.approved", "mode.rolled_back", "drift.drill", "mode.overridden", "owner.set"} {
		got = append(got, w.auditActors(t, action)...)
	}
	want := []string{
		"lead promotion.requested " + otherSubject, "admin promotion.approved " + otherSubject,
		"oncall mode.rolled_back " + otherSubject, "oncall drift.drill " + grantedSubject, "admin mode.overridden " + grantedSubject,
		// The world's set-up records both owners as admin; then the lead's change.
		"admin owner.set " + grantedSubject, "admin owner.set " + otherSubject, "lead owner.set " + grantedSubject,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
	// The subject page shows what happened: drift in the drift report, the actions in the
	// history, the evidence chart, and the diff of two versions.
	drifted, _ := structpb.NewValue(map[string]any{"id": "x", "unexpected": "y"})
	// Strict since the override: rejected, and recorded as drift.
	if _, err := pb.NewValidationServiceClient(w.conn).Validate(as(t, admin), &pb.ValidateRequest{Subject: grantedSubject, Json: drifted}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("drifted payload on a strict subject: %v; want InvalidArgument", err)
	}
	page := browsers[lead].get("/ui/subjects/" + grantedSubject + "?a=1&b=2")
	for _, want := range []string{`<td>unknown_field</td>`, `<td>drift.drill</td>`, `<td>mode.overridden</td>`, `data-testid="evidence-chart"`,
		`<rect class="validations"`, `<td class="n">10</td><td><code>      &#34;name&#34;: &#34;id2&#34;,</code>`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("subject page lacks %s", want)

		}
	}
	// The promotions page shows the decision with the evidence it was made on.
	if r := browsers[lead].get("/ui/promotions"); !strings.Contains(r.body, "promotion.approved") || !strings.Contains(r.body, "validations, 0 violations, window") {
		t.Errorf("promotions page lacks the decision and its evidence: %v", r)
	}
}

// TestReloadRevokesSessions: a reload that changes a principal's roles or removes it ends its
// sessions; other sessions live on.
func TestReloadRevokesSessions(t *testing.T) {
	w := startWorld(t, nil)
	browsers := map[string]*browser{}
	for _, p := range []string{lead, producer, oncall} {
		browsers[p] = w.browser(t)
		browsers[p].signIn(p)
	}
	cfg := w.cfg
	cfg.Auth.Principals = nil
	for _, p := range w.cfg.Auth.Principals {
		switch p.Name {
		case lead:
			p.Roles = []string{"producer"}
		case oncall:
			continue
		}
		cfg.Auth.Principals = append(cfg.Auth.Principals, p)
	}
	if err := w.g.Reload(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for p, b := range browsers {
		got[p] = b.get("/ui/").status
	}
	want := map[string]int{lead: http.StatusSeeOther, oncall: http.StatusSeeOther, producer: http.StatusOK}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses after reload (-want +got):\n%s", diff)
	}
}

var assetRE = regexp.MustCompile(`/ui/static/[0-9a-f]+/(console\.css|htmx\.min\.js)`)

// TestStaticAssets: the pages link their assets under a content hash, served for a year;
// another hash is not served.
func TestStaticAssets(t *testing.T) {
	w := startWorld(t, nil)
	b := w.browser(t)
	page := b.get("/ui/signin")
	links := assetRE.FindAllString(page.body, -1)
	if len(links) != 2 {
		t.Fatalf("asset links: %v", links)
	}
	for _, link := range links {
		r := b.get(link)
		if r.status != http.StatusOK || r.header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Errorf("%s: %d %q", link, r.status, r.header.Get("Cache-Control"))
		}
		if r := b.get(strings.Replace(link, "/static/", "/static/0", 1)); r.status != http.StatusNotFound {
			t.Errorf("%s with another hash: %d", link, r.status)
		}
	}
}

// TestHTMXIsThePinnedNPMFile: the embedded htmx is byte for byte the file of the pinned npm
// package (make test runs npm ci first, so node_modules must hold it).
func TestHTMXIsThePinnedNPMFile(t *testing.T) {
	embedded, err := os.ReadFile("static/htmx.min.js")
	if err != nil {
		t.Fatal(err)
	}
	npm, err := os.ReadFile("../../node_modules/htmx.org/dist/htmx.min.js")
	if err != nil {
		t.Fatalf("%v: run npm ci (make deps) first", err)
	}
	if !bytes.Equal(embedded, npm) {
		t.Error("gateway/console/static/htmx.min.js differs from node_modules/htmx.org/dist/htmx.min.js: copy it after changing the pinned version")
	}
}

var errorMessageRE = regexp.MustCompile(`data-testid="error-message">([^<]*)<`)

// errorMessage is the message of an error page, or the whole body of another page.
func errorMessage(body string) string {
	if m := errorMessageRE.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return body
}
