package governance

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DocumentOptions configures [RenderDocument].
type DocumentOptions struct {
	// TicketURL turns a ticket into a link: "{ticket}" is replaced by the ticket, percent-encoded
	// (config governance.ticket_url, e.g. https://tracker.example/browse/{ticket}). Without the
	// placeholder the ticket is appended. Empty (the default): tickets are plain text. Incidents
	// are always plain text.
	TicketURL string
	// Generated is the time printed as "generated at" (tests pass a fixed time). Zero: no
	// "generated at" is printed.
	Generated time.Time
	// ChainBroken, when set, is the break the last verification of the audit chain found: a
	// warning banner at the top names its first bad entry and problem. Nil (the default): no
	// banner.
	ChainBroken *VerifyResult
}

// RenderDocument renders the governance document (docs/operations/schema_registry_governance.md
// by default) from the audit entries: the head of the log, the current mode of every subject
// whose mode was ever changed, pending promotion requests, the promotion history (approved and
// rejected requests), rollbacks and overrides, newest first.
//
// It is a pure function: the same entries and options give the same bytes. Entries are taken in
// ascending Seq order (they are sorted if they are not; the slice is not modified). Every string
// that came from a user (subject, actor, ticket, incident, reason…) is escaped so that it cannot
// break a table or inject Markdown or HTML; Details are not rendered.
func RenderDocument(entries []Entry, opts DocumentOptions) []byte {
	es := slices.Clone(entries)
	slices.SortStableFunc(es, func(a, b Entry) int { return cmp.Compare(a.Seq, b.Seq) })
	var head *Entry
	if len(es) > 0 {
		head = &es[len(es)-1]
	}
	var b bytes.Buffer
	_ = render(&b, es, head, opts) // a bytes.Buffer does not fail
	return b.Bytes()
}

// StreamDocument renders the governance document of the audit log a to w, as RenderDocument
// would from every entry, without holding the log in memory: it pages through the log (pages
// bounded in count and bytes) and keeps only the entries the document shows (promotion
// requests and decisions, mode changes; their Details dropped) and the head, then writes the
// document to w section by section through a buffer.
func StreamDocument(ctx context.Context, w io.Writer, a *Audit, opts DocumentOptions) error {
	var kept []Entry
	var head *Entry
	f := AuditFilter{Limit: MaxAuditListLimit}
	for {
		p, err := a.Page(ctx, f)
		if err != nil {
			return err
		}
		for _, e := range p.Entries {
			if documented(e.Action) {
				e.Details = nil
				kept = append(kept, e)
			}
		}
		if n := len(p.Entries); n > 0 {
			last := p.Entries[n-1]
			head = &last
		}
		if p.Next == 0 {
			break
		}
		f = f.Continue(p.Next)
	}
	bw := bufio.NewWriter(w)
	if err := render(bw, kept, head, opts); err != nil {
		return err
	}
	return bw.Flush()
}

// documented says whether the document shows entries of action.
func documented(action Action) bool {
	switch action {
	case ActionPromotionRequested, ActionPromotionApproved, ActionPromotionRejected:
		return true
	}
	return isModeChange(action)
}

// render writes the document of entries (ascending Seq) whose log ends at head (nil for an
// empty log) to w, and returns the first write error.
func render(w io.Writer, entries []Entry, head *Entry, opts DocumentOptions) error {
	r := &docRenderer{opts: opts, entries: entries, headEntry: head, w: w}
	r.index()
	r.head()
	r.currentState()
	r.pending()
	r.history()
	r.rollbacks()
	r.overrides()
	return r.err
}

// docRenderer holds the entries and the lookups built over them while rendering.
type docRenderer struct {
	opts      DocumentOptions
	entries   []Entry // ascending Seq
	headEntry *Entry  // the last entry of the log, nil when it is empty
	w         io.Writer
	err       error // the first write error; later writes are skipped

	requests  map[string]*Entry // by PromotionID: the latest request with that ID
	approvals map[string]*Entry // by PromotionID: the latest approval
	promoted  map[string]*Entry // by PromotionID: the latest mode.promoted entry
}

func (r *docRenderer) index() {
	r.requests = map[string]*Entry{}
	r.approvals = map[string]*Entry{}
	r.promoted = map[string]*Entry{}
	for i := range r.entries {
		e := &r.entries[i]
		if e.PromotionID == "" {
			continue
		}
		switch e.Action {
		case ActionPromotionRequested:
			r.requests[e.PromotionID] = e
		case ActionPromotionApproved:
			r.approvals[e.PromotionID] = e
		case ActionModePromoted:
			r.promoted[e.PromotionID] = e
		}
	}
}

// p writes to the document, unless a write already failed.
func (r *docRenderer) p(format string, args ...any) {
	if r.err == nil {
		_, r.err = fmt.Fprintf(r.w, format, args...)
	}
}

func (r *docRenderer) head() {
	r.p("# Schema registry governance\n\n")
	r.banner()
	r.p("This document is generated from schemagate's hash-chained audit log by " +
		"`schemagate governance doc` and rewritten after every governance action. " +
		"Do not edit it by hand: edits are overwritten, and the audit log, not this file, is the record. ")
	if r.headEntry == nil {
		r.p("The audit log is empty: no action has been recorded yet.")
	} else {
		last := r.headEntry
		r.p("It reflects the log up to its head, entry #%d with hash %s: "+
			"`schemagate audit verify` recomputes the chain, and the head it reports must be the same.",
			last.Seq, fullHash(last.Hash))
	}
	if !r.opts.Generated.IsZero() {
		r.p(" Generated at %s.", fmtTime(r.opts.Generated))
	}
	r.p("\n")
}

// banner warns, above everything else, that the audit chain is broken: nothing below can be
// trusted past the first bad entry until the chain is repaired.
func (r *docRenderer) banner() {
	b := r.opts.ChainBroken
	if b == nil {
		return
	}
	r.p("> **Warning: the audit chain is broken at entry #%d**: %s. "+
		"Entries from #%d on cannot be trusted, and promotions are refused until the chain verifies again. "+
		"Run `schemagate audit verify` for the current verdict, and see the runbook section SchemaGateAuditChainBroken.\n\n",
		b.FirstBroken, md(b.Problem), b.FirstBroken)
}

// currentState replays the mode-changing actions and prints the latest mode of each subject.
func (r *docRenderer) currentState() {
	r.p("\n## Current state per subject\n\n")
	last := map[string]*Entry{}
	for i := range r.entries {
		e := &r.entries[i]
		if isModeChange(e.Action) && e.ToMode != "" {
			last[e.Subject] = e
		}
	}
	if len(last) == 0 {
		r.p("No subject has changed mode: every subject is on the global default " +
			"(`schema_registry.validation_mode`).\n")
		return
	}
	r.p("Subjects not listed are on the global default (`schema_registry.validation_mode`).\n\n")
	var rows [][]string
	for _, subject := range slices.Sorted(maps.Keys(last)) {
		e := last[subject]
		var how string
		switch e.Action {
		case ActionModePromoted:
			how = r.promotedHow(e)
		case ActionModeRolledBack:
			how = "rolled back by " + actor(e) + orNothing(", incident ", md(e.Incident))
		case ActionModeOverridden:
			how = "**override** by " + actor(e) + orNothing(", ticket ", r.ticket(e.Ticket))
		}
		rows = append(rows, []string{subjectName(e.Subject), md(e.ToMode), fmtTime(e.Time), how, auditShort(e)})
	}
	r.table("| Subject | Mode | Since | How | Audit entry |", rows)
}

// promotedHow says who approved the promotion e (a mode.promoted entry) and under which ticket.
func (r *docRenderer) promotedHow(e *Entry) string {
	ticket := e.Ticket
	var how string
	if a := r.approvals[e.PromotionID]; a != nil && e.PromotionID != "" {
		how = "promoted with approval by " + actor(a)
		ticket = cmp.Or(ticket, a.Ticket, r.requestOf(a.PromotionID).Ticket)
	} else {
		how = "promoted by " + actor(e) + ", **no approval on record**"
	}
	return how + orNothing(", ticket ", r.ticket(ticket))
}

// requestOf returns the request with the promotion ID, or an empty entry.
func (r *docRenderer) requestOf(id string) *Entry {
	if q := r.requests[id]; q != nil && id != "" {
		return q
	}
	return &Entry{}
}

// pending lists the requests that no later approval or rejection decided, oldest first.
func (r *docRenderer) pending() {
	r.p("\n## Pending promotion requests\n\n")
	decided := map[string]int64{} // PromotionID → Seq of the latest decision
	for _, e := range r.entries {
		if e.Action == ActionPromotionApproved || e.Action == ActionPromotionRejected {
			decided[e.PromotionID] = e.Seq
		}
	}
	var rows [][]string
	for i := range r.entries {
		e := &r.entries[i]
		if e.Action != ActionPromotionRequested {
			continue
		}
		// A request without an ID can never be decided; it stays visible here.
		if seq, ok := decided[e.PromotionID]; ok && e.PromotionID != "" && seq > e.Seq {
			continue
		}
		rows = append(rows, []string{subjectName(e.Subject), fmtTime(e.Time), actor(e),
			dash(r.ticket(e.Ticket)), dash(md(e.Reason)), evidence(e.Evidence), auditShort(e)})
	}
	r.tableOrNone("Oldest first.", "| Subject | Requested | Requester | Ticket | Reason | Evidence | Audit entry |", rows)
}

// history prints every approved or rejected promotion request, newest first.
func (r *docRenderer) history() {
	r.p("\n## Promotion history\n\n")
	var n int
	for i := len(r.entries) - 1; i >= 0; i-- {
		e := &r.entries[i]
		var verb string
		switch e.Action {
		case ActionPromotionApproved:
			verb = "approved"
		case ActionPromotionRejected:
			verb = "**rejected**"
		default:
			continue
		}
		if n == 0 {
			r.p("Approved and rejected promotion requests, newest first.\n")
		}
		n++
		q := r.requestOf(e.PromotionID)
		r.p("\n### %s · %s · %s\n\n", fmtTime(e.Time), subjectName(e.Subject), verb)
		if q.Seq != 0 {
			r.p("- Requested by %s at %s (entry #%d)%s\n", actor(q), fmtTime(q.Time), q.Seq,
				orNothing(": ", md(q.Reason)))
		} else {
			r.p("- Requested by: unknown, no request entry with promotion ID %s\n", dash(md(e.PromotionID)))
		}
		if e.Action == ActionPromotionApproved {
			r.p("- Approved by %s%s\n", actor(e), orNothing(": ", md(e.Reason)))
		} else {
			r.p("- Rejected by %s: %s\n", actor(e), dash(md(e.Reason)))
		}
		r.p("- Ticket: %s\n", dash(r.ticket(cmp.Or(e.Ticket, q.Ticket))))
		ev := e.Evidence
		if ev == nil {
			ev = q.Evidence
		}
		r.p("- Evidence: %s\n", evidence(ev))
		if m := r.promoted[e.PromotionID]; m != nil && e.PromotionID != "" && e.Action == ActionPromotionApproved {
			r.p("- Mode: %s → %s at %s (entry #%d)\n", dash(md(m.FromMode)), dash(md(m.ToMode)), fmtTime(m.Time), m.Seq)
		}
		r.p("- Audit entry: #%d, hash %s (full: %s)\n", e.Seq, shortHash(e.Hash), fullHash(e.Hash))
	}
	if n == 0 {
		r.p("None.\n")
	}
}

func (r *docRenderer) rollbacks() {
	r.p("\n## Rollbacks\n\n")
	var rows [][]string
	for i := len(r.entries) - 1; i >= 0; i-- {
		e := &r.entries[i]
		if e.Action == ActionModeRolledBack {
			rows = append(rows, []string{fmtTime(e.Time), subjectName(e.Subject), actor(e),
				dash(md(e.Incident)), dash(md(e.Reason)), modeChange(e), auditShort(e)})
		}
	}
	r.tableOrNone("Newest first.", "| Date | Subject | By | Incident | Reason | Mode | Audit entry |", rows)
}

func (r *docRenderer) overrides() {
	r.p("\n## Overrides (break glass)\n\n")
	var rows [][]string
	for i := len(r.entries) - 1; i >= 0; i-- {
		e := &r.entries[i]
		if e.Action == ActionModeOverridden {
			rows = append(rows, []string{"**OVERRIDE**", fmtTime(e.Time), subjectName(e.Subject), actor(e),
				modeChange(e), dash(r.ticket(e.Ticket)), dash(md(e.Reason)), auditShort(e)})
		}
	}
	r.tableOrNone("An override sets a mode without clean-window evidence or approval. Newest first.", "| | Date | Subject | Admin | Mode | Ticket | Justification | Audit entry |", rows)
}

// tableOrNone prints intro and the table, or "None." when there are no rows.
func (r *docRenderer) tableOrNone(intro, header string, rows [][]string) {
	if len(rows) == 0 {
		r.p("None.\n")
		return
	}
	r.p("%s\n\n", intro)
	r.table(header, rows)
}

// table prints a Markdown table: header (its cells between pipes), the separator row, then
// rows, whose cells must already be escaped.
func (r *docRenderer) table(header string, rows [][]string) {
	r.p("%s\n|%s\n", header, strings.Repeat("---|", strings.Count(header, "|")-1))
	for _, row := range rows {
		r.p("| %s |\n", strings.Join(row, " | "))
	}
}

// ticket renders a ticket: a link when TicketURL is set, else escaped text ("" for none).
func (r *docRenderer) ticket(t string) string {
	if t == "" {
		return ""
	}
	if r.opts.TicketURL == "" {
		return md(t)
	}
	u := r.opts.TicketURL
	if strings.Contains(u, "{ticket}") {
		u = strings.ReplaceAll(u, "{ticket}", escapeTicket(t))
	} else {
		u += escapeTicket(t)
	}
	return "[" + md(t) + "](" + escapeURL(u) + ")"
}

func isModeChange(action Action) bool {
	return action == ActionModePromoted || action == ActionModeRolledBack || action == ActionModeOverridden
}

func subjectName(s string) string {
	if s == "" {
		return "*(global default)*"
	}
	return md(s)
}

// actor renders "name (role)", escaped.
func actor(e *Entry) string {
	a := dash(md(e.Actor))
	if e.Role != "" {
		a += " (" + md(e.Role) + ")"
	}
	return a
}

func modeChange(e *Entry) string {
	return dash(md(e.FromMode)) + " → " + dash(md(e.ToMode))
}

func auditShort(e *Entry) string {
	return fmt.Sprintf("#%d · %s", e.Seq, shortHash(e.Hash))
}

func evidence(ev *EvidenceSnapshot) string {
	if ev == nil {
		return "none recorded"
	}
	s := fmt.Sprintf("window %s → %s; clean %s of %s required", fmtTime(ev.WindowStart), fmtTime(ev.WindowEnd),
		fmtDuration(ev.Clean), fmtDuration(ev.Required))
	if ev.Clean < ev.Required {
		s += " (**short**)"
	}
	return s + fmt.Sprintf("; %s validations, %s violations", fmtCount(ev.Validations), fmtCount(ev.Violations))
}

// shortHash is the first 12 characters of a hex hash.
func shortHash(h string) string {
	if h == "" {
		return "(no hash)"
	}
	if !isHex(h) {
		return md(h) + " (not hex)"
	}
	return h[:min(12, len(h))]
}

// fullHash is the hash in a code span.
func fullHash(h string) string {
	if h == "" {
		return "(no hash)"
	}
	if !isHex(h) {
		return md(h) + " (not hex)"
	}
	return "`" + h + "`"
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// fmtDuration prints hours and minutes, like time.Duration without seconds: "48h0m", "31h12m".
func fmtDuration(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	return fmt.Sprintf("%s%dh%dm", sign, int64(d/time.Hour), int64(d%time.Hour/time.Minute))
}

// fmtCount groups digits by thousands: 1234567 → "1,234,567".
func fmtCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func orNothing(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

// md escapes a user-provided string for inline Markdown, in a table cell, list item or heading:
// table and emphasis metacharacters, code spans, links, math and HTML are escaped, line breaks
// become <br> (the one HTML tag the document emits), and control and bidirectional-override
// characters, which could hide or reorder text, become U+FFFD.
func md(s string) string {
	var b strings.Builder
	s = strings.ReplaceAll(s, "\r\n", "\n")
	for _, c := range s {
		switch {
		case c == '\n' || c == '\r' || c == '\u2028' || c == '\u2029':
			b.WriteString("<br>")
		case c == '<':
			b.WriteString("&lt;")
		case c == '>':
			b.WriteString("&gt;")
		case c == '&':
			b.WriteString("&amp;")
		case strings.ContainsRune("\\`|*_[]~$", c):
			b.WriteByte('\\')
			b.WriteRune(c)
		case c == '\t':
			b.WriteByte(' ')
		case c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) ||
			(c >= '\u202a' && c <= '\u202e') || (c >= '\u2066' && c <= '\u2069'):
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// escapeTicket percent-encodes everything but unreserved characters, so a ticket is one path
// segment or query value whatever the URL template.
func escapeTicket(t string) string {
	var b strings.Builder
	for i := 0; i < len(t); i++ {
		c := t[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// escapeURL percent-encodes the characters of a (configured) URL that would end a Markdown link
// destination or a table cell.
func escapeURL(u string) string {
	var b strings.Builder
	for i := 0; i < len(u); i++ {
		c := u[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("<>()|\\`\"{}^", c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// WriteDocument writes content to path atomically: it writes a temporary file in the same
// directory (creating the directory if needed), syncs it, makes it readable by all (0644) and
// renames it over path, then syncs the directory. A reader sees the old file or the new one,
// never a half-written file; on error the old file is left as it was and the temporary file is
// removed.
func WriteDocument(path string, content []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("governance document: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("governance document: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close() // may already be closed
			_ = os.Remove(tmp)
			err = fmt.Errorf("governance document %s: %w", path, err)
		}
	}()
	if _, err := f.Write(content); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	// The rename is durable once the directory is synced. Some file systems cannot sync a
	// directory; the document is in place by then, so that is not an error.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// staleTempAge is how old a temp file of WriteDocument must be before it counts as left behind
// by a process that died while writing (a write takes milliseconds).
const staleTempAge = time.Minute

// removeStaleDocumentTemps deletes the temp files of WriteDocument for path that are older than
// staleTempAge at now: a process killed between creating one and renaming it leaves it behind.
func removeStaleDocumentTemps(path string, now time.Time) error {
	matches, err := filepath.Glob(filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*"))
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range matches {
		fi, err := os.Lstat(m)
		if err != nil || !fi.Mode().IsRegular() || now.Sub(fi.ModTime()) < staleTempAge {
			continue
		}
		if err := os.Remove(m); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
