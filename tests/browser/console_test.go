package browser

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/tests/harness"
)

// The subjects the scenarios work on; each scenario owns its own.
const (
	flowSubject   = "orders-value"    // promotion, approval, rollback, audit
	ruleSubject   = "payments-value"  // the two-person rule and forged requests
	quietSubject  = "customers-value" // never validated: not eligible, with its reasons
	refusedByCSRF = "this form has expired or did not come from this console"
)

// TestConsole runs the governance jobs in the browser against one server: the scenarios are
// independent of each other and run in parallel, each in its own browser contexts.
func TestConsole(t *testing.T) {
	e := startEnv(t)
	for _, s := range []string{flowSubject, ruleSubject, quietSubject} {
		e.register(t, s, orderSchema)
	}
	e.register(t, quietSubject, orderSchemaV2)
	t.Run("reading a subject and the governance document", func(t *testing.T) { t.Parallel(); e.reading(t) })
	t.Run("promotion approval rollback audit", func(t *testing.T) { t.Parallel(); e.governanceFlow(t) })
	t.Run("two-person rule and forged requests", func(t *testing.T) { t.Parallel(); e.twoPersonRule(t) })
	t.Run("oidc sign-in", func(t *testing.T) { t.Parallel(); e.oidcSignIn(t) })
	t.Run("readable on a phone", func(t *testing.T) { t.Parallel(); e.phone(t) })
}

// phone: on a phone-sized screen (390 × 844 CSS pixels) no console page is wider than the
// screen: wide tables scroll inside their own box, the page itself never sideways.
func (e *env) phone(t *testing.T) {
	p := newTab(t, e.base)
	p.do("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	p.signIn(admin.name, "", admin.token)
	for _, path := range []string{"/ui/", "/ui/subjects/" + quietSubject + "?a=1&b=2", "/ui/promotions", "/ui/audit", "/ui/governance"} {
		p.visit(path)
		width, err := chromedp.Run(p.ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`))
		if err != nil {
			t.Fatalf("page width of %s: %v", path, err)
		}
		if width > 0 {
			t.Errorf("%s is %d CSS pixels wider than a 390-pixel phone screen", path, width)
		}
	}
}

// governanceFlow: a lead watches a subject turn eligible without reloading, an author requests
// its promotion, the lead approves it, on-call rolls it back citing an incident, and the audit
// page lists all of it with the chain intact.
func (e *env) governanceFlow(t *testing.T) {
	row := fmt.Sprintf(`tr[data-subject=%q]`, flowSubject)
	leadTab := newTab(t, e.base)
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"the lead sees the subject turn eligible without a reload", func(t *testing.T) {
			leadTab := leadTab.in(t)
			leadTab.signIn(lead.name, "", lead.token)
			leadTab.visit("/ui/?q=" + flowSubject)
			if got := leadTab.text(row + ` [data-testid="not-eligible"]`); got != "Not eligible" {
				t.Fatalf("before any validation the row says %q; want Not eligible (row: %s)", got, leadTab.text(row))
			}
			leadTab.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.sgNotReloaded = true`))
			e.validate(t, flowSubject, minValidations+2)
			// The live part refreshes itself (every 5 s): wait for it, bounded by the tab's timeout.
			leadTab.do("wait for eligible", chromedp.WaitVisible(chromedp.CSS(row+` [data-testid="eligible"]`)))
			still, err := chromedp.Run(leadTab.ctx, chromedp.Evaluate[bool](`window.sgNotReloaded === true`))
			if err != nil || !still {
				t.Fatalf("the page was reloaded (%v); the live refresh should have turned the row eligible", err)
			}
			leadTab.checkAccessibility()
			if os.Getenv("SCHEMAGATE_UPDATE_SCREENSHOT") == "1" {
				updateScreenshot(t, leadTab)
			}
		}},
		{"the author requests promotion with a ticket and a reason", func(t *testing.T) {
			p := newTab(t, e.base)
			p.signIn(author.name, author.password, "")
			p.visit("/ui/subjects/" + flowSubject)
			p.fill("#req-ticket", "not a ticket")
			p.fill("#req-reason", "clean through the window")
			p.submit("#request-promotion", http.StatusBadRequest)
			if got := p.text(`[data-testid="error-message"]`); !strings.Contains(got, "ticket") {
				t.Errorf("a malformed ticket shows %q; want the ticket named", got)
			}
			p.visit("/ui/subjects/" + flowSubject)
			p.fill("#req-ticket", "CHG-101")
			p.fill("#req-reason", "clean through the window")
			p.submit("#request-promotion", http.StatusOK)
			card := pendingCard(flowSubject)
			if diff := cmp.Diff([]string{author.name}, p.texts(card+` [data-testid="requester"]`)); diff != "" {
				t.Errorf("pending request's requester (-want +got):\n%s", diff)
			}
			if got := p.text(card); !strings.Contains(got, "CHG-101") || !strings.Contains(got, "clean through the window") {
				t.Errorf("the pending request shows %q; want its ticket and reason", got)
			}
			if n := p.count(card + ` [data-testid="approve"]`); n != 0 {
				t.Errorf("the author sees %d approve controls; an author cannot approve", n)
			}
		}},
		{"the lead approves", func(t *testing.T) {
			leadTab := leadTab.in(t)
			leadTab.visit("/ui/promotions")
			card := pendingCard(flowSubject)
			leadTab.fill(card+` input[name="comment"]`, "evidence reviewed")
			leadTab.submit(card+` [data-testid="approve"]`, http.StatusOK)
			if n := leadTab.count(card); n != 0 {
				t.Errorf("the approved request is still pending")
			}
			decision := leadTab.texts(`[data-testid="decisions"] tbody tr`)
			if !containsAll(decision, flowSubject, "promotion.approved", lead.name, "CHG-101") {
				t.Errorf("decisions %q; want the approval by %s with ticket CHG-101", decision, lead.name)
			}
			leadTab.visit("/ui/subjects/" + flowSubject)
			if got := leadTab.text(`[data-testid="status"] .mode`); got != "strict" {
				t.Errorf("mode after approval %q; want strict", got)
			}
		}},
		{"on-call rolls back with an incident", func(t *testing.T) {
			p := newTab(t, e.base)
			p.signIn(oncall.name, "", oncall.token)
			p.visit("/ui/subjects/" + flowSubject)
			if n := p.count("#request-form"); n != 0 {
				t.Errorf("on-call sees the promotion request form")
			}
			p.fill("#rb-reason", "consumers failing on strict")
			p.fill("#rb-incident", "INC-7")
			p.submit("#rollback", http.StatusOK)
			if got := p.text(`[data-testid="status"] .mode`); got != "canary" {
				t.Errorf("mode after the rollback %q; want canary", got)
			}
			history := p.texts(`[data-testid="history"] tbody tr`)
			if !containsAll(history, "mode.rolled_back", oncall.name, "INC-7", "consumers failing on strict") {
				t.Errorf("history %q; want the rollback by on-call with its incident", history)
			}
		}},
		{"the audit page lists the entries and the chain is intact", func(t *testing.T) {
			leadTab := leadTab.in(t)
			leadTab.visit("/ui/audit?subject=" + flowSubject)
			var got [][2]string
			for _, r := range leadTab.texts(`[data-testid="audit-entry"]`) {
				for _, a := range []string{"mode.rolled_back", "mode.promoted", "promotion.approved", "promotion.requested"} {
					if strings.Contains(r, " "+a+" ") {
						got = append(got, [2]string{a, actorOf(r)})
					}
				}
			}
			want := [][2]string{{"mode.rolled_back", oncall.name}, {"mode.promoted", lead.name}, {"promotion.approved", lead.name}, {"promotion.requested", author.name}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("audit entries of %s, newest first (-want +got):\n%s", flowSubject, diff)
			}
			if got := leadTab.text(`[data-testid="chain-head"]`); !strings.HasPrefix(got, "Head: entry") {
				t.Errorf("chain head %q", got)
			}
			leadTab.submit(`[data-testid="verify"]`, http.StatusOK)
			if got := leadTab.text(`[data-testid="chain-ok"]`); !strings.HasPrefix(got, "Chain intact") {
				t.Errorf("after verify the page says %q (broken: %q); want Chain intact", got, leadTab.text(`[data-testid="chain-broken"]`))
			}
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			return // the next steps build on this one
		}
	}
}

// reading: an admin reads a subject that was never validated (not eligible, with the reasons
// in words), the side-by-side diff of its two versions, its evidence chart, the admin-only
// break-glass form, and the governance document.
func (e *env) reading(t *testing.T) {
	p := newTab(t, e.base)
	p.signIn(admin.name, "", admin.token)
	p.visit("/ui/subjects/" + quietSubject + "?a=1&b=2")
	if got := p.text(`#status [data-testid="not-eligible"]`); got != "Not eligible" {
		t.Errorf("eligibility of a subject without validations %q; want Not eligible", got)
	}
	if n := p.count(`#status .reasons li`); n == 0 {
		t.Errorf("no reason given why %s is not eligible", quietSubject)
	}
	added := p.texts(`[data-testid="diff"] tr.add`)
	if !containsAll(added, `"channel"`) {
		t.Errorf("diff of versions 1 and 2 adds %q; want the channel field", added)
	}
	for _, sel := range []string{`[data-testid="evidence-chart"] svg`, "#override-form", "#rollback-form", "#drill-form"} {
		if n := p.count(sel); n != 1 {
			t.Errorf("the admin's subject page has %d of %s; want 1", n, sel)
		}
	}
	p.visit("/ui/governance")
	if got := p.text(`[data-testid="governance-rendered"] h2`); got != "Schema registry governance" {
		t.Errorf("the governance page's document heading is %q; want the governance document rendered", got)
	}
}

// actorOf is the actor in an audit row's text "SEQ TIME ACTOR ROLE ACTION …".
func actorOf(row string) string {
	f := strings.Fields(row)
	if len(f) < 5 {
		return ""
	}
	return f[4] // sequence, date, time, "UTC", actor
}

// twoPersonRule: a lead's own request shows no approve control and a forged approval by that
// lead is refused; a producer sees no approve, request or rollback control, and forged POSTs
// (the producer's session, none or a foreign CSRF token, another principal's cookie) are
// refused, leaving the request pending.
func (e *env) twoPersonRule(t *testing.T) {
	card := pendingCard(ruleSubject)
	requester := newTab(t, e.base)
	requester.signIn(lead2.name, "", lead2.token)
	e.validate(t, ruleSubject, minValidations+2)
	requester.visit("/ui/subjects/" + ruleSubject)
	requester.do("wait for eligible", chromedp.WaitVisible(chromedp.CSS(`#status [data-testid="eligible"]`)))
	requester.visit("/ui/subjects/" + ruleSubject) // the request form shows on an eligible subject's page
	requester.fill("#req-ticket", "CHG-202")
	requester.fill("#req-reason", "payments are clean")
	requester.submit("#request-promotion", http.StatusOK)
	if got := requester.text(card + ` [data-testid="own-request"]`); !strings.Contains(got, "another governance lead approves it") {
		t.Errorf("the requesting lead's card says %q; want the two-person rule explained", got)
	}
	if n := requester.count(card + ` [data-testid="approve"]`); n != 0 {
		t.Errorf("the requesting lead sees %d approve controls on their own request", n)
	}
	id, err := chromedp.Run(requester.ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).dataset.promotion`, card)))
	if err != nil || id == "" {
		t.Fatalf("promotion id: %q, %v", id, err)
	}
	approve := "/ui/promotions/" + url.PathEscape(id) + "/approve"

	t.Run("the requester's forged approval is refused", func(t *testing.T) {
		requester := requester.in(t)
		requester.forgePost(approve, true, http.StatusForbidden)
		if got := requester.text(`[data-testid="error-message"]`); !strings.Contains(got, "requester") {
			t.Errorf("the refusal says %q; want the two-person rule named", got)
		}
	})

	prod := newTab(t, e.base)
	prod.signIn(producer.name, "", producer.token)
	t.Run("the producer sees no control", func(t *testing.T) {
		prod := prod.in(t)
		prod.visit("/ui/promotions")
		if got := prod.count(card); got != 1 {
			t.Fatalf("the producer sees %d pending requests for %s; want 1", got, ruleSubject)
		}
		for _, sel := range []string{`[data-testid="approve"]`, `[data-testid="reject"]`, `[data-testid="promotion-request-form"]`} {
			if n := prod.count(sel); n != 0 {
				t.Errorf("the producer sees %d of %s on the promotions page", n, sel)
			}
		}
		prod.visit("/ui/subjects/" + ruleSubject)
		for _, sel := range []string{"#request-form", "#rollback-form", "#override-form", "#drill-form"} {
			if n := prod.count(sel); n != 0 {
				t.Errorf("the producer sees %s on the subject page", sel)
			}
		}
	})
	t.Run("the producer's forged approval is refused", func(t *testing.T) {
		prod := prod.in(t)
		prod.visit("/ui/promotions")
		prod.forgePost(approve, true, http.StatusForbidden)
		if got := prod.text(`[data-testid="error-message"]`); got == "" || strings.Contains(got, refusedByCSRF) {
			t.Errorf("the refusal says %q; want the API's permission refusal", got)
		}
	})
	t.Run("a POST without the CSRF token is refused", func(t *testing.T) {
		prod := prod.in(t)
		prod.visit("/ui/promotions")
		prod.forgePost(approve, false, http.StatusForbidden)
		if got := prod.text(`[data-testid="error-message"]`); !strings.Contains(got, refusedByCSRF) {
			t.Errorf("the refusal says %q; want %q", got, refusedByCSRF)
		}
	})
	t.Run("another principal's session with the producer's CSRF token is refused", func(t *testing.T) {
		form := url.Values{"csrf": {prod.in(t).csrf()}, "comment": {"forged"}}
		header := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Origin": {e.base},
			"Cookie": {"schemagate_session=" + newTabSession(t, e.base, lead)}}
		code, body := harness.Do(t, http.MethodPost, e.base+approve, header, form.Encode())
		if code != http.StatusForbidden || !strings.Contains(body, refusedByCSRF) {
			t.Errorf("POST %s with the lead's cookie and the producer's token = %d; want 403 naming the CSRF check\n%s", approve, code, body)
		}
	})
	t.Run("the request is still pending", func(t *testing.T) {
		requester := requester.in(t)
		requester.visit("/ui/promotions")
		if diff := cmp.Diff([]string{lead2.name}, requester.texts(card+` [data-testid="requester"]`)); diff != "" {
			t.Errorf("pending request of %s (-want +got):\n%s", ruleSubject, diff)
		}
	})
}

// newTabSession signs p in in a tab of its own and returns its session cookie.
func newTabSession(t *testing.T, base string, p principal) string {
	t.Helper()
	other := newTab(t, base)
	other.signIn(p.name, p.password, p.token)
	return other.cookie("schemagate_session")
}

// oidcSignIn: a forged callback is refused; the sign-in page offers OIDC; the test provider
// signs erin in and the console greets oidc:erin with the role her group maps to; signing out
// ends the session.
func (e *env) oidcSignIn(t *testing.T) {
	p := newTab(t, e.base)
	// A callback this browser never started (a link someone sent) signs nobody in.
	p.navigate("/ui/oidc/callback?state=forged&code=forged", http.StatusUnauthorized)
	if got := p.text(`[data-testid="signin-error"]`); !strings.HasPrefix(got, "OIDC sign-in failed: no sign-in in progress") {
		t.Errorf("a callback without a sign-in shows %q; want the refusal", got)
	}
	p.visit("/ui/signin")
	if got := p.text(`[data-testid="signin-oidc"]`); got != "Sign in with OIDC" {
		t.Fatalf("the sign-in page offers %q; want Sign in with OIDC", got)
	}
	p.submit(`[data-testid="signin-oidc"]`, http.StatusOK) // to the provider's sign-in form
	if loc := p.location(); !strings.Contains(loc, "/login/username?authRequestID=") {
		t.Fatalf("after Sign in with OIDC the tab is at %s; want the provider's sign-in form", loc)
	}
	p.fill("#username", oidcPerson.username)
	p.fill("#password", oidcPerson.password)
	p.submit("#op-signin", http.StatusOK) // back through the callback to the subjects
	if loc := p.location(); loc != "/ui/" {
		t.Fatalf("after the provider's sign-in the tab is at %s (%s); want /ui/", loc, p.text("main"))
	}
	got := []string{p.text(`[data-testid="principal"]`), p.text(".roles"), p.text("h1")}
	if diff := cmp.Diff([]string{"oidc:" + oidcPerson.username, "(governance-lead)", "Subjects"}, got); diff != "" {
		t.Errorf("signed in with OIDC (-want +got):\n%s", diff)
	}
	p.submit("#signout", http.StatusOK)
	p.visit("/ui/")
	if loc := p.location(); loc != "/ui/signin" {
		t.Errorf("after signing out /ui/ shows %s; want the sign-in page", loc)
	}
}

// pendingCard selects the pending request of subject on the promotions page.
func pendingCard(subject string) string {
	return fmt.Sprintf(`[data-testid="pending-promotion"][data-subject=%q]`, subject)
}

// containsAll reports whether one of rows contains every part.
func containsAll(rows []string, parts ...string) bool {
	for _, r := range rows {
		all := true
		for _, s := range parts {
			all = all && strings.Contains(r, s)
		}
		if all {
			return true
		}
	}
	return false
}

// csrf is the CSRF token the page's forms carry.
func (p *tab) csrf() string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.querySelector('input[name="csrf"]').value`))
	if err != nil || s == "" {
		p.t.Fatalf("the page has no CSRF token: %v", err)
	}
	return s
}

// forgePost submits, from the page, a form the console never rendered: a POST to action with
// a comment and, when withToken, the page's CSRF token. It expects the answer's status code.
func (p *tab) forgePost(action string, withToken bool, code int) {
	p.t.Helper()
	token := ""
	if withToken {
		token = p.csrf()
	}
	script := fmt.Sprintf(`(() => {
		const f = document.createElement("form");
		f.method = "post";
		f.action = %q;
		for (const [k, v] of [["comment", "forged"], ["csrf", %q]]) {
			if (!v) continue;
			const i = document.createElement("input");
			i.type = "hidden"; i.name = k; i.value = v;
			f.append(i);
		}
		document.body.append(f);
		setTimeout(() => f.submit(), 0);
	})()`, action, token)
	resp, err := chromedp.RunResponse(p.ctx, chromedp.Evaluate[chromedp.Void](script))
	p.expect("forged POST "+action, resp, err, code)
}

// basic is the value of an HTTP basic Authorization header.
func basic(user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
}

// updateScreenshot writes the subjects page at laptop width to docs/console.png, the picture
// of the README's Console section.
func updateScreenshot(t *testing.T, p *tab) {
	t.Helper()
	p.do("laptop width", chromedp.EmulateViewport(1366, 768))
	p.visit("/ui/")
	png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join("..", "..", "docs", "console.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", path, len(png))
}
