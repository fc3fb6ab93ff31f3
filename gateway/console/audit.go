package console

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// auditPageSize is how many entries one audit page shows.
const auditPageSize = 50

// auditScanPages bounds how many API pages one audit page reads to fill itself when filtering
// by actor or time, which the API does not filter.
const auditScanPages = 20

// auditView is the audit page.
type auditView struct {
	Entries []*pb.AuditEntry
	Filter  url.Values
	// Older is the query of the next (older) page; empty on the last.
	Older string
	// Head is the newest entry of the log: the chain's head sequence and hash.
	Head *pb.AuditEntry
	// Verify is the result of the verify action, when asked (?verify=1).
	Verify *pb.VerifyAuditChainResponse
}

// auditPage lists audit entries newest first, auditPageSize at a time (?before= the sequence
// to start below), filtered by subject and action (by the API) and by actor and time (from,
// to: RFC 3339 or YYYY-MM-DD, here), with the head of the chain and, on ?verify=1, the result
// of recomputing the whole chain.
func (c *Console) auditPage(r *http.Request, ss *session) (view, error) {
	ctx := callContext(r, ss)
	q := r.URL.Query()
	v := auditView{Filter: url.Values{}}
	for _, k := range []string{"subject", "action", "actor", "from", "to"} {
		if s := strings.TrimSpace(q.Get(k)); s != "" {
			v.Filter.Set(k, s)
		}
	}
	from, to := parseDay(v.Filter.Get("from"), false), parseDay(v.Filter.Get("to"), true)
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
	req := &pb.ListAuditEntriesRequest{Subject: v.Filter.Get("subject"), Action: v.Filter.Get("action"),
		NewestFirst: true, PageSize: auditPageSize, BeforeSequence: before}
	for range auditScanPages {
		page, err := c.gov.ListAuditEntries(ctx, req)
		if err != nil {
			return view{}, err
		}
		for _, e := range page.GetEntries() {
			if len(v.Entries) < auditPageSize && keepEntry(e, v.Filter.Get("actor"), from, to) {
				v.Entries = append(v.Entries, e)
			}
		}
		next := page.GetNextBeforeSequence()
		if next == 0 || len(v.Entries) >= auditPageSize {
			if next != 0 && len(v.Entries) > 0 {
				older := cloneValues(v.Filter)
				older.Set("before", strconv.FormatInt(v.Entries[len(v.Entries)-1].GetSequence(), 10))
				v.Older = older.Encode()
			}
			break
		}
		req.BeforeSequence = next
	}
	if head, err := c.gov.ListAuditEntries(ctx, &pb.ListAuditEntriesRequest{NewestFirst: true, PageSize: 1}); err == nil && len(head.GetEntries()) == 1 {
		v.Head = head.GetEntries()[0]
	}
	if q.Get("verify") != "" {
		res, err := c.gov.VerifyAuditChain(ctx, &pb.VerifyAuditChainRequest{})
		if err != nil {
			return view{}, err
		}
		v.Verify = res
	}
	return view{page: "audit", title: "Audit log", data: v}, nil
}

// keepEntry applies the filters the API does not: actor (exact) and time.
func keepEntry(e *pb.AuditEntry, actor string, from, to time.Time) bool {
	t := e.GetTime().AsTime()
	return (actor == "" || e.GetActor() == actor) && (from.IsZero() || !t.Before(from)) && (to.IsZero() || t.Before(to))
}

// parseDay reads an RFC 3339 time or a day (YYYY-MM-DD, UTC; as an upper bound, the end of
// that day); anything else is no bound.
func parseDay(s string, end bool) time.Time {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// sortNewestFirst orders entries by descending sequence.
func sortNewestFirst(entries []*pb.AuditEntry) {
	slices.SortFunc(entries, func(a, b *pb.AuditEntry) int { return cmp.Compare(b.GetSequence(), a.GetSequence()) })
}

// governanceView is the governance document page.
type governanceView struct {
	Markdown string
}

// governancePage shows the governance document as the API renders it: as HTML for reading
// (governanceView.HTML) and as the Markdown itself, for copying.
func (c *Console) governancePage(r *http.Request, ss *session) (view, error) {
	doc, err := c.gov.GetGovernanceDocument(callContext(r, ss), &pb.GetGovernanceDocumentRequest{})
	if err != nil {
		return view{}, err
	}
	return view{page: "governance", title: "Governance document", data: governanceView{Markdown: doc.GetMarkdown()}}, nil
}
