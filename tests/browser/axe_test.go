package browser

import (
	"fmt"
	"strings"

	"github.com/chromedp/chromedp"
)

// violation is one failed axe-core rule, as the check reports it.
type violation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"` // CSS selectors of the failing elements
}

func (v violation) String() string {
	return fmt.Sprintf("%s (%s): %s, at %s", v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "; "))
}

// axeRun runs every axe-core rule on the document and returns the serious and critical
// violations. The page's CSP allows no inline script; evaluation through the DevTools
// protocol is not subject to it.
const axeRun = `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations
	.filter(v => v.impact === "serious" || v.impact === "critical")
	.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(" "))})))`

// checkAccessibility injects axe-core into the page and fails the test on any violation of
// impact serious or critical, listing them.
func (p *tab) checkAccessibility() {
	p.t.Helper()
	loaded, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`typeof axe !== "undefined"`))
	if err == nil && !loaded {
		_, err = chromedp.Run(p.ctx, chromedp.Evaluate[chromedp.Void](suite.axe))
	}
	if err != nil {
		p.t.Fatalf("injecting axe-core: %v", err)
	}
	vs, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]violation](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("running axe-core on %s: %v", p.location(), err)
	}
	if len(vs) > 0 {
		lines := make([]string, len(vs))
		for i, v := range vs {
			lines[i] = "  " + v.String()
		}
		p.t.Errorf("axe-core: %s has %d serious or critical accessibility violations:\n%s", p.location(), len(vs), strings.Join(lines, "\n"))
	}
}
