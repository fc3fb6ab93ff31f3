package browser

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Bounds of a tab's life. Nothing is asserted on time: they only stop a test that hangs.
const (
	// tabTimeout bounds everything one tab does, waits for the live refresh included.
	tabTimeout = 3 * time.Minute
	// screenshotTimeout bounds the screenshot of a failed test.
	screenshotTimeout = 15 * time.Second
)

// tab is one test's browser tab, in a browser context of its own: its cookies (the console
// session) are not shared with any other tab.
type tab struct {
	t    *testing.T
	base string          // the console server's base URL
	ctx  context.Context // bounded by tabTimeout
	live context.Context // unbounded, for the screenshot of a failure
	n    int64           // the tab's number in this run
}

// newTab opens a tab on the console at base in a new browser context. When the test fails,
// the tab's page is saved as a PNG (see screenshotDir) and the log names the file.
func newTab(t *testing.T, base string) *tab {
	t.Helper()
	live, cancel := chromedp.NewContext(suite.browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(live); err != nil { // opens the tab
		t.Fatalf("opening a browser tab: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(live, tabTimeout)
	t.Cleanup(cancelTimeout)
	p := &tab{t: t, base: base, ctx: ctx, live: live, n: tabs.Add(1)}
	t.Cleanup(func() {
		if t.Failed() {
			p.screenshot()
		}
	})
	return p
}

// in is the tab as seen by subtest t: its failures fail t. The screenshot of a failure is
// still taken when the test that opened the tab ends.
func (p *tab) in(t *testing.T) *tab {
	q := *p
	q.t = t
	return &q
}

// screenshots is where failed tests' screenshots go: $SCHEMAGATE_SCREENSHOT_DIR, else a new
// directory under the system's temporary directory that outlives the run, so the pictures are
// there to look at. It is made at the first failure.
var screenshots = sync.OnceValues(func() (string, error) {
	if d := os.Getenv("SCHEMAGATE_SCREENSHOT_DIR"); d != "" {
		return d, os.MkdirAll(d, 0o755)
	}
	return os.MkdirTemp("", "schemagate-browser-")
})

// tabs numbers the tabs, so that each screenshot has a name of its own.
var tabs atomic.Int64

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// screenshot saves the whole page as a PNG and logs its path.
func (p *tab) screenshot() {
	ctx, cancel := context.WithTimeout(p.live, screenshotTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Logf("screenshot: none (%v)", err)
		return
	}
	dir, err := screenshots()
	if err != nil {
		p.t.Logf("screenshot: none (%v)", err)
		return
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-tab%d.png", unsafeName.ReplaceAllString(p.t.Name(), "_"), p.n))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Logf("screenshot: none (%v)", err)
		return
	}
	url, _ := chromedp.Run(ctx, chromedp.Location())
	p.t.Logf("screenshot: %s (of %s)", path, url)
}

// do runs the actions in the tab and fails the test on an error.
func (p *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// visit opens the console path, expects status 200 and checks the page's accessibility.
// (Each page the tab lands on through visit, navigate, submit or forgePost is checked.)
func (p *tab) visit(path string) {
	p.t.Helper()
	p.navigate(path, http.StatusOK)
}

// navigate opens the console path, expects status code and checks the page's accessibility.
func (p *tab) navigate(path string, code int) {
	p.t.Helper()
	resp, err := chromedp.Run(p.ctx, chromedp.NavigateResponse(p.base+path))
	p.expect("open "+path, resp, err, code)
}

// submit clicks the button sel (a form's submit), waits for the page the form leads to,
// expects its status code and checks its accessibility.
func (p *tab) submit(sel string, code int) {
	p.t.Helper()
	resp, err := chromedp.RunResponse(p.ctx, chromedp.Click(chromedp.CSS(sel)))
	p.expect("submit "+sel, resp, err, code)
}

func (p *tab) expect(what string, resp *network.Response, err error, code int) {
	p.t.Helper()
	if err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
	if int(resp.Status) != code {
		p.t.Fatalf("%s: %s answered %d %s; want %d\npage: %s", what, resp.URL, resp.Status, resp.StatusText, code, p.text("main"))
	}
	if strings.HasPrefix(resp.URL, p.base+"/ui/") { // the console's pages, not the identity provider's
		p.checkAccessibility()
	}
}

// fill types value into the input sel.
func (p *tab) fill(sel, value string) {
	p.t.Helper()
	p.do("fill "+sel, chromedp.SetValue(chromedp.CSS(sel), value))
}

// text is the visible text of the first element sel, spaces collapsed; "" when there is none.
func (p *tab) text(sel string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](fmt.Sprintf(
		`(e => e ? e.innerText.replace(/\s+/g, " ").trim() : "")(document.querySelector(%q))`, sel)))
	if err != nil {
		p.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// count is the number of elements sel matches.
func (p *tab) count(sel string) int {
	p.t.Helper()
	n, err := chromedp.Run(p.ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
	if err != nil {
		p.t.Fatalf("count %s: %v", sel, err)
	}
	return n
}

// texts is the visible text of every element sel matches.
func (p *tab) texts(sel string) []string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](fmt.Sprintf(
		`Array.from(document.querySelectorAll(%q), e => e.innerText.replace(/\s+/g, " ").trim())`, sel)))
	if err != nil {
		p.t.Fatalf("texts of %s: %v", sel, err)
	}
	return s
}

// location is the tab's URL path and query.
func (p *tab) location() string {
	p.t.Helper()
	u, err := chromedp.Run(p.ctx, chromedp.Location())
	if err != nil {
		p.t.Fatalf("location: %v", err)
	}
	return strings.TrimPrefix(u, p.base)
}

// cookie is the value of the tab's cookie name for the console.
func (p *tab) cookie(name string) string {
	p.t.Helper()
	res, err := chromedp.Run(p.ctx, func(ctx context.Context, t *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{URLs: []string{p.base + "/ui/"}})
	})
	if err != nil {
		p.t.Fatalf("cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == name {
			return c.Value
		}
	}
	p.t.Fatalf("the tab has no cookie %s for %s", name, p.base)
	return ""
}

// signIn signs the tab in with a principal's token, or its name and password when token is
// empty, and checks the console greets the principal.
func (p *tab) signIn(name, password, token string) {
	p.t.Helper()
	p.visit("/ui/signin")
	if token != "" {
		p.fill("#token", token)
	} else {
		p.fill("#name", name)
		p.fill("#password", password)
	}
	p.submit("#signin", http.StatusOK)
	if got := p.text(`[data-testid="principal"]`); got != name {
		p.t.Fatalf("signed in as %q; the console shows %q (%s)", name, got, p.text("main"))
	}
}
