package console

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"github.com/schemagate/schemagate/governance"
)

var updateGoldens = flag.Bool("update", false, "rewrite golden files under testdata")

func TestRenderMarkdownConstructs(t *testing.T) {
	tests := []struct {
		name, md, want string
	}{
		{"headings shift under the page h1", "# Top\n\n## Section\n\n### Entry", "<h2>Top</h2>\n<h3>Section</h3>\n<h4>Entry</h4>\n"},
		{"a deeper heading is a paragraph", "#### deep", "<p>#### deep</p>\n"},
		{"a hash without a space is text", "#5 · abc", "<p>#5 · abc</p>\n"},
		{"paragraph lines join", "one\ntwo\n\nthree", "<p>one\ntwo</p>\n<p>three</p>\n"},
		{"bullet list", "- a\n- **b**\n\nafter", "<ul>\n<li>a</li>\n<li><strong>b</strong></li>\n</ul>\n<p>after</p>\n"},
		{"block quote", "> **Warning**: x\n> y", "<blockquote><p><strong>Warning</strong>: x\ny</p></blockquote>\n"},
		{"table", "| A | B |\n|---|---|\n| 1 | `2` |",
			"<table>\n<thead>\n<tr><th scope=\"col\">A</th><th scope=\"col\">B</th></tr>\n</thead>\n<tbody>\n<tr><td>1</td><td><code>2</code></td></tr>\n</tbody>\n</table>\n"},
		{"table with an empty header cell and a short row", "| | A |\n|---|---|\n| x |",
			"<table>\n<thead>\n<tr><th scope=\"col\"></th><th scope=\"col\">A</th></tr>\n</thead>\n<tbody>\n<tr><td>x</td><td></td></tr>\n</tbody>\n</table>\n"},
		{"escaped pipes stay in the cell", `| A |` + "\n|---|\n" + `| a \| b \\\| c |`,
			"<table>\n<thead>\n<tr><th scope=\"col\">A</th></tr>\n</thead>\n<tbody>\n<tr><td>a | b \\| c</td></tr>\n</tbody>\n</table>\n"},
		{"a header without separator is a paragraph", "| A | B |\n| 1 | 2 |", "<p>| A | B |\n| 1 | 2 |</p>\n"},
		{"emphasis", "*(global default)*", "<p><em>(global default)</em></p>\n"},
		{"unclosed strong is text", "**open", "<p>**open</p>\n"},
		{"code span keeps its text", "`a <b> *c*`", "<p><code>a &lt;b&gt; *c*</code></p>\n"},
		{"unclosed code span is text", "``a`", "<p>``a`</p>\n"},
		{"https link", "[CHG-1](https://t.example/b/CHG-1)", `<p><a href="https://t.example/b/CHG-1" rel="noreferrer">CHG-1</a></p>` + "\n"},
		{"http link", "[x](http://t.example/?a=1&b=2)", `<p><a href="http://t.example/?a=1&amp;b=2" rel="noreferrer">x</a></p>` + "\n"},
		{"anchor link", "[entry](#seq-3)", `<p><a href="#seq-3" rel="noreferrer">entry</a></p>` + "\n"},
		{"javascript link is text", "[x](javascript:alert%281%29)", "<p>[x](javascript:alert%281%29)</p>\n"},
		{"javascript in capitals is text", "[x](JavaScript:alert%281%29)", "<p>[x](JavaScript:alert%281%29)</p>\n"},
		{"data link is text", "[x](data:text/html;base64,PHNjcmlwdD4=)", "<p>[x](data:text/html;base64,PHNjcmlwdD4=)</p>\n"},
		{"relative path link is text", "[x](/ui/audit)", "<p>[x](/ui/audit)</p>\n"},
		{"quote in a link URL is escaped", `[x](https://t.example/"onclick=)`, `<p><a href="https://t.example/&#34;onclick=" rel="noreferrer">x</a></p>` + "\n"},
		{"link with a space in the URL is text", "[x](https://a b)", "<p>[x](https://a b)</p>\n"},
		{"a bracket before a link is text", "[[a](https://a)](https://b)", `<p>[<a href="https://a" rel="noreferrer">a</a>](https://b)</p>` + "\n"},
		{"escaped brackets are not a link", `\[click\](https://evil.example)`, "<p>[click](https://evil.example)</p>\n"},
		{"backslash escapes", "\\* \\` \\_ \\$ \\~ \\\\ \\a", "<p>* ` _ $ ~ \\ \\a</p>\n"},
		{"generator entities pass", "&lt;b&gt; &amp;#124; &quot;", "<p>&lt;b&gt; &amp;#124; &quot;</p>\n"},
		{"other entities are shown as written", "&#124; &copy; & x", "<p>&amp;#124; &amp;copy; &amp; x</p>\n"},
		{"the generator's br is a line break", "a<br>b", "<p>a<br>b</p>\n"},
		{"other HTML stays text", `<img src=x onerror=alert(1)> <script>x</script> <br/> <BR>`,
			"<p>&lt;img src=x onerror=alert(1)&gt; &lt;script&gt;x&lt;/script&gt; &lt;br/&gt; &lt;BR&gt;</p>\n"},
		{"quotes are escaped", `it's "x"`, "<p>it&#39;s &#34;x&#34;</p>\n"},
		{"a code fence is a code span in a paragraph", "```\ncode\n```", "<p><code>\ncode\n</code></p>\n"},
		{"CRLF and invalid UTF-8", "a\r\nb\xff", "<p>a\nb\uFFFD</p>\n"},
		{"NUL becomes U+FFFD", "a\x00b", "<p>a\uFFFDb</p>\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, string(renderMarkdown(tc.md))); diff != "" {
				t.Errorf("renderMarkdown(%q) (-want +got):\n%s", tc.md, diff)
			}
		})
	}
}

// docStory is an audit log with every section of the governance document filled: a promotion
// approved and applied, one rejected, a rollback, an override and a pending request, with
// tickets, reasons and subjects full of Markdown and HTML metacharacters.
func docStory() []governance.Entry {
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	ev := &governance.EvidenceSnapshot{WindowStart: t0, WindowEnd: t0.Add(48 * time.Hour), Clean: 48 * time.Hour,
		Required: 48 * time.Hour, Validations: 12345, Violations: 0}
	es := []governance.Entry{
		{Actor: "alice", Role: "author", Action: governance.ActionPromotionRequested, Subject: "orders-value",
			Ticket: "CHG-1 | <b>bold</b> & co", PromotionID: "p-1", Reason: "clean for 48h", Evidence: ev},
		{Actor: "bob", Role: "governance-lead", Action: governance.ActionPromotionApproved, Subject: "orders-value",
			PromotionID: "p-1", Reason: "checked <the> drift | report"},
		{Actor: "system", Action: governance.ActionModePromoted, Subject: "orders-value", PromotionID: "p-1",
			FromMode: "canary", ToMode: "strict"},
		{Actor: "mallory", Role: "author", Action: governance.ActionPromotionRequested, Subject: "pay|ments`",
			Ticket: "CHG-2)[x](javascript:alert(1))", PromotionID: "p-2", Reason: "**now** <script>alert(1)</script>", Evidence: ev},
		{Actor: "bob", Role: "governance-lead", Action: governance.ActionPromotionRejected, Subject: "pay|ments`",
			PromotionID: "p-2", Reason: "window too short\nsecond line"},
		{Actor: "carol", Role: "oncall", Action: governance.ActionModeRolledBack, Subject: "orders-value",
			Incident: "INC-7 & <i>co</i>", FromMode: "strict", ToMode: "canary", Reason: "legacy producer | broke"},
		{Actor: "dave", Role: "admin", Action: governance.ActionModeOverridden, Subject: "users-value",
			Ticket: "CHG-3", FromMode: "canary", ToMode: "strict", Reason: "[click](javascript:alert(1)) &#124;"},
		{Actor: "alice", Role: "author", Action: governance.ActionPromotionRequested, Subject: "orders-value",
			Ticket: "CHG-4", PromotionID: "p-3", Reason: "fixed in 2.3", Evidence: ev},
	}
	for i := range es {
		es[i].Seq = int64(i + 1)
		es[i].Time = t0.Add(time.Duration(48+i) * time.Hour)
		es[i].Hash = fmt.Sprintf("%064x", i+1)
	}
	return es
}

// TestRenderMarkdownGovernanceDocument renders documents made by governance's own generator:
// with tracker links, the HTML is compared with a golden file; with a javascript: ticket URL,
// no link is made and the tickets read as text. Either way the HTML holds only the tags the
// renderer emits.
func TestRenderMarkdownGovernanceDocument(t *testing.T) {
	generated := time.Date(2026, 3, 6, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		opts      governance.DocumentOptions
		golden    string // "" for none
		wantLinks int
		want      []string // fragments the HTML must hold
	}{
		{"https tickets", governance.DocumentOptions{TicketURL: "https://tracker.example/browse/{ticket}", Generated: generated,
			ChainBroken: &governance.VerifyResult{FirstBroken: 5, Problem: "hash does not match | <b>(modified?)</b>"}},
			"governance_document.html", 5, []string{"<h3>Current state per subject</h3>", "<h3>Pending promotion requests</h3>",
				"<h3>Promotion history</h3>", "<h3>Rollbacks</h3>", "<h3>Overrides (break glass)</h3>", `<th scope="col">Subject</th>`}},
		{"javascript tickets", governance.DocumentOptions{TicketURL: "javascript:alert('{ticket}')", Generated: generated}, "", 0,
			[]string{"ticket [CHG-3](javascript:alert%28&#39;CHG-3&#39;%29)", "<li>Ticket: [CHG-1 | &lt;b&gt;bold&lt;/b&gt; &amp; co](javascript:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(renderMarkdown(string(governance.RenderDocument(docStory(), tc.opts))))
			if tc.golden != "" {
				compareGolden(t, filepath.Join("testdata", tc.golden), got)
			}
			links, err := checkHTML(got)
			if err != nil {
				t.Fatal(err)
			}
			if links != tc.wantLinks {
				t.Errorf("%d links; want %d", links, tc.wantLinks)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("the rendered document has no %s", w)
				}
			}
		})
	}
}

// compareGolden compares got with the golden file, or rewrites it under -update.
func compareGolden(t *testing.T, golden, got string) {
	t.Helper()
	if *updateGoldens {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test ./gateway/console -run GovernanceDocument -update writes it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("rendered document differs from %s (-want +got; -update rewrites it):\n%s", golden, diff)
	}
}

// emitted are the tags renderMarkdown writes, with the attributes each may carry.
var emitted = map[string][]string{
	"h2": nil, "h3": nil, "h4": nil, "p": nil, "ul": nil, "li": nil, "blockquote": nil, "br": nil,
	"table": nil, "thead": nil, "tbody": nil, "tr": nil, "td": nil, "th": {"scope"},
	"code": nil, "strong": nil, "em": nil, "a": {"href", "rel"},
}

// checkHTML tokenizes out and fails on any tag or attribute renderMarkdown does not emit, a
// link that is not http(s) or an anchor, a "<" in text, or an end tag that does not close the
// innermost open element. It returns the number of links.
func checkHTML(out string) (links int, err error) {
	var open []string
	z := html.NewTokenizer(strings.NewReader(out))
	for {
		switch z.Next() {
		case html.ErrorToken:
			if !errors.Is(z.Err(), io.EOF) {
				return links, z.Err()
			}
			if len(open) > 0 {
				return links, fmt.Errorf("unclosed %v", open)
			}
			return links, nil
		case html.TextToken:
			if strings.Contains(string(z.Raw()), "<") {
				return links, fmt.Errorf("unescaped < in text %q", z.Raw())
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			allowed, ok := emitted[tok.Data]
			if !ok || strings.HasPrefix(string(z.Raw()), "<script") {
				return links, fmt.Errorf("unexpected tag %s", z.Raw())
			}
			for _, a := range tok.Attr {
				if !strings.Contains(" "+strings.Join(allowed, " ")+" ", " "+a.Key+" ") {
					return links, fmt.Errorf("unexpected attribute %s in %s", a.Key, z.Raw())
				}
				if a.Key == "href" && !safeURL(a.Val) {
					return links, fmt.Errorf("link to %q", a.Val)
				}
			}
			if tok.Data == "a" {
				links++
			}
			if tok.Data != "br" {
				open = append(open, tok.Data)
			}
		case html.EndTagToken:
			tok := z.Token()
			if len(open) == 0 || open[len(open)-1] != tok.Data {
				return links, fmt.Errorf("</%s> closes %v", tok.Data, open)
			}
			open = open[:len(open)-1]
		default:
			return links, fmt.Errorf("unexpected token %s", z.Raw())
		}
	}
}

// FuzzRenderMarkdown: whatever the input, renderMarkdown does not panic and writes only its
// own tags, balanced, with safe links and no raw "<" in text.
func FuzzRenderMarkdown(f *testing.F) {
	f.Add(string(governance.RenderDocument(docStory(), governance.DocumentOptions{TicketURL: "https://t.example/{ticket}"})))
	for _, s := range []string{"| a | b |\n|---|---|\n| `x|y` | [l](https://x) |", "**[x](#a)**", "*a **b* c**",
		"> <br>&lt;", "- [a](javascript:x)", "`` ` ``", "\\", "[a\\](https://x)", "&#x3c;script&#x3e;", "<scr<br>ipt>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, md string) {
		out := string(renderMarkdown(md))
		if strings.Contains(strings.ToLower(out), "<script") {
			t.Fatalf("renderMarkdown(%q) = %q has a script tag", md, out)
		}
		if _, err := checkHTML(out); err != nil {
			t.Fatalf("renderMarkdown(%q) = %q: %v", md, out, err)
		}
	})
}
